"""The postings of the texts' word fields as arrays: a few bytes a token until commit.

A word field (exact or folded syllables, with or without positions: body, body_folded, title,
...) keeps, for every token of every document, the term's number in the writer's vocabulary,
the document number and the position, appended in C (`TokenColumns.add`); a folded field
keeps the exact terms' numbers and folds the vocabulary once at commit. At commit
`FieldPostings` sorts the tokens by term with numpy and cuts them into postings (document,
frequency, and the positions encoded as Whoosh's Positions format encodes them, all postings
at once: `positions_values`). The pair fields and ID fields keep their dictionaries of lists
(search/index/bulk_fields.py): their terms are mostly found once.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from pickle import dumps
from typing import Any

import numpy as np
from whoosh.system import pack_uint

from search.analysis.chains import TermMemo

_PICKLE_BATCH = 1000  # pickle writes a long list's items in runs of this many
# Which terms are in one document (places in a list of term indexes), and their postings'
# document numbers, weights and values.
SinglePostings = tuple[list[int], list[int], list[float], list[bytes]]


class TermIds(dict[str, int]):
    """The writer's vocabulary: each term's number, given on first sight."""

    def __init__(self) -> None:
        super().__init__()
        self.terms: list[str] = []  # by number
        self._order: tuple[int, Any, list[str]] | None = None
        self._folded: tuple[int, Any, TermIds] | None = None

    def __missing__(self, term: str) -> int:
        number = self[term] = len(self.terms)
        self.terms.append(term)
        return number

    def order(self) -> tuple[Any, list[str]]:
        """Each term's rank in term order (by number), and the terms in that order."""
        if self._order is None or self._order[0] != len(self.terms):
            terms = self.terms
            ranks = np.empty(len(terms), dtype=np.int32)
            ranks[sorted(range(len(terms)), key=terms.__getitem__)] = np.arange(len(terms))
            self._order = (len(terms), ranks, sorted(terms))
        return self._order[1], self._order[2]

    def folded(self, memo: TermMemo) -> tuple[Any, TermIds]:
        """The folded terms' vocabulary, and each term's folded term's number there."""
        if self._folded is None or self._folded[0] != len(self.terms):
            folds = TermIds()
            numbers = np.array(list(map(folds.__getitem__, memo.folded(self.terms))), np.int32)
            self._folded = (len(self.terms), numbers, folds)
        return self._folded[1], self._folded[2]


class TokenColumns:
    """One word field's tokens in the documents added: the term numbers and positions of
    each text, and each text's document number and token count."""

    def __init__(
        self, vocabulary: TermIds, positions: bool, folded: bool, boost: float | None
    ) -> None:
        self.vocabulary = vocabulary
        self.folded = folded  # the terms are folded at commit
        self.boost = boost  # the field's boost; None: weight = frequency
        self.term_ids = array("i")
        self.positions: array[int] | None = array("i") if positions else None
        self.texts = array("i")  # document number of each text added
        self.counts = array("i")  # its number of tokens

    def __len__(self) -> int:
        return len(self.term_ids)

    def add(self, term_ids: array[int], positions: array[int], docnum: int) -> None:
        self.term_ids += term_ids
        if self.positions is not None:
            self.positions += positions
        self.texts.append(docnum)
        self.counts.append(len(term_ids))

    def forget(self, docnum: int) -> None:
        """Drop the tokens of the last document added, when it is `docnum`."""
        while self.texts and self.texts[-1] == docnum:
            count = self.counts.pop()
            self.texts.pop()
            if count:
                del self.term_ids[-count:]
                if self.positions is not None:
                    del self.positions[-count:]

    def docnums(self) -> Any:
        """The document number of each token."""
        return np.repeat(
            np.frombuffer(self.texts, dtype=np.int32), np.frombuffer(self.counts, dtype=np.int32)
        )


