"""Term infos with their postings inlined, made with numpy for many terms at once.

Most terms of a segment are found in a few documents (syllable pairs above all), and W3 keeps
their postings in the term table: the term info, then the pickle of (document numbers,
weights, values). `TermWriter.info` makes one such info at a time in Python, tens of
microseconds a term; `inlined_infos` lays out those of a whole chunk of terms in one pass
over arrays (search/index/posting_rows.py). Same bytes as `TermWriter.info`
(tests/test_posting_rows.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from search.index.posting_rows import (
    MARK,
    PROTO,
    STOP,
    TUPLE3,
    Chosen,
    PostingArrays,
    bytes_header_cells,
    closing,
    int_cells,
    laid_out,
    term_heads,
)

_CELL = 5  # the widest opcode row: BININT or BINBYTES and a 4-byte argument


def inlined_infos(postings: PostingArrays, terms: Any, length_bytes: Any) -> list[bytes]:
    """The term info, postings inlined, of each term in `terms` (indexes, each with at least
    one posting), as TermWriter.info makes it; `length_bytes`: the field's length byte of
    each document, by document number."""
    terms = np.asarray(terms, dtype=np.int64)
    if not len(terms):
        return []
    chosen = Chosen.of(postings, terms, length_bytes)
    counts, rank = chosen.counts, chosen.rank
    # Rows of a term: its head; PROTO (+MARK); the ids; their close (+MARK); the weights;
    # their close (+MARK); each value's header and bytes in turn; the closing codes.
    term_rows = np.cumsum(4 * counts + 5) - (4 * counts + 5)
    post_rows = np.repeat(term_rows, counts)  # the first row of each posting's term
    post_counts = np.repeat(counts, counts)
    cells, used = _cells(chosen)
    cell_rows = np.concatenate(
        [post_rows + 2 + rank, post_rows + post_counts + 3 + rank,
         post_rows + 2 * post_counts + 4 + 2 * rank, term_rows + 1, term_rows + counts + 2,
         term_rows + 2 * counts + 3, term_rows + 4 * counts + 4]
    )  # fmt: skip
    value_rows = post_rows + 2 * post_counts + 5 + 2 * rank
    data, ends = laid_out(
        int((4 * counts + 5).sum()), cells, used, cell_rows, chosen.values, value_rows,
        chosen.value_sizes, term_heads(chosen, True), term_rows,
    )  # fmt: skip
    ends = ends[term_rows + 4 * counts + 4]
    starts = np.append(0, ends[:-1])
    return list(map(data.__getitem__, map(slice, starts.tolist(), ends.tolist())))


def _cells(chosen: Chosen) -> tuple[Any, Any]:
    """The opcode rows and the bytes each uses: every posting's document number, then every
    weight, every value header, then each term's four fixed rows."""
    counts, nterms, nposts = chosen.counts, len(chosen.counts), len(chosen.docnums)
    cells = np.zeros((3 * nposts + 4 * nterms, _CELL), dtype=np.uint8)
    used = np.zeros(len(cells), dtype=np.int64)
    int_cells(cells[: 2 * nposts], used[: 2 * nposts], np.append(chosen.docnums, chosen.weights))
    headers = slice(2 * nposts, 3 * nposts)
    bytes_header_cells(cells[headers], used[headers], chosen.value_sizes)
    marked = counts > 3  # a tuple of more than three items opens with MARK
    close = closing(counts)
    proto, first_close, second_close, last = (3 * nposts + k * nterms for k in range(4))
    cells[proto : proto + nterms, 0:3] = (*PROTO, MARK)
    used[proto : proto + nterms] = 2 + marked
    for start in (first_close, second_close):
        cells[start : start + nterms, 0] = close
        cells[start : start + nterms, 1] = MARK
        used[start : start + nterms] = 1 + marked
    cells[last : last + nterms, 0] = close
    cells[last : last + nterms, 1:3] = (TUPLE3, STOP)  # the outer tuple, the pickle's end
    used[last : last + nterms] = 3
    return cells, used
