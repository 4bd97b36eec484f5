"""Decoded posting lists of a segment, kept beside it on disk and read through a memory map.

A W3 posting list is pickled and compressed block by block: decoding a common syllable's list
costs far more than the rest of a query, and every worker process would pay it for every
term it has not cached yet. A segment never changes once written, so its lists are decoded
once, into one file per segment under `derived/` in the index directory: document numbers
(int32) and weights of every list Whoosh did not inline in its term table, in one run each.
Weights are term frequencies: whole numbers, kept as uint16 (a quarter of the file less than
float32), unless one of the segment's is not a whole number below 65,536 (then float32).
Every process maps the file read-only, so the pages are shared through the page cache and a
cold term costs a look-up, not a decode.

No second term dictionary: Whoosh's term table still finds the term, and its term info gives
the list's offset in the postings file; the sidecar keeps those offsets sorted and the run
each maps to. Inlined lists (a few documents) are read from the term info as before.
Deletions are applied at read time, as for the lists Whoosh decodes.

The index stays a plain Whoosh index: the manifest lists only the directory's files, Whoosh
ignores the folder, and a missing, stale (another segment id or document count, another
format version) or damaged sidecar is only skipped, costing speed. A sidecar is written to a
temporary file, flushed, then renamed, so a crash leaves either none or a whole one.

File layout: a header block (magic, then the JSON description), then the arrays, each
starting at a multiple of 8 bytes: list offsets (int64, sorted), run starts (int64), run
lengths (int64), document numbers (int32), weights (uint16 or float32, as the header says).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.codec.whoosh3 import W3TermInfo

from search.index.durability import fsync_directory
from search.index.w3_reader import field_entries, read_ids_and_weights, w3_terms

DERIVED_DIR = "derived"
SIDECAR_VERSION = 2
_MAGIC = b"VNSCAR\x00\x01"
_HEADER_BYTES = 4096
_SUFFIX = ".postings"
_TMP_MARK = ".tmp-"
_WEIGHT_TYPES = ("uint16", "float32")
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

    def __init__(self, path: str, terms: int, postings: int, weight_type: str) -> None:
        mapped = np.memmap(path, dtype=np.uint8, mode="r")
        at = _HEADER_BYTES

        def take(dtype: Any, count: int) -> Any:
            nonlocal at
            array = np.frombuffer(mapped, dtype=dtype, count=count, offset=at)
            at += array.nbytes
            return array

        self.path = path
        self.offsets: npt.NDArray[np.int64] = take(np.int64, terms)
        self.starts: npt.NDArray[np.int64] = take(np.int64, terms)
        self.lengths: npt.NDArray[np.int64] = take(np.int64, terms)
        self.ids: npt.NDArray[np.int32] = take(np.int32, postings)
        self.weights: npt.NDArray[Any] = take(np.dtype(weight_type), postings)

    def postings_at(self, offset: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[Any]] | None:
        """The decoded list stored at this offset of the postings file, or None when the
        sidecar has no list there (read-only views into the map)."""
        i = int(np.searchsorted(self.offsets, offset))
        if i == len(self.offsets) or self.offsets[i] != offset:
            return None
        start, end = int(self.starts[i]), int(self.starts[i] + self.lengths[i])
        return self.ids[start:end], self.weights[start:end]


def segment_folder(leaf: Any) -> str | None:
    """The index directory a segment reader reads from (None: not a directory)."""
    storage = getattr(leaf, "_storage", None)
    storage = getattr(storage, "b", storage)  # a compound segment: its files over the folder
    folder = getattr(storage, "folder", None)
    return folder if isinstance(folder, str) else None


def sidecar_path(folder: str, segment_id: str) -> str:
    return os.path.join(folder, DERIVED_DIR, segment_id + _SUFFIX)


def open_sidecar(folder: str, key: SidecarKey) -> SegmentSidecar | None:
    """The segment's sidecar, or None when it is missing, stale or not whole."""
    path = sidecar_path(folder, key.segment_id)
    try:
        with open(path, "rb") as source:
            head = source.read(_HEADER_BYTES)
            size = os.fstat(source.fileno()).st_size
    except OSError:
        return None
    described = _read_header(head)
    if described is None or described.get("version") != SIDECAR_VERSION:
        return None
    if (described.get("segment"), described.get("docs")) != (key.segment_id, key.doc_count):
        return None
    terms, postings = int(described["terms"]), int(described["postings"])
    weight_type = described.get("weights")
    if weight_type not in _WEIGHT_TYPES or size != _file_size(terms, postings, weight_type):
        return None
    return SegmentSidecar(path, terms, postings, weight_type)


def _read_header(head: bytes) -> dict[str, Any] | None:
    if len(head) < _HEADER_BYTES or not head.startswith(_MAGIC):
        return None
    size = int.from_bytes(head[8:12], "little")
    try:
        described = json.loads(head[12 : 12 + size])
    except ValueError:
        return None
    return described if isinstance(described, dict) else None


