"""Readers for every input format, chosen by content rather than by file name.

`read_paths` walks files and directories and yields RawRecords: JSONL (plain or gzip),
RSS/Atom feeds and saved article pages. A file no reader accepts becomes one error record.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from indexer.readers.feed import read_feed, sniff_feed
from indexer.readers.jsonl import open_maybe_gzip, read_jsonl, sniff_jsonl
from indexer.readers.savedpage import read_saved_page, sniff_saved_page
from indexer.records import RawRecord

HEAD_BYTES = 4096


def iter_files(paths: Iterable[str]) -> Iterator[str]:
    """Files named, and files under directories named (sorted; hidden names skipped)."""
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield os.path.join(root, name)
        else:
            yield path


def read_paths(paths: Iterable[str]) -> Iterator[RawRecord]:
    """Every record of every file under `paths`, each file read by the reader that fits it."""
    for path in iter_files(paths):
        yield from read_file(path)


def read_file(path: str) -> Iterator[RawRecord]:
    """The records of one file, or one error record saying why it cannot be read."""
    try:
        stream = open_maybe_gzip(path)
    except OSError as error:
        yield RawRecord(path, 0, error=f"cannot read file: {error.strerror or error}")
        return
    with stream:
        try:
            head = stream.peek(HEAD_BYTES)[:HEAD_BYTES] if hasattr(stream, "peek") else b""
        except (OSError, EOFError) as error:
            yield RawRecord(path, 0, error=f"cannot read file: {error}")
            return
        if sniff_jsonl(head):
            yield from read_jsonl(path, stream)
            return
        try:
            data = stream.read()
        except (OSError, EOFError) as error:
            yield RawRecord(path, 0, error=f"cannot read file: {error}")
            return
    yield from _read_document(path, data)


def _read_document(path: str, data: bytes) -> Iterator[RawRecord]:
    """A whole-file format: a feed, or a saved page."""
    if not data.strip():
        yield RawRecord(path, 0, error="file is empty")
    elif sniff_feed(data[:HEAD_BYTES]):
        yield from read_feed(path, data)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            yield RawRecord(path, 0, error="not a supported format (binary or not UTF-8)")
            return
        if sniff_saved_page(text):
            yield from read_saved_page(path, text)
        else:
            yield RawRecord(path, 0, error="not a supported format (JSONL, RSS/Atom, saved page)")
