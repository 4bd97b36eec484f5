"""Posting lists written as W3 blocks, laid out with numpy for many terms at once.

A term found in more documents than the inline limit has its postings in the postings file:
W3's header, then blocks of at most `block_limit` postings, each its length, an info pickle
(count, last document, top weight, compression, shortest and longest length byte) and a data
pickle (document number deltas; weights: None when all are 1, one float when all are equal,
else a tuple; values: a tuple of bytes, one bytes of fixed-size values joined, or None).
`posting_lists` lays out every block's data pickle of a chunk of terms in one pass over
arrays (search/index/posting_rows.py); compressing a block and its info pickle stay a call
each. Same bytes as `TermWriter.info` (tests/test_posting_rows.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.system import pack_int

from search.index.block_zlib import compressed_block
from search.index.compact_pickle import CompactPickler
from search.index.posting_rows import (
    MARK,
    PROTO,
    STOP,
    TERMINFO,
    TUPLE3,
    Chosen,
    PostingArrays,
    bytes_header_cells,
    closing,
    int_cells,
    laid_out,
    shortest_nonzero,
    term_heads,
)

_CELL = 10  # the widest opcode row: the ids' close, then BINFLOAT and its 8 bytes
_NONE, _FLOAT = ord("N"), ord("G")
POSTINGS_AT_ONCE = 1 << 20  # postings laid out in one pass (memory: tens of bytes each)


def posting_lists(
    postings: PostingArrays,
    terms: Any,
    length_bytes: Any,
    fixedsize: int | None,
    block_limit: int,
    compress_min: int,
    level: int,
) -> tuple[list[bytes], list[bytes]]:
    """Each term's posting list, as TermWriter.info writes it, and its term info but the
    list's place in the file (W3TermInfo's fields, packed). `fixedsize`: the format's value
    size (None or negative: values of any size, kept as a tuple; 0: no values); `level`:
    zlib's, for blocks of at least compress_min bytes."""
    terms = np.asarray(terms, dtype=np.int64)
    counts = postings.counts(terms)
    cuts = np.flatnonzero(np.diff(np.cumsum(counts) // POSTINGS_AT_ONCE)) + 1
    lists: list[bytes] = []
    heads: list[bytes] = []
    size = TERMINFO.itemsize
    for some in np.split(terms, cuts):
        if len(some):
            chosen = Chosen.of(postings, some, length_bytes)
            lists += _lists(chosen, fixedsize, block_limit, compress_min, level)
            raw = term_heads(chosen, False).tobytes()
            heads += [raw[at : at + size] for at in range(0, len(raw), size)]
    return lists, heads


def fits(postings: PostingArrays, fixedsize: int | None) -> bool:
    """Whether posting_lists writes these postings: a format of values of any size needs
    each value non-empty (TermWriter would drop an empty one from its block's tuple)."""
    if fixedsize is not None and fixedsize >= 0:
        return True
    sizes = postings.value_ends - postings.value_starts
    return not len(sizes) or int(sizes.min()) > 0


class _Blocks:
    """The blocks of some terms' postings: each block's first posting and count, and each
    posting's block and place in it."""

    def __init__(self, counts: Any, rank: Any, block_limit: int) -> None:
        self.per_term = (counts + block_limit - 1) // block_limit
        self.first_of_term = np.cumsum(self.per_term) - self.per_term
        self.of_posting = np.repeat(self.first_of_term, counts) + rank // block_limit
        self.counts = np.bincount(self.of_posting, minlength=int(self.per_term.sum()))
        self.starts = np.cumsum(self.counts) - self.counts
        self.place = np.arange(len(rank)) - self.starts[self.of_posting]


def _lists(
    chosen: Chosen, fixedsize: int | None, block_limit: int, compress_min: int, level: int
) -> list[bytes]:
    """Each term's posting list: W3's header, then each block's length (negative for the
    last), info pickle and data pickle (compressed when big enough)."""
    blocks = _Blocks(chosen.counts, chosen.rank, block_limit)
    data, starts, ends = _data_pickles(chosen, blocks, fixedsize)
    docnums, weights, lens = chosen.docnums, chosen.weights, chosen.lens
    stats = zip(
        blocks.counts.tolist(),
        docnums[blocks.starts + blocks.counts - 1].tolist(),
        np.maximum.reduceat(weights, blocks.starts).tolist(),
        shortest_nonzero(lens, blocks.starts).tolist(),
        np.maximum.reduceat(lens, blocks.starts).tolist(),
        starts.tolist(),
        ends.tolist(),
        strict=True,
    )
    dumps = CompactPickler().dumps
    lists = []
    for per_term in blocks.per_term.tolist():
        parts = [WHOOSH3_HEADER_MAGIC]
        for number in range(per_term):
            count, last, top, shortest, longest, start, end = next(stats)
            block = data[start:end]
            comp = level if len(block) >= compress_min else 0
            if comp:
                block = compressed_block(block, comp)
            info = dumps((count, last, top, comp, shortest, longest))
            size = len(info) + len(block)
            parts += (pack_int(-size if number == per_term - 1 else size), info, block)
        lists.append(b"".join(parts))
    return lists


def _data_pickles(chosen: Chosen, blocks: _Blocks, fixedsize: int | None) -> tuple[bytes, Any, Any]:
    """Every block's data pickle, one after another, and where each starts and ends.

    Rows of a block of n postings: PROTO (+MARK); the n deltas; the deltas' close and the
    weights' head; n weights (empty unless a tuple); the weights' close and the values' head;
    each value's header (a tuple only) and bytes in turn; the closing codes: 4 n + 4 rows."""
    n, place = blocks.counts, blocks.place
    block_rows = np.cumsum(4 * n + 4) - (4 * n + 4)
    first_row = block_rows[blocks.of_posting]
    posting_n = n[blocks.of_posting]
    cells, used = _cells(chosen, blocks, fixedsize)
    cell_rows = np.concatenate(
        [first_row + 1 + place, first_row + posting_n + 2 + place,
         first_row + 2 * posting_n + 3 + 2 * place, block_rows, block_rows + n + 1,
         block_rows + 2 * n + 2, block_rows + 4 * n + 3]
    )  # fmt: skip
    value_rows = first_row + 2 * posting_n + 4 + 2 * place
    values, value_sizes = chosen.values, chosen.value_sizes
    if fixedsize == 0:  # no values
        values, value_sizes = values[:0], np.zeros(len(place), dtype=np.int64)
    rows = int((4 * n + 4).sum())
    data, ends = laid_out(rows, cells, used, cell_rows, values, value_rows, value_sizes)
    block_ends = ends[block_rows + 4 * n + 3]
    return data, np.append(0, block_ends[:-1]), block_ends


def _cells(chosen: Chosen, blocks: _Blocks, fixedsize: int | None) -> tuple[Any, Any]:
    """The opcode rows and the bytes each uses: every posting's document number delta,
    every weight, every value header, then each block's four fixed rows (its head, its
    weights' head, its values' head, its closing codes)."""
    n, place, of_posting = blocks.counts, blocks.place, blocks.of_posting
    weights = chosen.weights
    low = np.minimum.reduceat(weights, blocks.starts)
    top = np.maximum.reduceat(weights, blocks.starts)
    tuple_weights = low != top
    tuple_values = fixedsize is None or fixedsize < 0
    if tuple_values and len(chosen.value_sizes) and chosen.value_sizes.min() == 0:
        raise ValueError("an empty value in a format of values of any size")
    nposts, nblocks = len(place), len(n)
    cells = np.zeros((3 * nposts + 4 * nblocks, _CELL), dtype=np.uint8)
    used = np.zeros(len(cells), dtype=np.int64)
    deltas = chosen.docnums - np.where(place > 0, np.roll(chosen.docnums, 1), 0)
    int_cells(cells[: 2 * nposts], used[: 2 * nposts], np.append(deltas, weights))
    used[nposts : 2 * nposts] *= tuple_weights[of_posting]
    headers = slice(2 * nposts, 3 * nposts)
    if tuple_values:
        bytes_header_cells(cells[headers], used[headers], chosen.value_sizes)
    close = closing(n)
    head, mid1, mid2, tail = (
        slice(3 * nposts + k * nblocks, 3 * nposts + (k + 1) * nblocks) for k in range(4)
    )
    cells[head, 0:3] = (*PROTO, MARK)
    used[head] = 2 + (n > 3)
    _weights_heads(cells[mid1], used[mid1], close, low, top)
    sizes = np.add.reduceat(chosen.value_sizes, blocks.starts) if nposts else n
    _values_heads(cells[mid2], used[mid2], close, tuple_weights, fixedsize, sizes)
    if tuple_values:  # the values' close, the outer tuple, the pickle's end
        cells[tail, 0] = close
        cells[tail, 1:3] = (TUPLE3, STOP)
        used[tail] = 3
    else:
        cells[tail, 0:2] = (TUPLE3, STOP)
        used[tail] = 2
    return cells, used


def _weights_heads(cells: Any, used: Any, close: Any, low: Any, top: Any) -> None:
    """Each block's deltas' close, then its weights: None when every one is 1, one float
    when all are equal, else the head of a tuple (MARK for more than three)."""
    cells[:, 0] = close
    same = low == top
    ones = same & (low == 1)
    floats = same & ~ones
    cells[:, 1] = np.where(ones, _NONE, np.where(floats, _FLOAT, MARK))
    cells[floats, 2:10] = low[floats].astype(">f8").view(np.uint8).reshape(-1, 8)
    used[:] = np.where(ones, 2, np.where(floats, 10, 1 + (close == ord("t"))))


def _values_heads(
    cells: Any, used: Any, close: Any, tuple_weights: Any, fixedsize: int | None, sizes: Any
) -> None:
    """Each block's weights' close (a tuple only), then the head of its values: a tuple's
    (MARK for more than three), the joined values' bytes header, or None."""
    heads = np.zeros((len(cells), 6), dtype=np.uint8)
    head_used = np.zeros(len(cells), dtype=np.int64)
    if fixedsize is None or fixedsize < 0:
        heads[:, 0] = MARK
        head_used[:] = close == ord("t")
    elif fixedsize == 0:
        heads[:, 0] = _NONE
        head_used[:] = 1
    else:
        bytes_header_cells(heads[:, :5], head_used, sizes)
    shift = tuple_weights.astype(np.int64)
    cells[tuple_weights, 0] = close[tuple_weights]
    cells[~tuple_weights, 0:6] = heads[~tuple_weights]
    cells[tuple_weights, 1:7] = heads[tuple_weights]
    used[:] = shift + head_used
