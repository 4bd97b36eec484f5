"""`vnsearch index` into a sharded index: here, or on a Dask cluster's workers.

`--rebuild` on a sharded index builds every shard anew from the paths, each beside its live
index (search.index.store.start_rebuild), routed by the same hash over the same shard count,
and only once every shard is built switches them, shard by shard, each in one atomic rename
of its `current` link (search.index.durability.switch_all). A failure or a kill before the
switches leaves every shard on its previous build, whole (the next rebuild removes what it
left). The switches follow each other within milliseconds, and the older builds are removed
only after the last one. In that window a search may read some shards rebuilt and others
not: since an article lives on the same shard in both builds (same routing), it sees each
article once, old or new, and never twice nor lost to routing; at worst an article the
rebuild dropped is still found for those milliseconds, as while an ordinary import commits
its shards one after another. The shards' generations go on rising across a rebuild, so the
sharded engine never serves the old archive's cached statistics after the switches.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click
from whoosh.index import LockError

from cli.import_steps import derive_for_server, merge_after_import, yield_cpu_to_searches
from cli.options import invocation_settings
from search.index.shard_layout import ShardLayout

if TYPE_CHECKING:
    from indexer.build import Summary
    from indexer.sharded import ShardedBuilder


@dataclass(frozen=True)
class ShardedImport:
    """What `vnsearch index` was asked, for an import into a sharded index."""

    batch_size: int
    default_source: str | None
    if_empty: bool
    no_optimize: bool
    quiet: bool
    rebuild: bool = False

    @property
    def defaults(self) -> dict[str, str] | None:
        return {"source": self.default_source} if self.default_source else None


def not_wanted(layout: ShardLayout, asked: ShardedImport) -> bool:
    """Whether --if-empty skips the import, said so: a live shard holds an article."""
    from search.index.store import index_exists, open_index

    if asked.if_empty and any(
        index_exists(path) and open_index(path).doc_count() > 0 for path in layout.shard_dirs()
    ):
        click.echo(f"{layout.root} already holds articles; not indexing (--if-empty)", err=True)
        return True
    return False


def index_sharded(layout: ShardLayout, paths: tuple[str, ...], asked: ShardedImport) -> None:
    """`vnsearch index` into a sharded index: each article to the shard its id routes to; with
    `rebuild`, into new builds switched to once all are built (module docstring)."""
    from indexer.sharded import ShardedBuilder
    from search.index.durability import switch_all
    from search.index.store import start_rebuild

    if not_wanted(layout, asked):
        return
    settings = invocation_settings()
    yield_cpu_to_searches(settings.index_nice)
    live = layout.shard_dirs()
    targets = [start_rebuild(path) for path in live] if asked.rebuild else live
    builder = ShardedBuilder(
        layout,
        targets,
        batch_size=asked.batch_size,
        writer_timeout=float(settings.writer_timeout),
        max_text_chars=settings.max_text_chars,
        defaults=asked.defaults,
        procs=settings.index_procs,
        merged_at_end=not asked.no_optimize,
    )
    summary = _write_shards(builder, paths, asked)
    if asked.rebuild:
        switch_all(list(zip(live, targets, strict=True)))
        click.echo(f"{layout.root}: now serving the rebuilt shards", err=True)
    click.echo(f"{layout.root} ({layout.shards} shards): {summary.line()}", err=True)
    sys.exit(2 if summary.rejected else 0)


def _write_shards(builder: ShardedBuilder, paths: tuple[str, ...], asked: ShardedImport) -> Summary:
    """Every record into its shard's index, then each index the import at least doubled
    merged into one segment (unless --no-optimize)."""
    from indexer.progress import progress_bar
    from indexer.readers import read_paths
    from search.index.store import import_worth_optimizing

    with progress_bar(paths, disable=asked.quiet) as bar:
        builder.report = lambda message: bar.write(message, file=sys.stderr)
        try:
            summary = builder.add_records(read_paths(paths), on_record=bar.update)
        except LockError as error:
            raise click.ClickException(str(error)) from None
    served = builder.layout.shard_dirs()
    for shard, held, live in zip(builder.builders, builder.held_before(), served, strict=True):
        if not asked.no_optimize and import_worth_optimizing(held, shard.summary.added):
            merge_after_import(shard.index_dir)
        derive_for_server(shard.index_dir, live)
    return summary


def index_on_cluster(
    layout: ShardLayout, paths: tuple[str, ...], asked: ShardedImport, cluster: str
) -> None:
    """`vnsearch index --cluster`: the shards written by the cluster's workers in parallel;
    with `rebuild`, each worker rebuilds its shards, switched once all are built."""
    from indexer.distributed import DistributedShardedBuilder
    from indexer.progress import progress_bar
    from indexer.readers import read_paths
    from search.cluster.connect import connect

    if not_wanted(layout, asked):
        return
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
                rebuild=asked.rebuild,
                sidecar_min_docs=settings.serve_sidecar_min_docs,
                batch_size=asked.batch_size,
                procs=1,  # the workers are the parallel processes
            )
            summary = builder.add_records(read_paths(paths), on_record=bar.update)
        if asked.rebuild:
            builder.switch()
            click.echo(f"{layout.root}: now serving the rebuilt shards", err=True)
    finally:
        cluster_of = client.cluster
        client.close()
        if cluster_of is not None:
            cluster_of.close()
    click.echo(f"{layout.root} ({layout.shards} shards, on {cluster}): {summary.line()}", err=True)
    sys.exit(2 if summary.rejected else 0)