class FieldPostings:
    """A word field's postings at commit: its terms in order (`keys`), and each term's
    postings (document numbers, weights, values) as arrays, listed a term at a time."""

    def __init__(self, tokens: TokenColumns, memo: TermMemo) -> None:
        term_ids = np.frombuffer(tokens.term_ids, dtype=np.int32)
        vocabulary = tokens.vocabulary
        if tokens.folded:
            fold, vocabulary = vocabulary.folded(memo)
            term_ids = fold[term_ids]
        ranks, by_rank = vocabulary.order()
        token_ranks = ranks[term_ids]
        order = np.argsort(token_ranks, kind="stable")  # documents and positions stay in order
        token_ranks = token_ranks[order]
        docnums = tokens.docnums()[order]
        starts = _run_starts(token_ranks, docnums)
        self.docnums = docnums[starts]
        self.freqs = np.diff(np.append(starts, len(order)))
        self.weights = self.freqs * (1.0 if tokens.boost is None else tokens.boost)
        posting_ranks = token_ranks[starts]
        firsts = _run_starts(posting_ranks)
        self.keys = [by_rank[r].encode("utf-8") for r in posting_ranks[firsts].tolist()]
        self.bounds: list[int] = [*firsts.tolist(), len(starts)]
        self.values: tuple[bytes, Any, Any] | None = None  # Frequency: packed per term
        if tokens.positions is not None:
            positions = np.frombuffer(tokens.positions, dtype=np.int32)[order].astype(np.int64)
            deltas = np.diff(positions, prepend=0)
            deltas[starts] = positions[starts]
            self.values = positions_values(self.freqs, deltas)

    def __len__(self) -> int:
        return len(self.keys)

    def items(self) -> Iterator[tuple[bytes, tuple[list[int], list[float], list[bytes]]]]:
        """(term, its postings) of every term, in order."""
        for index, key in enumerate(self.keys):
            yield key, self.postings(index)

    def postings(self, index: int) -> tuple[list[int], list[float], list[bytes]]:
        """The document numbers, weights and values of the term at index."""
        start, end = self.bounds[index], self.bounds[index + 1]
        return (
            self.docnums[start:end].tolist(),
            self.weights[start:end].tolist(),
            self._values(start, end),
        )

    def _values(self, start: int, end: int) -> list[bytes]:
        if self.values is None:
            return list(map(_freq_bytes, self.freqs[start:end].tolist()))
        data, starts, ends = self.values
        return list(map(data.__getitem__, map(slice, starts[start:end], ends[start:end])))

    def single(self, indexes: list[int]) -> SinglePostings:
        """Which of the terms at indexes are in one document (their places in `indexes`), and
        that posting of each: document numbers, weights, values."""
        bounds = self.bounds
        where = [k for k, i in enumerate(indexes) if bounds[i + 1] - bounds[i] == 1]
        at = [bounds[indexes[k]] for k in where]
        if self.values is None:
            values = list(map(_freq_bytes, self.freqs[at].tolist()))
        else:
            data, starts, ends = self.values
            chosen = [slice(starts[j], ends[j]) for j in at]
            values = list(map(data.__getitem__, chosen))
        return where, self.docnums[at].tolist(), self.weights[at].tolist(), values


def _run_starts(*columns: Any) -> Any:
    """Where a run of equal rows (over the columns, all sorted together) starts."""
    size = len(columns[0])
    changes = np.zeros(size, dtype=bool)
    if size:
        changes[0] = True
    for column in columns:
        changes[1:] |= column[1:] != column[:-1]
    return np.flatnonzero(changes)


_FREQ_BYTES = [pack_uint(n) for n in range(256)]


def _freq_bytes(freq: int) -> bytes:
    return _FREQ_BYTES[freq] if freq < 256 else pack_uint(freq)


def positions_values(freqs: Any, deltas: Any) -> tuple[bytes, list[int], list[int]]:
    """The Positions format's value of each posting (`freqs[i]` positions, whose deltas follow
    one another in `deltas`, the first from 0): pack_uint(count) + dumps(deltas, 2), made for
    all postings at once, as one bytes and where each value starts and ends in it.

    A list of deltas pickles as `\\x80\\x02]q\\x00`, then each delta as K (one byte), M (two,
    little-endian) or J (four), between `(` and `e` (or one delta, then `a`), then `.`; a list
    of more than _PICKLE_BATCH deltas is pickled by pickle itself (it cuts it in runs)."""
    freqs = np.asarray(freqs, dtype=np.int64)
    deltas = np.asarray(deltas, dtype=np.int64)
    count = len(freqs)
    if not count:
        return b"", [], []
    opsize = np.where(deltas < 256, 2, np.where(deltas < 65536, 3, 5))
    op_ends = np.cumsum(opsize)
    token_starts = np.cumsum(freqs) - freqs
    many = freqs > 1
    ops = np.add.reduceat(opsize, token_starts)
    lengths = 11 + many + ops  # count 4, header 5, "(" when many, ops, tail 2
    ends = np.cumsum(lengths)
    starts = ends - lengths
    out = np.zeros(int(ends[-1]), dtype=np.uint8)
    out[starts[:, None] + np.arange(4)] = freqs.astype(">u4").view(np.uint8).reshape(-1, 4)
    for at, byte in enumerate(b"\x80\x02]q\x00", 4):
        out[starts + at] = byte
    out[starts[many] + 9] = ord("(")
    posting = np.repeat(np.arange(count), freqs)
    within = op_ends - opsize - (op_ends - opsize)[token_starts][posting]
    at = starts[posting] + 9 + many[posting] + within
    for size, code in ((2, "K"), (3, "M"), (5, "J")):
        chosen = opsize == size
        where = at[chosen]
        out[where] = ord(code)
        value = deltas[chosen]
        for byte in range(size - 1):
            out[where + 1 + byte] = (value >> (8 * byte)) & 0xFF
    out[ends - 2] = np.where(many, ord("e"), ord("a"))
    out[ends - 1] = ord(".")
    data = out.tobytes()
    starts_list, ends_list = starts.tolist(), ends.tolist()
    long_runs = np.flatnonzero(freqs > _PICKLE_BATCH).tolist()
    if long_runs:  # appended after the rest, pointed to instead
        pieces = [data]
        size = len(data)
        for i in long_runs:
            run = deltas[token_starts[i] : token_starts[i] + freqs[i]].tolist()
            piece = pack_uint(len(run)) + dumps(run, 2)
            starts_list[i], ends_list[i] = size, size + len(piece)
            size += len(piece)
            pieces.append(piece)
        data = b"".join(pieces)
    return data, starts_list, ends_list
