"""A term's positions in a few chosen documents of one segment, without a phrase matcher.

Checking that words stand side by side needs their positions, which a W3 posting list keeps
block by block (128 postings a block, pickled, often compressed) with each posting's encoded
positions. Whoosh's span matcher steps through every posting of every word; here the blocks
are listed once per term (their last document and where their bytes lie, cached by segment),
and only the blocks holding a chosen document are decoded.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left
from dataclasses import dataclass
from io import BytesIO
from itertools import accumulate, groupby
from operator import itemgetter
from pickle import Unpickler, loads
from struct import Struct
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC

from search.index.caches import IndexCaches
from search.index.positions_sidecar import (
    POSITION_BLOCK,
    POSITION_FIELDS,
    open_positions,
    ragged_ranges,
)
from search.index.segment_postings import (
    ABSENT,
    NOT_LISTED,
    leaf_derived,
    leaf_sidecar,
    list_offset,
    segment_postings,
)
from search.index.term_infos import term_info
from search.index.w3_reader import decode_positions, w3_terms

Positions = dict[int, list[int]]  # document number -> the term's positions in it, ascending

_BLOCK_LENGTH = Struct("!i")  # negative for a posting list's last block
_INFO_BYTES = 256  # a block's info (six numbers) is pickled in fewer bytes than this


class BlockList:
    """Where a term's posting blocks lie in its list: each block's last document, the start
    and end of its data (after its info), and whether the data is compressed."""

    def __init__(self, offset: int, length: int, data: bytes) -> None:
        self.offset, self.length = offset, length  # the list's place in the postings file
        last_ids, starts, ends, compressed = [], [], [], []
        pos, last = len(WHOOSH3_HEADER_MAGIC), False
        while not last:
            (size,) = _BLOCK_LENGTH.unpack_from(data, pos)
            last = size < 0
            pos += _BLOCK_LENGTH.size
            end = pos + abs(size)
            head = BytesIO(data[pos : min(end, pos + _INFO_BYTES)])
            info = Unpickler(head).load()
            last_ids.append(info[1])
            starts.append(pos + head.tell())
            ends.append(end)
            compressed.append(bool(info[3]))
            pos = end
        self.last_ids = np.array(last_ids, dtype=np.int64)
        self.starts, self.ends, self.compressed = starts, ends, compressed

    @property
    def nbytes(self) -> int:
        return int(self.last_ids.nbytes) + 3 * 8 * len(self.starts)


def segment_positions(
    caches: IndexCaches, leaf: Any, fieldname: str, text: str, docs: npt.NDArray[np.int64]
) -> Positions:
    """The term's positions in each of `docs` (sorted, numbered within the segment) that
    holds it. The field must record positions."""
    terms = w3_terms(leaf)
    if terms is None:
        return _matcher_positions(leaf, fieldname, text, docs)
    info = term_info(caches, leaf, fieldname, text)
    if info is None:
        return {}
    if info.is_inlined():
        ids, _, values = info.inlined_postings()
        wanted = set(docs.tolist())
        return {d: decode_positions(v) for d, v in zip(ids, values, strict=True) if d in wanted}
    offset, length = info.extent()
    length = length[0] if isinstance(length, tuple) else length  # W3 reads a 1-tuple
    data = terms._postfile.get(offset, length)
    blocks = _block_list(caches, leaf, fieldname, text, offset, length, data)
    found: Positions = {}
    at = np.searchsorted(blocks.last_ids, docs)  # the block that would hold each document
    inside = at < len(blocks.starts)
    # docs is sorted, so each block's documents follow each other: one group a block
    pairs = zip(at[inside].tolist(), docs[inside].tolist(), strict=True)
    for number, group in groupby(pairs, key=itemgetter(0)):
        start, end = blocks.starts[number], blocks.ends[number]
        raw = zlib.decompress(data[start:end]) if blocks.compressed[number] else data[start:end]
        deltas, _, values = loads(raw)
        ids = list(accumulate(deltas))  # a block's few hundred: faster than through numpy
        for _, doc in group:
            i = bisect_left(ids, doc)
            if i < len(ids) and ids[i] == doc:
                found[doc] = decode_positions(values[i])
    return found


PositionArrays = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]  # documents, positions
NO_POSITIONS: PositionArrays = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


def has_derived_positions(caches: IndexCaches, leaf: Any, fieldname: str) -> bool:
    """Whether the segment's positions of the field are read from its derived files."""
    if fieldname not in POSITION_FIELDS:
        return False
    positions = leaf_derived(caches, leaf, "positions", open_positions)
    return positions is not None and leaf_sidecar(caches, leaf) is not None


@dataclass(frozen=True)
class DerivedList:
    """A term's list in a segment's derived files (search.index.positions_sidecar): every
    posting's term frequency, the positions before every POSITION_BLOCK-th posting, and all
    positions; postings are counted with the deleted documents."""

    offset: int  # the list's place in the postings file (-1 for no list: EMPTY_LIST)
    weights: npt.NDArray[Any]
    before: npt.NDArray[np.int64]
    every: npt.NDArray[Any]


