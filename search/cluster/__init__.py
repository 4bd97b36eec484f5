"""A sharded archive searched on a Dask cluster: shard actors, the engine over them, merging.

`connect` starts or joins the cluster named by the `cluster` setting; `ShardedEngine` is the
facade web/ calls, like search.engine on one index (search.archive).
"""
