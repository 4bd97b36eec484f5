"""Starting or joining the Dask cluster a sharded index is searched on.

`local:W` starts a LocalCluster of W worker processes on 127.0.0.1 (one thread each:
searching is CPU-bound and holds the interpreter lock; no dashboard); `tcp://HOST:PORT` joins
a running scheduler whose workers have vnsearch installed and the shards on their disks at
the same path (deploy/README.md). Empty: `local:` with one worker per shard.
"""

from __future__ import annotations

from distributed import Client, LocalCluster

from search.cluster.engine import ShardedEngine
from search.cluster.shard import ShardWarming
from search.index.shard_layout import read_layout
from search.settings import Settings

START_TIMEOUT_S = 120.0  # workers and actors up, shards not yet opened


def connect(spec: str, default_workers: int = 1) -> Client:
    """A client of the cluster `spec` names (see the module docstring).

    :raise ValueError: a spec that is neither form.
    """
    if not spec:
        spec = f"local:{default_workers}"
    if spec.startswith("local:") and spec[6:].isdigit() and int(spec[6:]) >= 1:
        cluster = LocalCluster(
            n_workers=int(spec[6:]),
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # the scheduler's HTTP routes, on any free port
            scheduler_kwargs={"dashboard": False},
        )
        client = Client(cluster)
        client.wait_for_workers(int(spec[6:]), timeout=START_TIMEOUT_S)
        return client
    if spec.startswith("tcp://"):
        return Client(spec, timeout=START_TIMEOUT_S)
    raise ValueError(f"cluster must be local:W or tcp://HOST:PORT, got {spec!r}")


def sharded_engine(
    index_dir: str, settings: Settings, client: Client | None = None
) -> ShardedEngine:
    """The engine over the shards at `index_dir`, on `client` or on the `cluster` setting's
    cluster; its actors are up when it returns."""
    layout = read_layout(index_dir)
    client = client or connect(settings.cluster, layout.shards)
    engine = ShardedEngine(
        layout,
        client,
        settings.cluster_timeout_ms / 1000,
        settings.shard_replicas,
        ShardWarming(
            settings.serve_sidecar_min_docs,
            settings.serve_preload_percent,
            settings.serve_warm_terms,
        ),
    )
    engine.holders.wait_ready(START_TIMEOUT_S)
    return engine


def close_engine(engine: ShardedEngine) -> None:
    """Stop the engine, and the local cluster it started if any."""
    client = engine.holders.client
    engine.close()
    cluster = client.cluster
    client.close()
    if cluster is not None:
        cluster.close()
