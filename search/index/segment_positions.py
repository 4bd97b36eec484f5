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
from io import BytesIO
from itertools import accumulate, groupby
from operator import itemgetter
from pickle import Unpickler, loads
from struct import Struct
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.reading import TermNotFound

from search.index.caches import IndexCaches
from search.index.w3_reader import w3_terms

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
    try:
        info = terms.term_info(fieldname, leaf._text_to_bytes(fieldname, text))
    except TermNotFound:
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


def decode_positions(value: bytes) -> list[int]:
    """Whoosh's Positions.decode_positions: a count, then the pickled position deltas (the
    pickle's closing byte may have been left off)."""
    if not value.endswith(b"."):
        value += b"."
    position = 0
    positions = []
    for delta in loads(value[4:]):
        position += delta
        positions.append(position)
    return positions


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
