"""Term infos with their postings inlined, made with numpy for many terms at once.

Most terms of a segment are found in a few documents (syllable pairs above all), and W3 keeps
their postings in the term table: the term info, then the pickle of (document numbers,
weights, values). `TermWriter.info` makes one such info at a time in Python, tens of
microseconds a term; `inlined_infos` lays out the bytes of every term of a chunk in one pass
over arrays: each piece of each info (the packed term info, a pickle opcode with its
argument, a value's bytes) is a row, rows are put in output order by arithmetic on the
terms' posting counts, and the bytes are gathered once. Same bytes as `TermWriter.info`
(tests/test_inlined_postings.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# W3TermInfo's struct "!BfIBBfII" as a packed numpy record: inlined, weight sum, document
# count, shortest and longest length byte, top weight, first and last document number.
_TERMINFO = np.dtype(
    [("inlined", "u1"), ("total", ">f4"), ("count", ">u4"), ("shortest", "u1"),
     ("longest", "u1"), ("top", ">f4"), ("first", ">u4"), ("last", ">u4")]
)  # fmt: skip
_CELL = 5  # the widest opcode row: BININT or BINBYTES and a 4-byte argument
_PROTO = (0x80, 3)  # pickle protocol 3
_MARK, _TUPLE, _STOP = ord("("), ord("t"), ord(".")
_TUPLE_CODES = np.array([ord(")"), 0x85, 0x86, 0x87], dtype=np.uint8)  # 0-3 items, no MARK


@dataclass
class PostingArrays:
    """A field's postings as arrays, terms in order: the postings of term t are those from
    bounds[t] to bounds[t + 1]; a posting's value is value_data[value_starts:value_ends]."""

    docnums: Any  # int64
    weights: Any  # int64: whole weights only (W3 pickles them as ints)
    value_data: Any  # uint8
    value_starts: Any  # int64
    value_ends: Any  # int64
    bounds: Any  # int64, one more than the terms

    def counts(self, terms: Any) -> Any:
        """The number of postings of each term in `terms`."""
        return self.bounds[terms + 1] - self.bounds[terms]


def whole(weights: Any) -> Any:
    """Weights as int64 when every one is a whole number (W3 then pickles ints), else None."""
    weights = np.asarray(weights)
    if weights.dtype.kind in "iu":
        return weights.astype(np.int64)
    if len(weights) and not np.array_equal(weights, np.floor(weights)):
        return None
    return weights.astype(np.int64)


def inlined_infos(postings: PostingArrays, terms: Any, length_bytes: Any) -> list[bytes]:
    """The term info, postings inlined, of each term in `terms` (indexes, each with at least
    one posting), as TermWriter.info makes it; `length_bytes`: the field's length byte of
    each document, by document number."""
    terms = np.asarray(terms, dtype=np.int64)
    if not len(terms):
        return []
    counts = postings.counts(terms)
    firsts = postings.bounds[terms]
    # the chosen postings, term after term, and which of its term's postings each is
    rank = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    chosen = np.repeat(firsts, counts) + rank
    docnums = postings.docnums[chosen].astype(np.int64)
    weights = postings.weights[chosen]
    value_sizes = postings.value_ends[chosen] - postings.value_starts[chosen]
    values = _gathered(postings.value_data, postings.value_starts[chosen], value_sizes)
    lens = np.asarray(length_bytes, dtype=np.uint8)[docnums]

    heads = _term_heads(counts, docnums, weights, lens)
    cells, used = _cells(counts, docnums, weights, value_sizes)
    # Rows of each term: head, PROTO (+MARK), ids, close (+MARK), weights, close (+MARK),
    # value header and value bytes in turn, the closing codes: 4 n + 5 rows.
    term_rows = np.cumsum(4 * counts + 5) - (4 * counts + 5)
    post_rows = np.repeat(term_rows, counts)  # the first row of each posting's term
    post_counts = np.repeat(counts, counts)
    sources = np.empty(int((4 * counts + 5).sum()), dtype=np.int64)
    sizes = np.empty(len(sources), dtype=np.int64)

    nterms = len(terms)
    cell_base = heads.nbytes
    value_base = cell_base + cells.nbytes
    sources[term_rows] = np.arange(nterms) * _TERMINFO.itemsize
    sizes[term_rows] = _TERMINFO.itemsize
    # the cells: ids, weights, value headers (a posting each), then the four per-term rows
    per_term = [term_rows + 1, term_rows + counts + 2, term_rows + 2 * counts + 3,
                term_rows + 4 * counts + 4]  # fmt: skip
    per_post = [post_rows + 2 + rank, post_rows + post_counts + 3 + rank,
                post_rows + 2 * post_counts + 4 + 2 * rank]  # fmt: skip
    rows = np.concatenate(per_post + per_term)
    sources[rows] = cell_base + _CELL * np.arange(len(rows))
    sizes[rows] = used
    value_rows = post_rows + 2 * post_counts + 5 + 2 * rank
    sources[value_rows] = value_base + np.cumsum(value_sizes) - value_sizes
    sizes[value_rows] = value_sizes

    source = np.concatenate([heads.view(np.uint8), cells.ravel(), values])
    data = _gathered(source, sources, sizes).tobytes()
    ends = np.cumsum(sizes)[term_rows + 4 * counts + 4]
    starts = np.append(0, ends[:-1])
    return list(map(data.__getitem__, map(slice, starts.tolist(), ends.tolist())))


