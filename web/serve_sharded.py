"""`vnsearch serve` on a sharded index: one process of request threads over a Dask cluster.

The shards are searched by actors on the cluster's workers (search.cluster); this process
only fans requests out and merges, waiting most of the time, so it runs threads, not forked
workers (a Dask client does not survive a fork).
"""

from __future__ import annotations

import logging
import os
import threading

from search.cluster.connect import close_engine, sharded_engine
from web.index import attach_sharded
from web.serve import _configure_logging, _install_stop_handlers, bind_socket, run_worker
from web.settings import settings_of

log = logging.getLogger("vnsearch.serve")
MIN_THREADS = 4  # requests mostly wait on the shards: several can be in flight


def serve_sharded(
    index_dir: str, host: str, port: int, threads: int, cluster: str, replicas: int
) -> None:
    """Serve the sharded index at `index_dir` on the cluster `cluster` names."""
    from web import create_app

    _configure_logging()
    sock = bind_socket(host, port)
    address = sock.getsockname()
    app = create_app({"INDEX_DIR": index_dir, "CLUSTER": cluster, "SHARD_REPLICAS": replicas})
    engine = sharded_engine(index_dir, settings_of(app))
    attach_sharded(app, engine)
    log.info(
        "vnsearch serving http://%s:%s/ (sharded index %s, %d shards on %s)",
        address[0],
        address[1],
        os.path.abspath(index_dir),
        engine.layout.shards,
        cluster or "a local cluster",
    )
    _install_stop_handlers(stop := threading.Event())
    try:
        run_worker(sock, app, max(threads, MIN_THREADS), stop)
    finally:
        close_engine(engine)
        sock.close()
