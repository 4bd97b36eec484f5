"""Decoded posting lists of a segment, kept beside it on disk and read through a memory map.

A W3 posting list is pickled and compressed block by block: decoding a common syllable's list
costs far more than the rest of a query, and every worker process would pay it for every
term it has not cached yet. A segment never changes once written, so its lists are decoded
once, into one file per segment under `derived/` in the index directory: document numbers
and weights of every list Whoosh did not inline in its term table, in one run each, each list
as narrow as its values allow. Document numbers are gaps from the list's first, as uint8 or
uint16 (the narrower that every gap of the list fits), else the numbers themselves (int32): a
common syllable's gaps are small, and these lists are most of the file. Weights are term
frequencies: uint8 when every one of the list is a whole number below 256, else uint16, else
float32 (one not whole).
Every process maps the file read-only, so the pages are shared through the page cache and a
cold term costs a look-up and a cumulative sum, not the decoding of pickled blocks.

No second term dictionary: Whoosh's term table still finds the term, and its term info gives
the list's offset in the postings file; the sidecar keeps those offsets sorted and the run
each maps to. Inlined lists (a few documents) are read from the term info as before.
Deletions are applied at read time, as for the lists Whoosh decodes.

The index stays a plain Whoosh index: the manifest lists only the directory's files, Whoosh
ignores the folder, and a missing, stale (another segment id or document count, another
format version) or damaged sidecar is only skipped, costing speed. A sidecar is written to a
temporary file, flushed, then renamed, so a crash leaves either none or a whole one.

File layout: a header block (magic, then the JSON description), then per list: its offset
in the postings file (int64, sorted), posting count (int64), first document (int64), where its
data starts (int64, bytes after the per-list arrays) and its kind (uint8: the two types, see
_ID_TYPES and _WEIGHT_TYPES); then each list's document numbers and weights, each array
starting at a multiple of its item size.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
from whoosh.codec.whoosh3 import W3TermInfo

from search.index.durability import fsync_directory
from search.index.w3_reader import field_entries, read_ids_and_weights, w3_terms

DERIVED_DIR = "derived"
SIDECAR_VERSION = 4  # 3: each list as narrow as its values allow; 4: uint8 gaps
_MAGIC = b"VNSCAR\x00\x01"
HEADER_BYTES = 4096  # a derived file's header block (magic, JSON description), both kinds
POSTINGS_SUFFIX = ".postings"
POSITIONS_SUFFIX = ".positions"  # search.index.positions_sidecar's files, in the same folder
TMP_MARK = ".tmp-"
# A list's kind: 4 * (its document numbers' type) + (its weights' type), as indexes here.
# Document numbers: uint16 gaps, the numbers (int32), uint8 gaps.
_ID_TYPES: tuple[np.dtype[Any], ...] = (
    np.dtype(np.uint16),
    np.dtype(np.int32),
    np.dtype(np.uint8),
)
_NUMBERS = 1  # the kind of document numbers stored as they are, not as gaps
_WEIGHT_TYPES: tuple[np.dtype[Any], ...] = (
    np.dtype(np.uint8),
    np.dtype(np.uint16),
    np.dtype(np.float32),
)
_PER_LIST_BYTES = 4 * 8 + 1  # offset, count, first document, data start; kind
MIN_SIDECAR_DOCS = 10_000  # smaller segments decode fast enough (and are merged away soon)


@dataclass(frozen=True)
class SidecarKey:
    """What a sidecar was derived from: it serves only the segment it names."""

    segment_id: str
    doc_count: int  # all documents of the segment, deleted ones included

    @classmethod
    def of(cls, segment: Any) -> SidecarKey:
        return cls(segment.segment_id(), segment.doc_count_all())


class SegmentSidecar:
    """One segment's decoded posting lists, mapped read-only."""

    def __init__(self, path: str, terms: int) -> None:
        self.path = path
        self.mapped = np.memmap(path, dtype=np.uint8, mode="r")
        lists = np.frombuffer(self.mapped, np.int64, 4 * terms, HEADER_BYTES).reshape(4, -1)
        self.offsets, self.counts, self.firsts, self.data_at = lists
        self.kinds = np.frombuffer(self.mapped, np.uint8, terms, HEADER_BYTES + 32 * terms)
        self.data_start = _data_start(terms)

    def postings_at(self, offset: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[Any]] | None:
        """The decoded list stored at this offset of the postings file, or None when the
        sidecar has no list there (weights: a read-only view into the map)."""
        found = self._list_at(offset)
        if found is None:
            return None
        i, count, at, id_type, weight_type = found
        stored = np.frombuffer(self.mapped, id_type, count, at)
        if id_type != _ID_TYPES[_NUMBERS]:
            ids = np.cumsum(stored, dtype=np.int32)
            ids += np.int32(self.firsts[i])
        else:
            ids = stored
        weights_at = aligned(at + stored.nbytes, weight_type.itemsize)
        return ids, np.frombuffer(self.mapped, weight_type, count, weights_at)

    def weights_at(self, offset: int) -> npt.NDArray[Any] | None:
        """The weights of the list at this offset (a read-only view into the map, as
        `postings_at` gives them, without decoding the document numbers)."""
        found = self._list_at(offset)
        if found is None:
            return None
        _, count, at, id_type, weight_type = found
        weights_at = aligned(at + count * id_type.itemsize, weight_type.itemsize)
        return np.frombuffer(self.mapped, weight_type, count, weights_at)

    def _list_at(self, offset: int) -> tuple[int, int, int, np.dtype[Any], np.dtype[Any]] | None:
        """The list at this offset: its index, posting count, where its data starts, and the
        types of its document numbers and weights; None when the sidecar has no list there."""
        i = int(np.searchsorted(self.offsets, offset))
        if i == len(self.offsets) or self.offsets[i] != offset:
            return None
        kind = int(self.kinds[i])
        at = self.data_start + int(self.data_at[i])
        return i, int(self.counts[i]), at, _ID_TYPES[kind // 4], _WEIGHT_TYPES[kind % 4]


def aligned(at: int, size: int) -> int:
    """The first multiple of `size` from `at`."""
    return -(-at // size) * size


def _data_start(terms: int) -> int:
    return aligned(HEADER_BYTES + _PER_LIST_BYTES * terms, 8)


def segment_folder(leaf: Any) -> str | None:
    """The index directory a segment reader reads from (None: not a directory)."""
    storage = getattr(leaf, "_storage", None)
    storage = getattr(storage, "b", storage)  # a compound segment: its files over the folder
    folder = getattr(storage, "folder", None)
    return folder if isinstance(folder, str) else None


def sidecar_path(folder: str, segment_id: str) -> str:
    return os.path.join(folder, DERIVED_DIR, segment_id + POSTINGS_SUFFIX)


def open_sidecar(folder: str, key: SidecarKey) -> SegmentSidecar | None:
    """The segment's sidecar, or None when it is missing, stale or not whole."""
    path = sidecar_path(folder, key.segment_id)
    terms = whole_derived_file(path, _MAGIC, SIDECAR_VERSION, key, "terms", _data_start)
    return None if terms is None else SegmentSidecar(path, terms)


def whole_derived_file(
    path: str,
    magic: bytes,
    version: int,
    key: SidecarKey,
    count_name: str,
    data_start: Callable[[int], int],
) -> int | None:
    """How many lists a derived file at `path` holds (its header's `count_name`), when it is
    there, of this format version, derived from the segment `key` names and whole (its size
    is `data_start(lists)` plus its data); None otherwise."""
    try:
        with open(path, "rb") as source:
            head = source.read(HEADER_BYTES)
            size = os.fstat(source.fileno()).st_size
    except OSError:
        return None
    described = _read_header(head, magic)
    if described is None or described.get("version") != version:
        return None
    if (described.get("segment"), described.get("docs")) != (key.segment_id, key.doc_count):
        return None
    lists, data_bytes = int(described[count_name]), int(described["data_bytes"])
    return lists if size == data_start(lists) + data_bytes else None


def finish_derived_file(
    out: BinaryIO, magic: bytes, version: int, key: SidecarKey, described: dict[str, int]
) -> None:
    """Write a derived file's header (magic, then its JSON description: the format version,
    the segment it was derived from, and `described`), then flush it to disk."""
    header = {"version": version, "segment": key.segment_id, "docs": key.doc_count}
    text = json.dumps({**header, **described}).encode()
    out.seek(0)
    out.write(magic + len(text).to_bytes(4, "little") + text)
    out.flush()
    os.fsync(out.fileno())


def written_whole(path: str, write: Callable[[str], None]) -> str:
    """`write(tmp)` into a temporary file beside `path`, then renamed to it: readers never see
    half a file, and a crash leaves only a temporary file (removed by the next
    ensure_sidecars once its process is gone)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}{TMP_MARK}{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    fsync_directory(os.path.dirname(path))
    return path


def _read_header(head: bytes, magic: bytes = _MAGIC) -> dict[str, Any] | None:
    """The JSON description after a derived file's magic, or None when it is not there."""
    if len(head) < HEADER_BYTES or not head.startswith(magic):
        return None
    size = int.from_bytes(head[8:12], "little")
    try:
        described = json.loads(head[12 : 12 + size])
    except ValueError:
        return None
    return described if isinstance(described, dict) else None


def write_sidecar(folder: str, leaf: Any, narrow: bool = True) -> str | None:
    """Decode every non-inlined posting list of a W3 segment reader into its sidecar, each
    list as narrow as its values allow (`narrow` False: int32 numbers and float32 weights
    throughout); returns the sidecar's path (None for a segment of another kind). Written
    to a temporary file, flushed and renamed: readers never see half a sidecar."""
    terms = w3_terms(leaf)
    if terms is None:
        return None
    extents, counts = _posting_extents(terms, leaf.schema.names())
    key = SidecarKey.of(leaf.segment())
    return written_whole(
        sidecar_path(folder, key.segment_id),
        lambda tmp: _write_file(tmp, key, terms, extents, counts, narrow),
    )


def _posting_extents(
    terms: Any, fieldnames: list[str]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Offset and length in the postings file of every non-inlined list, sorted by offset,
    and each list's document count (from its term info)."""
    offsets: list[int] = []
    lengths: list[int] = []
    counts: list[int] = []
    for fieldname in fieldnames:
        for info in field_entries(terms, fieldname)[1]:
            if info[0]:  # inlined in the term table
                continue
            terminfo = W3TermInfo.from_bytes(info)
            offset, length = terminfo.extent()
            offsets.append(offset)
            lengths.append(length[0] if isinstance(length, tuple) else length)
            counts.append(terminfo.doc_frequency())
    order = np.argsort(np.array(offsets, dtype=np.int64), kind="stable")
    extents = np.stack(
        (np.array(offsets, dtype=np.int64)[order], np.array(lengths, dtype=np.int64)[order]),
        axis=1,
    ).reshape(-1, 2)  # (0, 2) when every list is inlined
    return extents, np.array(counts, dtype=np.int64)[order]


def _write_file(
    tmp: str,
    key: SidecarKey,
    terms: Any,
    extents: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    narrow: bool,
) -> None:
    """The sidecar's bytes into `tmp`, flushed to disk: the lists' data first, then the
    per-list arrays and the header."""
    n = len(counts)
    firsts, data_at = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    kinds = np.zeros(n, dtype=np.uint8)
    postfile = terms._postfile
    with open(tmp, "wb") as out:
        fd, at = out.fileno(), 0
        for i, (offset, length) in enumerate(extents.tolist()):
            ids, weights = read_ids_and_weights(postfile.get(offset, length))
            if len(ids) != counts[i]:
                raise ValueError(f"posting list at {offset}: {len(ids)} postings, not {counts[i]}")
            id_kind, stored_ids = _narrowest_ids(ids) if narrow else (1, ids.astype(np.int32))
            weight_kind, stored_weights = _narrowest_weights(weights) if narrow else (2, weights)
            firsts[i], kinds[i] = (int(ids[0]) if len(ids) else 0), 4 * id_kind + weight_kind
            data_at[i] = aligned(at, 4)
            weights_at = aligned(int(data_at[i]) + stored_ids.nbytes, stored_weights.itemsize)
            os.pwrite(fd, stored_ids.tobytes(), _data_start(n) + int(data_at[i]))
            os.pwrite(fd, stored_weights.tobytes(), _data_start(n) + weights_at)
            at = weights_at + stored_weights.nbytes
        out.truncate(_data_start(n) + at)
        out.seek(HEADER_BYTES)
        out.write(np.concatenate((extents[:, 0], counts, firsts, data_at)).tobytes())
        out.write(kinds.tobytes())
        finish_derived_file(out, _MAGIC, SIDECAR_VERSION, key, {"terms": n, "data_bytes": at})


def _narrowest_ids(ids: npt.NDArray[np.int32]) -> tuple[int, npt.NDArray[Any]]:
    """The list's document numbers as gaps from its first when every gap fits uint8 (kind
    2) or uint16 (kind 0), else as they are (kind 1)."""
    gaps = np.diff(ids, prepend=ids[:1])
    widest = int(gaps.max()) if len(gaps) else 0
    if widest > np.iinfo(np.uint16).max:
        return _NUMBERS, ids.astype(np.int32, copy=False)
    kind = 2 if widest <= np.iinfo(np.uint8).max else 0
    return kind, gaps.astype(_ID_TYPES[kind])


def _narrowest_weights(weights: npt.NDArray[np.float32]) -> tuple[int, npt.NDArray[Any]]:
    """The list's weights as the first of _WEIGHT_TYPES that holds them all exactly."""
    for kind, weight_type in enumerate(_WEIGHT_TYPES[:-1]):
        limit = int(np.iinfo(weight_type).max)
        if not len(weights) or 0 <= weights.min() <= weights.max() <= limit:
            stored = weights.astype(weight_type)
            if np.array_equal(stored, weights):
                return kind, stored
    return len(_WEIGHT_TYPES) - 1, weights.astype(np.float32, copy=False)
