"""Steps every import shares, into one index or a sharded one: a lower CPU priority, and
the merge into one segment after a big import."""

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
