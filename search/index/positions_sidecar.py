"""Decoded word positions of a segment's folded text fields, beside it on disk.

Checking that typed words stand side by side in a body (a remembered run of words) needs
their positions, which a W3 posting list keeps pickled per posting inside compressed blocks:
about 40 microseconds a document and word to decode, more than reading and searching the
stored article. Here they are decoded once per segment, into `derived/<segment>.positions`,
and read through a memory map shared by every worker process: a few microseconds for the
positions of a thousand documents.

Per list (every non-inlined list of POSITION_FIELDS, found by its offset in the postings file
as in search.index.sidecar): the positions of all its postings one after the other (uint16
when every one is below 65,536, else int32), and how many positions come before every
POSITION_BLOCK-th posting. A posting's own start is that count plus the term frequencies of
the postings before it in its block, which the postings sidecar holds (its weights): so this
file serves only beside a postings sidecar of the same segment. Deleted documents keep their
positions; readers look up live documents only.

Like the postings sidecar, this is derived data: written to a temporary file and renamed,
skipped when missing or stale (another segment id, document count or format version), and
the index stays a plain Whoosh index.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.codec.whoosh3 import W3TermInfo

from search.index.sidecar import (
    DERIVED_DIR,
    HEADER_BYTES,
    POSITIONS_SUFFIX,
    SidecarKey,
    aligned,
    finish_derived_file,
    whole_derived_file,
    written_whole,
)
from search.index.w3_reader import decode_positions, field_entries, parsed_blocks, w3_terms

POSITIONS_VERSION = 1
POSITION_FIELDS = ("title_folded", "summary_folded", "body_folded")
POSITION_BLOCK = 128  # postings between two stored position counts
_MAGIC = b"VNSPOS\x00\x01"
_PER_LIST_BYTES = 3 * 8 + 1  # offset, posting count, data start; kind
_KINDS = (np.dtype(np.uint16), np.dtype(np.int32))
_BYTES_FORM = ord("C")  # a value whose deltas are one byte each (compact_pickle)


class SegmentPositions:
    """One segment's decoded positions, mapped read-only."""

    def __init__(self, path: str, lists: int) -> None:
        self.path = path
        self.mapped = np.memmap(path, dtype=np.uint8, mode="r")
        table = np.frombuffer(self.mapped, np.int64, 3 * lists, HEADER_BYTES).reshape(3, -1)
        self.offsets, self.counts, self.data_at = table
        self.kinds = np.frombuffer(self.mapped, np.uint8, lists, HEADER_BYTES + 24 * lists)
        self.data_start = _data_start(lists)

    def list_at(self, offset: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]] | None:
        """The list at this offset of the postings file: the positions before every
        POSITION_BLOCK-th posting (and the total last), and every position; None when this
        file has no list there."""
        i = int(np.searchsorted(self.offsets, offset))
        if i == len(self.offsets) or self.offsets[i] != offset:
            return None
        count, at = int(self.counts[i]), self.data_start + int(self.data_at[i])
        blocks = -(-count // POSITION_BLOCK) + 1
        before = np.frombuffer(self.mapped, np.int64, blocks, at)
        kind = _KINDS[self.kinds[i]]
        total = int(before[-1])
        return before, np.frombuffer(self.mapped, kind, total, aligned(at + before.nbytes, 4))


def _data_start(lists: int) -> int:
    return aligned(HEADER_BYTES + _PER_LIST_BYTES * lists, 8)


def positions_path(folder: str, segment_id: str) -> str:
    return os.path.join(folder, DERIVED_DIR, segment_id + POSITIONS_SUFFIX)


def open_positions(folder: str, key: SidecarKey) -> SegmentPositions | None:
    """The segment's positions file, or None when it is missing, stale or not whole."""
    path = positions_path(folder, key.segment_id)
    lists = whole_derived_file(path, _MAGIC, POSITIONS_VERSION, key, "lists", _data_start)
    return None if lists is None else SegmentPositions(path, lists)


def write_positions(folder: str, leaf: Any) -> str | None:
    """Decode the positions of every non-inlined list of POSITION_FIELDS of a W3 segment
    reader into its positions file; its path (None for a segment of another kind)."""
    terms = w3_terms(leaf)
    if terms is None:
        return None
    extents = _position_extents(terms, [f for f in POSITION_FIELDS if f in leaf.schema])
    key = SidecarKey.of(leaf.segment())
    return written_whole(
        positions_path(folder, key.segment_id),
        lambda tmp: _write_file(tmp, key, terms._postfile, extents),
    )


def _position_extents(terms: Any, fieldnames: list[str]) -> list[tuple[int, int, int]]:
    """(offset, length, posting count) of every non-inlined list of the fields, by offset."""
    found = []
    for fieldname in fieldnames:
        for info in field_entries(terms, fieldname)[1]:
            if info[0]:  # inlined in the term table
                continue
            terminfo = W3TermInfo.from_bytes(info)
            offset, length = terminfo.extent()
            length = length[0] if isinstance(length, tuple) else length
            found.append((offset, length, terminfo.doc_frequency()))
    return sorted(found)


def _write_file(
    tmp: str, key: SidecarKey, postfile: Any, extents: list[tuple[int, int, int]]
) -> None:
    """The file's bytes into `tmp`, flushed: each list's data, then the table and header."""
    n = len(extents)
    data_at, kinds = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.uint8)
    with open(tmp, "wb") as out:
        fd, at = out.fileno(), 0
        for i, (offset, length, count) in enumerate(extents):
            positions, freqs = list_positions(postfile.get(offset, length))
            if len(freqs) != count:
                raise ValueError(f"posting list at {offset}: {len(freqs)} postings, not {count}")
            counted = np.concatenate(([0], np.cumsum(freqs, dtype=np.int64)))
            before = counted[::POSITION_BLOCK]
            if (len(freqs) % POSITION_BLOCK) or not len(freqs):
                before = np.concatenate((before, counted[-1:]))
            wide = len(positions) and int(positions.max()) > np.iinfo(np.uint16).max
            kinds[i] = 1 if wide else 0
            stored = positions.astype(_KINDS[kinds[i]])
            data_at[i] = aligned(at, 8)
            os.pwrite(fd, before.tobytes(), _data_start(n) + int(data_at[i]))
            positions_at = aligned(int(data_at[i]) + before.nbytes, 4)
            os.pwrite(fd, stored.tobytes(), _data_start(n) + positions_at)
            at = positions_at + stored.nbytes
        out.truncate(_data_start(n) + at)
        out.seek(HEADER_BYTES)
        offsets = np.array([e[0] for e in extents], dtype=np.int64)
        counts = np.array([e[2] for e in extents], dtype=np.int64)
        out.write(np.concatenate((offsets, counts, data_at)).tobytes())
        out.write(kinds.tobytes())
        finish_derived_file(out, _MAGIC, POSITIONS_VERSION, key, {"lists": n, "data_bytes": at})


