"""W3 posting bytes laid out with numpy for many terms at once: the shared parts.

A term info or a posting block is a pickle: opcodes with their arguments, and values' bytes.
search/index/inlined_postings.py and block_postings.py lay out such bytes for a whole chunk of
terms: each piece is a row (a cell of opcode bytes, or a span of the values' bytes), rows are
put in output order by arithmetic on the posting counts, and the bytes are gathered once,
instead of a pickle per term made from Python lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# W3TermInfo's struct "!BfIBBfII" as a packed numpy record: inlined, weight sum, document
# count, shortest and longest length byte, top weight, first and last document number.
TERMINFO = np.dtype(
    [("inlined", "u1"), ("total", ">f4"), ("count", ">u4"), ("shortest", "u1"),
     ("longest", "u1"), ("top", ">f4"), ("first", ">u4"), ("last", ">u4")]
)  # fmt: skip
PROTO = (0x80, 3)  # pickle protocol 3
MARK, TUPLE, STOP, TUPLE3 = ord("("), ord("t"), ord("."), 0x87
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


@dataclass
class Chosen:
    """The postings of some terms, term after term: each term's posting count, and each
    posting's place in its term, document, weight, length byte and value (sizes, and the
    values' bytes one after another)."""

    counts: Any
    rank: Any
    docnums: Any
    weights: Any
    lens: Any
    value_sizes: Any
    values: Any

    @classmethod
    def of(cls, postings: PostingArrays, terms: Any, length_bytes: Any) -> Chosen:
        """The postings of `terms` (indexes, each term with a posting at least);
        `length_bytes`: the field's length byte of each document, by document number."""
        counts = postings.counts(terms)
        rank = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        chosen = np.repeat(postings.bounds[terms], counts) + rank
        docnums = postings.docnums[chosen].astype(np.int64)
        starts = postings.value_starts[chosen]
        sizes = postings.value_ends[chosen] - starts
        return cls(
            counts,
            rank,
            docnums,
            postings.weights[chosen],
            np.asarray(length_bytes, dtype=np.uint8)[docnums],
            sizes,
            gathered(postings.value_data, starts, sizes),
        )


def term_heads(chosen: Chosen, inlined: bool) -> Any:
    """Each term's W3TermInfo fields (the head of its info)."""
    counts, weights, lens = chosen.counts, chosen.weights, chosen.lens
    starts = np.cumsum(counts) - counts
    heads = np.zeros(len(counts), dtype=TERMINFO)
    heads["inlined"] = inlined
    heads["total"] = np.add.reduceat(weights, starts)
    heads["count"] = counts
    heads["shortest"] = shortest_nonzero(lens, starts)
    heads["longest"] = np.maximum.reduceat(lens, starts)
    heads["top"] = np.maximum.reduceat(weights, starts)
    heads["first"] = chosen.docnums[starts]
    heads["last"] = chosen.docnums[starts + counts - 1]
    return heads


def shortest_nonzero(lens: Any, starts: Any) -> Any:
    """The smallest length byte but 0 (an empty field) of each run, 0 when all are 0."""
    shortest = np.minimum.reduceat(np.where(lens == 0, 256, lens.astype(np.int64)), starts)
    return np.where(shortest == 256, 0, shortest)


def closing(counts: Any) -> Any:
    """The opcode that ends a tuple of `counts` items (MARK opened one of more than three)."""
    return np.where(counts > 3, TUPLE, _TUPLE_CODES[np.minimum(counts, 3)])


def int_cells(cells: Any, used: Any, ints: Any) -> None:
    """Fill rows of cells with pickle's opcode for each int (BININT1, BININT2 or BININT)."""
    if len(ints) and (ints.min() < 0 or ints.max() >= 2**31):
        raise ValueError("a document number or weight out of BININT's range")
    size = np.where(ints < 256, 2, np.where(ints < 65536, 3, 5))
    cells[:, 0] = np.where(size == 2, ord("K"), np.where(size == 3, ord("M"), ord("J")))
    cells[:, 1:5] = ints.astype("<u4").view(np.uint8).reshape(-1, 4)
    used[:] = size


def bytes_header_cells(cells: Any, used: Any, sizes: Any) -> None:
    """Fill rows of cells with the head of a bytes object of each size: SHORT_BINBYTES and
    a length byte, or BINBYTES and a 4-byte length."""
    short = sizes < 256
    cells[:, 0] = np.where(short, ord("C"), ord("B"))
    cells[:, 1:5] = sizes.astype("<u4").view(np.uint8).reshape(-1, 4)
    used[:] = np.where(short, 2, 5)


def gathered(source: Any, starts: Any, sizes: Any) -> Any:
    """source[starts[0]:starts[0] + sizes[0]] + ... as one uint8 array."""
    source = np.frombuffer(source, dtype=np.uint8) if isinstance(source, bytes) else source
    total = int(sizes.sum())
    if not total:
        return np.zeros(0, dtype=np.uint8)
    offsets = np.cumsum(sizes) - sizes
    return source[np.arange(total) + np.repeat(starts - offsets, sizes)]


def laid_out(
    rows: int,
    cells: Any,
    used: Any,
    cell_rows: Any,
    values: Any,
    value_rows: Any,
    sizes_of_values: Any,
    heads: Any = None,
    head_rows: Any = None,
) -> tuple[bytes, Any]:
    """The bytes of `rows` rows in order, and where each row ends: cell k (of used[k] bytes)
    is row cell_rows[k], value k (sizes_of_values[k] bytes of `values`, one after another)
    is row value_rows[k], head k (a TERMINFO record) is row head_rows[k]."""
    sources = np.zeros(rows, dtype=np.int64)
    sizes = np.zeros(rows, dtype=np.int64)
    base = 0
    if heads is not None:
        sources[head_rows] = np.arange(len(heads)) * TERMINFO.itemsize
        sizes[head_rows] = TERMINFO.itemsize
        base = heads.nbytes
    width = cells.shape[1]
    sources[cell_rows] = base + width * np.arange(len(cells))
    sizes[cell_rows] = used
    base += cells.nbytes
    sources[value_rows] = base + np.cumsum(sizes_of_values) - sizes_of_values
    sizes[value_rows] = sizes_of_values
    parts = (
        [cells.ravel(), values] if heads is None else [heads.view(np.uint8), cells.ravel(), values]
    )
    data = gathered(np.concatenate(parts), sources, sizes).tobytes()
    return data, np.cumsum(sizes)
