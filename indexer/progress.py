"""A progress bar with articles/s and ETA on a terminal, silence otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from tqdm import tqdm

from indexer.readers import iter_files
from indexer.readers.jsonl import open_maybe_gzip, sniff_jsonl


def estimate_records(paths: Iterable[str]) -> int:
    """Lines of JSONL files (cheap to count), one per other file: the ETA's denominator."""
    total = 0
    for path in iter_files(paths):
        try:
            with open_maybe_gzip(path) as stream:
                head = stream.read(1 << 16)
                if not sniff_jsonl(head):
                    total += 1
                    continue
                total += head.count(b"\n")
                while chunk := stream.read(1 << 20):
                    total += chunk.count(b"\n")
        except (OSError, EOFError):
            total += 1
    return total


def progress_bar(paths: Iterable[str], disable: bool = False) -> tqdm:
    """tqdm over articles; disabled unless stderr is a terminal."""
    on_terminal = sys.stderr.isatty() and not disable
    total = estimate_records(paths) if on_terminal else None
    return tqdm(
        total=total,
        unit=" articles",
        unit_scale=False,
        disable=not on_terminal,
        dynamic_ncols=True,
        smoothing=0.1,
        file=sys.stderr,
    )