def derived_list(caches: IndexCaches, leaf: Any, fieldname: str, text: str) -> DerivedList | None:
    """The term's list from the segment's derived files; None when they cannot give it (no
    files, or a list inlined in the term table: a few documents, decoded as they are). A
    term the segment lacks has an empty list."""
    if fieldname not in POSITION_FIELDS:
        return None
    positions = leaf_derived(caches, leaf, "positions", open_positions)
    postings = leaf_sidecar(caches, leaf) if positions is not None else None
    if positions is None or postings is None:
        return None
    offset = list_offset(caches, leaf, fieldname, text)
    if offset == ABSENT:
        return EMPTY_LIST
    if offset == NOT_LISTED:
        return None
    listed, weights = positions.list_at(offset), postings.weights_at(offset)
    if listed is None or weights is None:
        return None
    return DerivedList(offset, weights, *listed)


EMPTY_LIST = DerivedList(-1, np.zeros(0, np.uint8), np.zeros(1, np.int64), np.zeros(0, np.uint16))


def full_ids(caches: IndexCaches, leaf: Any, fieldname: str, text: str, listed: DerivedList) -> Any:
    """The list's document numbers, deleted documents included (as the positions lie): the
    cached live postings when the segment has no deletions, else decoded from the sidecar."""
    if not leaf.has_deletions():
        return segment_postings(caches, leaf, fieldname, text)[0]
    postings = leaf_sidecar(caches, leaf)
    full = postings.postings_at(listed.offset) if postings is not None else None
    return full[0] if full is not None else np.zeros(0, dtype=np.int32)


def gathered(
    listed: DerivedList, docs: npt.NDArray[np.int64], places: npt.NDArray[Any]
) -> PositionArrays:
    """The positions of the postings at `places` (ascending) in the list (those of `docs`):
    each posting's first position is the count before its block plus the frequencies of the
    postings before it in the block."""
    if not len(places):
        return NO_POSITIONS
    weights = listed.weights
    block = places // POSITION_BLOCK  # ascending, as the places are
    first_in_block = block * POSITION_BLOCK
    starts = listed.before[block] + _earlier_in_block(weights, places, first_in_block)
    counts = weights[places].astype(np.int64)
    found = listed.every[ragged_ranges(starts, counts)].astype(np.int64)
    return np.repeat(docs, counts), found


def _earlier_in_block(
    weights: npt.NDArray[Any], places: npt.NDArray[Any], first_in_block: npt.NDArray[Any]
) -> npt.NDArray[np.int64]:
    """For each place, the frequencies of the postings before it in its block, summed, in
    the cheaper of two ways: one running sum over the whole stretch the places span (many
    places close together), or one over each place's own postings before it (places apart:
    a few dozen postings each)."""
    low, high = int(first_in_block[0]), int(places[-1])
    before = places - first_in_block
    if high - low <= int(before.sum()):
        summed = _running_sum(weights[low:high])
        return summed[places - low] - summed[first_in_block - low]
    summed = _running_sum(weights[ragged_ranges(first_in_block, before)])
    ends = np.cumsum(before)
    return summed[ends] - summed[ends - before]


def _running_sum(frequencies: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """0, then the running sum of the frequencies (whole numbers, whatever their type)."""
    summed = np.zeros(len(frequencies) + 1, dtype=np.int64)
    np.cumsum(frequencies.astype(np.int64, copy=False), out=summed[1:])
    return summed


def decoded_arrays(
    caches: IndexCaches, leaf: Any, fieldname: str, text: str, docs: npt.NDArray[np.int64]
) -> PositionArrays:
    """segment_positions (decoded from the posting blocks) as two arrays: each position, and
    the document it is in."""
    held = segment_positions(caches, leaf, fieldname, text, docs)
    counts = [len(positions) for positions in held.values()]
    flat = [p for positions in held.values() for p in positions]
    return (
        np.repeat(np.fromiter(held, dtype=np.int64, count=len(held)), counts),
        np.array(flat, dtype=np.int64),
    )


def _block_list(
    caches: IndexCaches, leaf: Any, fieldname: str, text: str, offset: int, length: int, data: bytes
) -> BlockList:
    """The term's blocks, kept per segment (blocks never change; deletions leave them be)."""
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    if segment is None:
        return BlockList(offset, length, data)
    key = (segment.segment_id(), fieldname, text)
    blocks: BlockList | None = caches.block_lists.get(key)
    if blocks is None or (blocks.offset, blocks.length) != (offset, length):
        blocks = BlockList(offset, length, data)
        caches.block_lists.put(key, blocks)
    return blocks


def _matcher_positions(
    leaf: Any, fieldname: str, text: str, docs: npt.NDArray[np.int64]
) -> Positions:
    """The positions through Whoosh's matcher, for a segment of another format than W3."""
    found: Positions = {}
    if (fieldname, text) not in leaf:
        return found
    matcher = leaf.postings(fieldname, text)
    for doc in docs.tolist():
        if not matcher.is_active():
            break
        matcher.skip_to(doc)
        if matcher.is_active() and matcher.id() == doc:
            found[doc] = list(matcher.value_as("positions"))
    return found
