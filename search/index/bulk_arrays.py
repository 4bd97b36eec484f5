"""The postings of the texts' word fields as arrays: a few bytes a token until commit.

A word field (exact or folded syllables, with or without positions: body, body_folded, title,
...) keeps, for every token of every document, the term's number in the writer's vocabulary,
the document number and the position, appended in C (`TokenColumns.add`); a folded field
keeps the exact terms' numbers and folds the vocabulary once at commit. At commit
`FieldPostings` sorts the tokens by term with numpy and cuts them into postings (document,
frequency, and the positions as Whoosh's Positions format decodes them, all postings at
once: `positions_values`). The pair fields keep their tokens the same way
(search/index/pair_columns.py); ID and other fields keep dictionaries of lists
(search/index/bulk_fields.py).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any

import numpy as np
from whoosh.system import pack_uint

from search.analysis.chains import TermMemo, spliced, text_pieces
from search.index.posting_rows import PostingArrays, whole


class TermIds(dict[str, int]):
    """The writer's vocabulary: each term's number, given on first sight."""

    def __init__(self) -> None:
        super().__init__()
        self.terms: list[str] = []  # by number
        # pieces of text (search.analysis.chains.text_pieces) seen: the number of the one
        # term of each that is one term, each token's numbers for the others
        self._piece_numbers: dict[str, int] = {}
        self._piece_tokens: dict[str, tuple[tuple[int, ...], ...]] = {}
        self._order: tuple[int, Any, list[str]] | None = None
        self._folded: tuple[int, Any, TermIds] | None = None

    def __missing__(self, term: str) -> int:
        number = self[term] = len(self.terms)
        self.terms.append(term)
        return number

    def numbers(self, text: str, memo: TermMemo) -> tuple[array[int], array[int]]:
        """The numbers of a text's terms and their positions (the terms `index_terms`
        gives): one dictionary lookup a piece of text; a piece seen for the first time is
        read through the memo."""
        pieces = text_pieces(text)
        known = self._piece_numbers
        numbers: list[int | None] = list(map(known.get, pieces))
        if None in numbers:
            for piece in {p for p, n in zip(pieces, numbers, strict=True) if n is None}:
                if piece not in self._piece_tokens:
                    self._learn(piece, memo)
            numbers = list(map(known.get, pieces))
            if None in numbers:
                found, positions = spliced(pieces, numbers, self._piece_tokens.__getitem__)
                return array("i", found), array("i", positions)
        return array("i", numbers), array("i", range(len(numbers)))  # type: ignore[arg-type]

    def _learn(self, piece: str, memo: TermMemo) -> None:
        tokens = memo.tokens(piece)
        if len(tokens) == 1 and len(tokens[0]) == 1:
            self._piece_numbers[piece] = self[tokens[0][0]]
        else:
            self._piece_tokens[piece] = tuple(tuple(map(self.__getitem__, t)) for t in tokens)

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
                for column in self._token_columns():
                    del column[-count:]

    def _token_columns(self) -> list[array[int]]:
        """The arrays with a number per token."""
        return [self.term_ids] if self.positions is None else [self.term_ids, self.positions]

    def ranks(self, memo: TermMemo) -> tuple[Any, list[str]]:
        """Each token's term's rank in term order, and the terms in that order."""
        term_ids = np.frombuffer(self.term_ids, dtype=np.int32)
        vocabulary = self.vocabulary
        if self.folded:
            fold, vocabulary = vocabulary.folded(memo)
            term_ids = fold[term_ids]
        ranks, by_rank = vocabulary.order()
        return ranks[term_ids], by_rank

    def docnums(self) -> Any:
        """The document number of each token."""
        return np.repeat(
            np.frombuffer(self.texts, dtype=np.int32), np.frombuffer(self.counts, dtype=np.int32)
        )


class FieldPostings:
    """A word or pair field's postings at commit: its terms in order (`keys`), and each term's
    postings (document numbers, weights, values) as arrays, listed a term at a time."""

    def __init__(self, tokens: TokenColumns, memo: TermMemo) -> None:
        token_ranks, by_rank = tokens.ranks(memo)
        order = stable_order(token_ranks)  # documents and positions stay in order
        token_ranks = token_ranks[order]
        docnums = tokens.docnums()[order]
        starts = _run_starts(token_ranks, docnums)
        self.docnums = docnums[starts]
        self.freqs = np.diff(np.append(starts, len(order)))
        # whole weights as ints when there is no boost (search/index/compact_pickle.py)
        self.weights = self.freqs if tokens.boost is None else self.freqs * tokens.boost
        posting_ranks = token_ranks[starts]
        firsts = _run_starts(posting_ranks)
        self.keys = [by_rank[r].encode("utf-8") for r in posting_ranks[firsts].tolist()]
        self.bounds = np.append(firsts, len(starts))
        self.values: tuple[bytes, Any, Any] | None = None  # None: Frequency (the packed freq)
        if tokens.positions is not None:
            positions = np.frombuffer(tokens.positions, dtype=np.int32)[order]
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
            freqs = self.freqs[start:end].tolist()
            return list(map(freq_bytes, freqs))
        data, starts, ends = self.values
        chosen = map(slice, starts[start:end].tolist(), ends[start:end].tolist())
        return list(map(data.__getitem__, chosen))

    def arrays(self) -> PostingArrays | None:
        """The postings as arrays for inlined_infos; None when a weight is not whole."""
        weights = whole(self.weights)
        if weights is None:
            return None
        if self.values is None:  # Frequency: each value the frequency packed as "!I"
            packed = self.freqs.astype(">u4").view(np.uint8)
            starts = 4 * np.arange(len(self.freqs), dtype=np.int64)
            return PostingArrays(self.docnums, weights, packed, starts, starts + 4, self.bounds)
        data, starts, ends = self.values
        packed = np.frombuffer(data, np.uint8)
        return PostingArrays(self.docnums, weights, packed, starts, ends, self.bounds)


def stable_order(keys: Any) -> Any:
    """np.argsort(keys, kind="stable") for keys from 0 below 2**31: numpy's radix sort when they
    fit in 16 bits (a segment's words in a body field mostly do: a few tens of thousands of
    terms), else a plain sort of key and index packed in one 64-bit number (numpy's
    quicksort is vectorized, its stable sort of wider numbers is not)."""
    if not len(keys) or int(keys.max()) < 2**16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    packed = (keys.astype(np.int64) << 32) | np.arange(len(keys), dtype=np.int64)
    packed.sort()
    return packed & 0xFFFFFFFF


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


def freq_bytes(freq: int) -> bytes:
    """A Frequency posting's value: the frequency packed as "!I"."""
    return _FREQ_BYTES[freq] if freq < 256 else pack_uint(freq)


