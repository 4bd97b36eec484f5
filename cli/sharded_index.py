"""`vnsearch index` into a sharded index: here, or on a Dask cluster's workers."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import click
from whoosh.index import LockError

from cli.import_steps import merge_after_import, yield_cpu_to_searches
from cli.options import invocation_settings
from search.index.shard_layout import ShardLayout


@dataclass(frozen=True)
class ShardedImport:
    """What `vnsearch index` was asked, for an import into a sharded index."""

    batch_size: int
    default_source: str | None
    if_empty: bool
    no_optimize: bool
    quiet: bool

    @property
    def defaults(self) -> dict[str, str] | None:
        return {"source": self.default_source} if self.default_source else None


def index_sharded(layout: ShardLayout, paths: tuple[str, ...], asked: ShardedImport) -> None:
    """`vnsearch index` into a sharded index: each article to the shard its id routes to."""
    from indexer.progress import progress_bar
    from indexer.readers import read_paths
    from indexer.sharded import ShardedBuilder
    from search.index.store import import_worth_optimizing

    settings = invocation_settings()
    builder = ShardedBuilder(
        layout,
        batch_size=asked.batch_size,
        writer_timeout=float(settings.writer_timeout),
        max_text_chars=settings.max_text_chars,
        defaults=asked.defaults,
        procs=settings.index_procs,
        merged_at_end=not asked.no_optimize,
    )
    if asked.if_empty and sum(builder.held_before()) > 0:
        click.echo(f"{layout.root} already holds articles; not indexing (--if-empty)", err=True)
        return
    yield_cpu_to_searches(settings.index_nice)
    with progress_bar(paths, disable=asked.quiet) as bar:
        builder.report = lambda message: bar.write(message, file=sys.stderr)
        try:
            summary = builder.add_records(read_paths(paths), on_record=bar.update)
        except LockError as error:
            raise click.ClickException(str(error)) from None
    for shard, held in zip(builder.builders, builder.held_before(), strict=True):
        if not asked.no_optimize and import_worth_optimizing(held, shard.summary.added):
            merge_after_import(shard.index_dir)
    click.echo(f"{layout.root} ({layout.shards} shards): {summary.line()}", err=True)
    sys.exit(2 if summary.rejected else 0)


def index_on_cluster(
    layout: ShardLayout, paths: tuple[str, ...], asked: ShardedImport, cluster: str
) -> None:
    """`vnsearch index --cluster`: the shards written by the cluster's workers in parallel."""
    from indexer.distributed import DistributedShardedBuilder
    from indexer.progress import progress_bar
    from indexer.readers import read_paths
    from search.cluster.connect import connect

    settings = invocation_settings()
    try:
        client = connect(cluster, layout.shards)
    except (ValueError, OSError) as error:
        raise click.BadParameter(str(error), param_hint="--cluster") from None
    try:
        with progress_bar(paths, disable=asked.quiet) as bar:
            builder = DistributedShardedBuilder(
                layout,
                client,
                report=lambda message: bar.write(message, file=sys.stderr),
                defaults=asked.defaults,
                max_text_chars=settings.max_text_chars,
                merged_at_end=not asked.no_optimize,
                writer_timeout=float(settings.writer_timeout),
                batch_size=asked.batch_size,
                procs=1,  # the workers are the parallel processes
            )
            summary = builder.add_records(read_paths(paths), on_record=bar.update)
    finally:
        cluster_of = client.cluster
        client.close()
        if cluster_of is not None:
            cluster_of.close()
    click.echo(f"{layout.root} ({layout.shards} shards, on {cluster}): {summary.line()}", err=True)
    sys.exit(2 if summary.rejected else 0)
