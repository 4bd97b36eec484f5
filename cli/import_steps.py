"""Steps every import shares, into one index or a sharded one: a lower CPU priority, the
merge into one segment after a big import, and the derived data a server needs."""

from __future__ import annotations

import os

import click
from whoosh.index import LockError

from cli.options import invocation_settings


def yield_cpu_to_searches(niceness: int) -> None:
    """Lower this process's priority (and its forked helpers') by `niceness` (the index_nice
    setting): on a machine that also serves searches, an import should only use the idle
    cores."""
    if niceness > 0:
        os.nice(niceness)


def merge_after_import(index_dir: str) -> None:
    """Merge what an import wrote into one segment. The articles are committed already: a
    lock held by another indexer leaves them in several segments, with a warning."""
    from search.index.store import optimize

    try:
        segments = optimize(index_dir, float(invocation_settings().writer_timeout))
    except LockError as error:
        click.echo(f"{index_dir}: not merged ({error}); run `vnsearch optimize` later", err=True)
        return
    if segments > 1:
        click.echo(f"{index_dir}: {segments} segments merged into one", err=True)


def derive_for_server(build_dir: str, index_dir: str) -> None:
    """Write the sidecars of the new big segments of the index at `build_dir` when the index
    at `index_dir` is served (search.index.preload.derive_if_served)."""
    from search.index.preload import derive_if_served

    minimum = invocation_settings().serve_sidecar_min_docs
    try:
        written = derive_if_served(build_dir, index_dir, minimum)
    except OSError as error:
        click.echo(f"{build_dir}: decoded postings not written ({error})", err=True)
        return
    if written:
        click.echo(f"{build_dir}: decoded postings of {len(written)} segment(s) written", err=True)