VALUES_CHUNK = 1 << 20  # postings whose values are made at a time


def positions_values(freqs: Any, deltas: Any, chunk: int = VALUES_CHUNK) -> tuple[bytes, Any, Any]:
    """The Positions format's value of each posting (`freqs[i]` positions, whose deltas follow
    one another in `deltas`, the first from 0), as compact_pickle.positions_value makes it,
    made for `chunk` postings at a time, as one bytes and where each value starts and ends."""
    freqs = np.asarray(freqs, dtype=np.int64)
    deltas = np.asarray(deltas, dtype=np.int64)
    token_starts = np.cumsum(freqs) - freqs
    pieces: list[bytes] = []
    lengths = []
    for first in range(0, len(freqs), chunk):
        some = freqs[first : first + chunk]
        tokens = int(token_starts[first])
        data, sizes = _encoded_positions(some, deltas[tokens : tokens + int(some.sum())])
        pieces.append(data)
        lengths.append(sizes)
    sizes = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
    ends = np.cumsum(sizes)
    return b"".join(pieces), ends - sizes, ends


_OP_CODES = np.array([0, 0, ord("K"), ord("M"), 0, ord("J")], dtype=np.uint8)  # by size
_STOP = ord(".")  # pickle's STOP
_CELL = 6  # the widest cell: a value's head, its count and `C` and the deltas' count


def _encoded_positions(freqs: Any, deltas: Any) -> tuple[bytes, Any]:
    """positions_values of some postings: their values one after the other, and their sizes.
    Each value is laid out as cells of at most _CELL bytes (the head, each delta, the tail),
    cells in order as rows of a matrix, then the bytes each cell uses are taken in order.
    A value whose deltas are fewer than 256 and each below 256 is a bytes object (head
    `C` and the count, a byte a delta, no tail but the stop byte after a last delta of 46,
    which the decoder would take for it), another a list (head `]` and `(` for more
    than one delta, each delta as pickle writes an int, tail `e` or `a`)."""
    count = len(freqs)
    many = freqs > 1
    token_starts = np.cumsum(freqs) - freqs
    wide = np.add.reduceat(deltas >= 256, token_starts) > 0 if count else np.zeros(0, bool)
    as_bytes = ~wide & (freqs < 256)
    token_bytes = np.repeat(as_bytes, freqs)
    opsize = np.where(token_bytes, 1, np.where(deltas < 256, 2, np.where(deltas < 65536, 3, 5)))
    heads = token_starts + 2 * np.arange(count)  # each value's head row, then its deltas'
    tails = heads + 1 + freqs
    delta_rows = np.arange(len(deltas)) + 1 + 2 * np.repeat(np.arange(count), freqs)
    cells = np.zeros((len(deltas) + 2 * count, _CELL), dtype=np.uint8)
    used = np.empty(len(cells), dtype=np.int64)
    cells[heads, 0:4] = freqs.astype(">u4").view(np.uint8).reshape(-1, 4)
    cells[heads, 4] = np.where(as_bytes, ord("C"), ord("]"))
    cells[heads, 5] = np.where(as_bytes, freqs & 255, ord("("))
    used[heads] = np.where(as_bytes | many, 6, 5)
    little = deltas.astype("<u4").view(np.uint8).reshape(-1, 4)
    cells[delta_rows, 0] = np.where(token_bytes, little[:, 0], _OP_CODES[opsize])
    cells[delta_rows, 1:5] = little
    used[delta_rows] = opsize
    stop = as_bytes & (deltas[token_starts + freqs - 1] == _STOP)
    cells[tails, 0] = np.where(as_bytes, _STOP, np.where(many, ord("e"), ord("a")))
    used[tails] = np.where(as_bytes, stop, 1)
    data = cells[np.arange(_CELL) < used[:, None]].tobytes()
    deltas_size = np.add.reduceat(opsize, token_starts) if count else 0
    sizes = np.where(as_bytes, 6 + stop, 6 + many) + deltas_size
    return data, sizes