def list_positions(data: bytes) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """A term's positions (all postings', one after the other) and each posting's count,
    from its posting blocks. A block whose values all hold one-byte deltas (most do) is
    decoded with numpy; another value by value, as Whoosh decodes it."""
    positions, freqs = [], []
    for _, (_, _, values) in parsed_blocks(data):
        block_positions, block_freqs = _block_positions(values)
        positions.append(block_positions)
        freqs.append(block_freqs)
    if not freqs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(positions), np.concatenate(freqs)


def _block_positions(values: Any) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    sizes = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    starts = np.cumsum(sizes) - sizes
    raw = np.frombuffer(b"".join(values), dtype=np.uint8)
    if not len(values) or not np.all(raw[starts + 4] == _BYTES_FORM):
        decoded = [decode_positions(value) for value in values]
        freqs = np.fromiter(map(len, decoded), dtype=np.int64, count=len(decoded))
        return np.array([p for held in decoded for p in held], dtype=np.int64), freqs
    freqs = raw[starts + 5].astype(np.int64)
    deltas = raw[ragged_ranges(starts + 6, freqs)].astype(np.int64)  # after count and `C`
    sums = np.cumsum(deltas)
    ends = np.cumsum(freqs)
    carried = np.concatenate(([0], sums[ends[:-1] - 1]))
    return sums - np.repeat(carried, freqs), freqs


def ragged_ranges(starts: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]) -> Any:
    """The indices start, start + 1, ... start + count - 1 of every (start, count), one run
    after the other: where each posting's values lie in a flat array."""
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + within