def _term_heads(counts: Any, docnums: Any, weights: Any, lens: Any) -> Any:
    """Each term's W3TermInfo fields (the head of its info)."""
    starts = np.cumsum(counts) - counts
    ends = starts + counts - 1
    heads = np.zeros(len(counts), dtype=_TERMINFO)
    heads["inlined"] = 1
    heads["total"] = np.add.reduceat(weights, starts)
    heads["count"] = counts
    # the shortest length byte but 0 (an empty field), 0 when every one is 0
    shortest = np.minimum.reduceat(np.where(lens == 0, 256, lens.astype(np.int64)), starts)
    heads["shortest"] = np.where(shortest == 256, 0, shortest)
    heads["longest"] = np.maximum.reduceat(lens, starts)
    heads["top"] = np.maximum.reduceat(weights, starts)
    heads["first"] = docnums[starts]
    heads["last"] = docnums[ends]
    return heads


def _cells(counts: Any, docnums: Any, weights: Any, value_sizes: Any) -> tuple[Any, Any]:
    """The opcode rows, _CELL bytes each, and the bytes each uses: every posting's document
    number, then every weight, every value header, then each term's four fixed rows."""
    nterms = len(counts)
    ints = np.concatenate([docnums, weights])
    if len(ints) and (ints.min() < 0 or ints.max() >= 2**31):
        raise ValueError("a document number or weight out of BININT's range")
    cells = np.zeros((len(ints) + len(value_sizes) + 4 * nterms, _CELL), dtype=np.uint8)
    used = np.zeros(len(cells), dtype=np.int64)
    at = len(ints)
    little = ints.astype("<u4").view(np.uint8).reshape(-1, 4)
    size = np.where(ints < 256, 2, np.where(ints < 65536, 3, 5))
    cells[:at, 0] = np.where(size == 2, ord("K"), np.where(size == 3, ord("M"), ord("J")))
    cells[:at, 1:5] = little
    used[:at] = size
    # SHORT_BINBYTES and a length byte, or BINBYTES and a 4-byte length
    short = value_sizes < 256
    headers = slice(at, at + len(value_sizes))
    cells[headers, 0] = np.where(short, ord("C"), ord("B"))
    cells[headers, 1:5] = value_sizes.astype("<u4").view(np.uint8).reshape(-1, 4)
    used[headers] = np.where(short, 2, 5)
    at += len(value_sizes)
    marked = counts > 3  # a tuple of more than three items opens with MARK
    closing = np.where(marked, _TUPLE, _TUPLE_CODES[np.minimum(counts, 3)])
    proto, first_close, second_close, last = (at + k * nterms for k in range(4))
    cells[proto : proto + nterms, 0:3] = (*_PROTO, _MARK)
    used[proto : proto + nterms] = 2 + marked
    for start in (first_close, second_close):
        cells[start : start + nterms, 0] = closing
        cells[start : start + nterms, 1] = _MARK
        used[start : start + nterms] = 1 + marked
    cells[last : last + nterms, 0] = closing
    cells[last : last + nterms, 1:3] = (0x87, _STOP)  # the outer TUPLE3, STOP
    used[last : last + nterms] = 3
    return cells, used


def _gathered(source: Any, starts: Any, sizes: Any) -> Any:
    """source[starts[0]:starts[0] + sizes[0]] + ... as one uint8 array."""
    source = np.frombuffer(source, dtype=np.uint8) if isinstance(source, bytes) else source
    total = int(sizes.sum())
    if not total:
        return np.zeros(0, dtype=np.uint8)
    offsets = np.cumsum(sizes) - sizes
    return source[np.arange(total) + np.repeat(starts - offsets, sizes)]
