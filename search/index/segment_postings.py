"""A term's live postings in one segment, cached by segment.

Segments never change once written (deletions only grow), so what is read from one outlives
the commits that leave it in place: after an import, only the segments it wrote are read.
Every new term still costs a term-table look-up in each segment (several small reads through
the compound file), so a search slows with the segment count (bench/README.md), hence the
merge after a big import (search.index.store).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from search.index.caches import IndexCaches
from search.index.sidecar import SegmentSidecar, SidecarKey, open_sidecar, segment_folder
from search.index.term_infos import segment_term_key, term_info
from search.index.w3_reader import read_ids_and_weights, w3_terms

SIDECAR_RECHECK_SECONDS = 30.0  # how long a segment found without a sidecar is not looked at

DocIds = npt.NDArray[np.int32]  # sorted document numbers
# Weights are term frequencies: float32, or uint8/uint16 read from a sidecar (search.index.sidecar)
Weights = npt.NDArray[Any]
Postings = tuple[DocIds, Weights]  # document numbers, weights


def no_postings() -> Postings:
    """The postings of a term no document holds."""
    return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)


def segment_postings(caches: IndexCaches, leaf: Any, fieldname: str, text: str) -> Postings:
    """One segment's live postings of the term (empty when it has none), numbered within the
    segment, kept in the index's caches. Its id and deletion count name its live documents;
    absent terms are cached too, so that after a commit an unchanged segment is not asked
    again."""
    key = segment_term_key(leaf, fieldname, text)
    if key is None:
        return _read_postings(caches, leaf, fieldname, text, None)
    cached: Postings | None = caches.segment_postings.get(key)
    if cached is None:
        cached = _read_postings(caches, leaf, fieldname, text, leaf_sidecar(caches, leaf))
        caches.segment_postings.put(key, cached)
    return cached


ABSENT, NOT_LISTED = -1, -2  # list_offset's answers for a term the segment lacks, or inlines


def segment_weights(caches: IndexCaches, leaf: Any, fieldname: str, text: str) -> Weights | None:
    """The term's weights in one segment straight from its sidecar's map (no document numbers
    decoded, nothing copied): one per posting of the list, deleted documents included; None
    when the segment has no sidecar or the list is inlined in the term table or absent."""
    sidecar = leaf_sidecar(caches, leaf)
    if sidecar is None:
        return None
    offset = list_offset(caches, leaf, fieldname, text)
    return sidecar.weights_at(offset) if offset >= 0 else None


def list_offset(caches: IndexCaches, leaf: Any, fieldname: str, text: str) -> int:
    """Where the term's list starts in the segment's postings file; ABSENT when the segment
    lacks the term, NOT_LISTED when the list is inlined in the term table or the segment is
    not W3."""
    if w3_terms(leaf) is None:
        return NOT_LISTED
    info = term_info(caches, leaf, fieldname, text)
    if info is None:
        return ABSENT
    return NOT_LISTED if info.is_inlined() else int(info.extent()[0])


def leaf_sidecar(caches: IndexCaches, leaf: Any) -> SegmentSidecar | None:
    """The segment's decoded postings on disk (search.index.sidecar), opened once per index."""
    found: SegmentSidecar | None = leaf_derived(caches, leaf, "postings", open_sidecar)
    return found


def leaf_derived(
    caches: IndexCaches, leaf: Any, kind: str, opener: Callable[[str, SidecarKey], Any]
) -> Any:
    """One of the segment's derived files (`opener(folder, key)`, None when missing or stale),
    opened once per index; a segment without one is looked at again after
    SIDECAR_RECHECK_SECONDS (the server's warm-up or an import may write it meanwhile)."""
    folder = segment_folder(leaf)
    if folder is None:
        return None
    key = SidecarKey.of(leaf.segment())
    entry: tuple[float, Any] | None = caches.sidecars.get((folder, key, kind))
    now = time.monotonic()
    if entry is None or (entry[1] is None and now - entry[0] > SIDECAR_RECHECK_SECONDS):
        entry = (now, opener(folder, key))
        caches.sidecars.put((folder, key, kind), entry)
    return entry[1]


def _read_postings(
    caches: IndexCaches,
    leaf: Any,
    fieldname: str,
    text: str,
    sidecar: SegmentSidecar | None = None,
) -> Postings:
    """The term's postings in one segment, less its deleted documents. From a W3 segment:
    one term-table look-up, then the decoded list from the segment's sidecar when it has
    one, else one read of the whole list, parsed from memory (Whoosh's
    matcher looks the term up again and reads each block's length, info and data apart,
    through the compound file, a cost paid per segment even for a short list)."""
    terms = w3_terms(leaf)
    if terms is None:
        return _matcher_postings(leaf, fieldname, text)
    info = term_info(caches, leaf, fieldname, text)
    if info is None:
        return no_postings()
    if info.is_inlined():
        inlined_ids, inlined_weights, _ = info.inlined_postings()
        ids = np.array(inlined_ids, dtype=np.int32)
        weights = np.array(inlined_weights, dtype=np.float32)
    else:
        offset, length = info.extent()
        length = length[0] if isinstance(length, tuple) else length  # W3 reads a 1-tuple
        decoded = sidecar.postings_at(offset) if sidecar is not None else None
        if decoded is None:
            decoded = read_ids_and_weights(terms._postfile.get(offset, length))
        ids, weights = decoded
    if leaf.has_deletions():
        deleted = np.fromiter(leaf.deleted_docs_set, dtype=np.int32)
        live = ~np.isin(ids, deleted)
        ids, weights = ids[live], weights[live]
    return ids, weights


def _matcher_postings(leaf: Any, fieldname: str, text: str) -> Postings:
    """The term's live postings through Whoosh's matcher, for a segment of another format
    than W3 (its matcher skips deleted documents)."""
    if (fieldname, text) not in leaf:
        return no_postings()
    ids: list[int] = []
    weights: list[float] = []
    matcher = leaf.postings(fieldname, text)
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.array(ids, dtype=np.int32), np.array(weights, dtype=np.float32)
