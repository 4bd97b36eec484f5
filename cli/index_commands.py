"""`vnsearch index`, `delete`, `stats`, `optimize`, `check`: writing and inspecting the index."""

from __future__ import annotations

import json
import sys

import click
from whoosh.index import LockError

from cli.import_steps import derive_for_server, merge_after_import, yield_cpu_to_searches
from cli.options import index_dir_option, invocation_settings, setting_option


@click.command("index")
@index_dir_option
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@setting_option("--batch-size", "batch_size")
@click.option("--source", "default_source", help="Source name for records that have none.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the index already has articles.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Build a new index from PATHS beside the live one and switch to it atomically. "
    "A sharded index: every shard rebuilt beside its live one (same routing), then each "
    "switched once all are built; a search during the switches (milliseconds) may read some "
    "shards new and others old, each article once.",
)
@click.option(
    "--no-optimize",
    is_flag=True,
    help="Leave the segments as written (an import that at least doubles the index otherwise "
    "ends by merging it into one, for faster searches).",
)
@click.option(
    "--shards",
    type=click.IntRange(1, 256),
    default=None,
    help="Split a new index into N shards, routed by a hash of the article id (later "
    "imports into a sharded index route the same way without it).",
)
@click.option(
    "--cluster",
    default=None,
    help="Build the shards of a sharded index on this Dask cluster's workers in parallel "
    "(local:W or tcp://HOST:PORT; each worker writes the shards it holds).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def index_command(
    index_dir: str,
    paths: tuple[str, ...],
    batch_size: int,
    default_source: str | None,
    if_empty: bool,
    rebuild: bool,
    no_optimize: bool,
    shards: int | None,
    cluster: str | None,
    quiet: bool,
) -> None:
    """Index JSONL (plain or .gz), RSS/Atom feeds and saved pages; directories are walked."""
    from indexer.build import IndexBuilder
    from indexer.progress import progress_bar
    from indexer.readers import read_paths
    from search.index.durability import switch_to
    from search.index.shard_layout import LayoutError, layout_for_import
    from search.index.store import import_worth_optimizing, index_exists, open_index, start_rebuild

    try:
        layout = layout_for_import(index_dir, shards)
    except LayoutError as error:
        raise click.ClickException(str(error)) from None
    if layout is not None:
        from cli.sharded_index import ShardedImport, index_on_cluster, index_sharded

        options = ShardedImport(batch_size, default_source, if_empty, no_optimize, quiet, rebuild)
        if cluster:
            index_on_cluster(layout, paths, options, cluster)
        else:
            index_sharded(layout, paths, options)
        return
    if cluster:
        raise click.BadParameter(
            "only a sharded index is built on a cluster", param_hint="--cluster"
        )
    held_before = open_index(index_dir).doc_count() if index_exists(index_dir) else 0
    if if_empty and held_before > 0:
        click.echo(f"{index_dir} already holds articles; not indexing (--if-empty)", err=True)
        return
    settings = invocation_settings()
    yield_cpu_to_searches(settings.index_nice)
    target = start_rebuild(index_dir) if rebuild else index_dir
    builder = IndexBuilder(
        target,
        batch_size=batch_size,
        writer_timeout=float(settings.writer_timeout),
        max_text_chars=settings.max_text_chars,
        report=lambda message: click.echo(message, err=True),
        defaults={"source": default_source} if default_source else None,
        procs=settings.index_procs,
        merged_at_end=not no_optimize,
    )
    with progress_bar(paths, disable=quiet) as bar:
        builder.report = lambda message: bar.write(message, file=sys.stderr)
        try:
            summary = builder.add_records(read_paths(paths), on_record=bar.update)
        except LockError as error:
            raise click.ClickException(str(error)) from None
    held_by_target = 0 if rebuild else held_before  # a rebuild starts from an empty index
    if not no_optimize and import_worth_optimizing(held_by_target, summary.added):
        merge_after_import(target)
    derive_for_server(target, index_dir)
    if rebuild:
        switch_to(index_dir, target)
        click.echo(f"{index_dir}: now serving the rebuilt index {target}", err=True)
    click.echo(f"{index_dir}: {summary.line()}", err=True)
    sys.exit(2 if summary.rejected else 0)


@click.command("delete")
@index_dir_option
@click.argument("ids", nargs=-1, required=True)
def delete_command(index_dir: str, ids: tuple[str, ...]) -> None:
    """Delete articles by id."""
    from indexer.build import IndexBuilder
    from search.index.store import index_exists

    if not index_exists(index_dir):
        raise click.ClickException(f"no index in {index_dir}")
    try:
        found = IndexBuilder(index_dir).delete(ids)
    except LockError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"deleted {found} of {len(ids)} ids", err=True)
    sys.exit(0 if found == len(set(ids)) else 2)


@click.command("stats")
@index_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats_command(index_dir: str, as_json: bool) -> None:
    """Document count, date range, sources and size on disk."""
    from search.features.stats import index_stats
    from search.index.store import IndexMissingError

    try:
        stats = index_stats(index_dir)
    except IndexMissingError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(stats, ensure_ascii=False, indent=2))
        return
    click.echo(f"index:      {index_dir}")
    click.echo(f"documents:  {stats['documents']:,}")
    click.echo(
        f"dates:      {stats['oldest'] or '-'} .. {stats['newest'] or '-'}"
        f" ({stats['undated']:,} undated)"
    )
    click.echo(f"size:       {stats['size_bytes'] / 1e6:,.1f} MB")
    click.echo("sources:")
    for source in stats["sources"]:
        click.echo(f"  {source['count']:>9,}  {source['value']}")


@click.command("optimize")
@index_dir_option
def optimize_command(index_dir: str) -> None:
    """Merge the index into one segment (faster searches; slow, holds the write lock)."""
    from search.index.store import IndexMissingError, optimize

    settings = invocation_settings()
    yield_cpu_to_searches(settings.index_nice)
    try:
        before = optimize(index_dir, float(settings.writer_timeout))
    except (IndexMissingError, LockError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{index_dir}: {before} segment(s) merged into one", err=True)
    derive_for_server(index_dir, index_dir)


@click.command("check")
@index_dir_option
def check_command(index_dir: str) -> None:
    """Verify the index files against the checksum manifest of the last commit."""
    from search.index.durability import live_dir, verify
    from search.index.store import IndexMissingError, open_index

    try:
        index = open_index(index_dir)
        generation = index.latest_generation()
        with index.searcher() as searcher:
            documents = searcher.doc_count()
    except IndexMissingError as error:
        raise click.ClickException(str(error)) from None
    except Exception as error:  # any damage Whoosh trips on: that is the finding
        click.echo(f"{index_dir}: the index cannot be read: {error!r}", err=True)
        sys.exit(1)
    problems, warnings = verify(live_dir(index_dir), generation)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    for problem in problems:
        click.echo(f"damaged: {problem}", err=True)
    state = "DAMAGED" if problems else "ok"
    click.echo(f"{index_dir}: {state}, commit {generation}, {documents:,} documents")
    sys.exit(1 if problems else 0)
