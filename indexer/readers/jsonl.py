"""Canonical article JSONL, plain or gzip: one JSON object per line.

Lines are split on "\\n" only: U+2028 and friends are valid inside JSON strings, and
`str.splitlines()` would cut records there. Each bad line becomes an error record; the
rest of the file is still read.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from typing import IO, Any

from indexer.records import RawRecord


def sniff_jsonl(head: bytes) -> bool:
    """True when the (decompressed) start of a file looks like a JSON object per line."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def read_jsonl(path: str, stream: IO[bytes]) -> Iterator[RawRecord]:
    """Yield one RawRecord per non-blank line of an open binary stream."""
    number = 0
    try:
        for number, line in enumerate(stream, 1):
            if number == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            if line.strip():
                yield _parse_line(path, number, line)
    except (EOFError, OSError, zlib.error) as error:
        # A gzip file that ends early: keep what was read, report where it stopped.
        yield RawRecord(path, number + 1, error=f"file ends early or is damaged ({error})")


def open_maybe_gzip(path: str) -> IO[bytes]:
    """Open a file for binary reading, decompressing it when it starts with the gzip magic."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _parse_line(path: str, number: int, line: bytes) -> RawRecord:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        return RawRecord(path, number, error=f"invalid UTF-8 at byte {error.start}")
    try:
        data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as error:
        return RawRecord(path, number, error=f"not valid JSON: {str(error)[:120]}")
    if not isinstance(data, dict):
        return RawRecord(path, number, error="line is JSON but not an object")
    return RawRecord(path, number, data=data)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise ValueError(f"duplicate key {key!r}")
        data[key] = value
    return data