def _file_size(terms: int, postings: int, weight_type: str) -> int:
    return _HEADER_BYTES + 3 * 8 * terms + (4 + np.dtype(weight_type).itemsize) * postings


class _NotWhole(Exception):
    """A weight uint16 cannot hold exactly."""


def write_sidecar(folder: str, leaf: Any, weight_type: str = "uint16") -> str | None:
    """Decode every non-inlined posting list of a W3 segment reader into its sidecar, with
    weights of the weight type if it holds them all exactly, else float32; returns the
    sidecar's path (None for a segment of another kind). Written to a temporary file,
    flushed and renamed: readers never see half a sidecar."""
    terms = w3_terms(leaf)
    if terms is None:
        return None
    extents, counts = _posting_extents(terms, leaf.schema.names())
    key = SidecarKey.of(leaf.segment())
    path = sidecar_path(folder, key.segment_id)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}{_TMP_MARK}{os.getpid()}"
    try:
        try:
            _write_file(tmp, key, terms, extents, counts, weight_type)
        except _NotWhole:
            _write_file(tmp, key, terms, extents, counts, "float32")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    fsync_directory(os.path.dirname(path))
    return path


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
    weight_type: str,
) -> None:
    """The sidecar's bytes into `tmp`, flushed to disk; raises _NotWhole when a weight does
    not fit the weight type exactly."""
    n, m = len(counts), int(counts.sum())
    described = {"version": SIDECAR_VERSION, "segment": key.segment_id, "docs": key.doc_count}
    text = json.dumps({**described, "terms": n, "postings": m, "weights": weight_type}).encode()
    with open(tmp, "wb") as out:
        out.write(_MAGIC + len(text).to_bytes(4, "little") + text)
        out.truncate(_file_size(n, m, weight_type))
    weight_bytes = np.dtype(weight_type).itemsize
    ids_at = _HEADER_BYTES + 3 * 8 * n
    weights_at = ids_at + 4 * m
    starts = np.cumsum(counts) - counts
    postfile = terms._postfile
    with open(tmp, "r+b") as out:
        fd = out.fileno()
        os.pwrite(fd, np.concatenate((extents[:, 0], starts, counts)).tobytes(), _HEADER_BYTES)
        for (offset, length), start, count in zip(
            extents.tolist(), starts.tolist(), counts.tolist(), strict=True
        ):
            list_ids, list_weights = read_ids_and_weights(postfile.get(offset, length))
            if len(list_ids) != count:
                raise ValueError(f"posting list at {offset}: {len(list_ids)} postings, not {count}")
            os.pwrite(fd, list_ids.tobytes(), ids_at + 4 * start)
            stored = _as_weight_type(list_weights, weight_type)
            if stored is None:
                raise _NotWhole(f"posting list at {offset}")
            os.pwrite(fd, stored.tobytes(), weights_at + weight_bytes * start)
        os.fsync(fd)


def _as_weight_type(weights: npt.NDArray[np.float32], weight_type: str) -> Any:
    """The weights as the weight type, None when it cannot hold them all exactly."""
    if weight_type == "float32":
        return weights
    if len(weights) and not 0 <= weights.min() <= weights.max() <= np.iinfo(np.uint16).max:
        return None
    stored = weights.astype(np.uint16)
    return stored if np.array_equal(stored, weights) else None


def ensure_sidecars(folder: str, reader: Any, min_docs: int = MIN_SIDECAR_DOCS) -> list[str]:
    """Write the sidecar of each segment of the reader holding at least `min_docs`
    documents that has none (or a stale one), and remove the sidecars of segments the reader
    no longer has and the temporary files of writers that died; returns the paths written."""
    leaves = [leaf for leaf, _ in reader.leaf_readers()]
    keys = {SidecarKey.of(leaf.segment()).segment_id for leaf in leaves}
    _remove_leftovers(folder, keys)
    written = []
    for leaf in leaves:
        key = SidecarKey.of(leaf.segment())
        if key.doc_count >= min_docs and open_sidecar(folder, key) is None:
            path = write_sidecar(folder, leaf)
            if path is not None:
                written.append(path)
    return written


def _remove_leftovers(folder: str, live_segments: set[str]) -> None:
    """Sidecars of merged-away segments (a reader that maps one keeps it alive) and
    temporary files whose writing process is gone."""
    derived = os.path.join(folder, DERIVED_DIR)
    if not os.path.isdir(derived):
        return
    for name in os.listdir(derived):
        stem, _, pid = name.partition(_TMP_MARK)
        if pid:
            if pid.isdigit() and not _process_alive(int(pid)):
                os.remove(os.path.join(derived, name))
        elif stem.endswith(_SUFFIX) and stem[: -len(_SUFFIX)] not in live_segments:
            os.remove(os.path.join(derived, name))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
