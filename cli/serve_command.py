"""`vnsearch serve`: the web app under waitress."""

from __future__ import annotations

import click

from cli.options import index_dir_option, setting_option


@click.command("serve")
@index_dir_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@setting_option("--threads", "serve_threads", text="Request threads per worker.")
@setting_option("--workers", "serve_workers", text="Worker processes (0: one per core).")
@setting_option(
    "--warm-terms",
    "serve_warm_terms",
    text="Frequent terms per field read into the caches before serving.",
)
@setting_option("--cluster", "cluster")
@setting_option("--replicas", "shard_replicas")
def serve_command(
    index_dir: str,
    host: str,
    port: int,
    threads: int,
    workers: int,
    warm_terms: int,
    cluster: str,
    replicas: int,
) -> None:
    """Serve the search pages and the JSON API with waitress (a sharded index: over a Dask
    cluster, see --cluster)."""
    from search.index.shard_layout import is_sharded
    from search.settings import SettingError, resolve_settings
    from web.serve import serve

    if is_sharded(index_dir):
        from web.serve_sharded import serve_sharded

        try:
            resolve_settings({}, {"CLUSTER": cluster})
        except SettingError as error:
            raise click.BadParameter(str(error), param_hint="--cluster") from None
        serve_sharded(index_dir, host, port, threads, cluster, replicas)
        return
    if cluster:
        click.echo(f"{index_dir} is not sharded: serving it without the cluster", err=True)

    serve(
        index_dir=index_dir,
        host=host,
        port=port,
        threads=threads,
        workers=workers,
        warm_terms=warm_terms,
    )
