"""How one document's fields become postings in memory, for search.index.bulk_writer.

The analysed fields of the four Vietnamese chains (search/analysis/chains.py) are read once per
text by a `TermMemo` (what `index_terms` gives, remembered per piece of text); folded terms and
syllable pairs are derived from that one pass. ID fields index their value as the one term.
Any other field is left to Whoosh (`fast_field` -> None).
"""

from __future__ import annotations

from array import array
from collections import Counter
from typing import Any

from whoosh.analysis import CompositeAnalyzer, IDTokenizer
from whoosh.fields import ID, TEXT
from whoosh.formats import Existence, Frequency, Positions
from whoosh.system import pack_uint

from search.analysis.chains import (
    ExactAnalyzer,
    ExactBigramAnalyzer,
    FoldedAnalyzer,
    FoldedBigramAnalyzer,
    TermMemo,
)
from search.analysis.filters import VietFoldFilter, pair_links
from search.analysis.tokenizer import BIGRAM_SEPARATOR
from search.index.bulk_arrays import SinglePostings, TermIds, TokenColumns
from search.index.compact_pickle import positions_value

# The four chains, and whether each makes syllable pairs (folding is read off the chain).
_CHAINS = (
    (ExactAnalyzer(), False),
    (FoldedAnalyzer(), False),
    (ExactBigramAnalyzer(), True),
    (FoldedBigramAnalyzer(), True),
)
_FREQ_BYTES = [pack_uint(n) for n in range(256)]
ONE_FREQUENCY = _FREQ_BYTES[1]  # the value of a Frequency posting found once


class Text:
    """One text's analysis, shared by the fields that index it (title and its twins)."""

    __slots__ = ("terms", "positions", "_memo", "_folded", "_links", "_arrays")

    def __init__(self, text: str, memo: TermMemo) -> None:
        self.terms, self.positions = memo.terms(text)
        self._memo = memo
        self._folded: list[str] | None = None
        self._links: list[tuple[int, int]] | None = None
        self._arrays: tuple[array[int], array[int]] | None = None

    def arrays(self, vocabulary: TermIds) -> tuple[array[int], array[int]]:
        """The terms' numbers in the vocabulary and the positions, as arrays (made once for
        the text's exact and folded fields)."""
        if self._arrays is None:
            term_ids = array("i", map(vocabulary.__getitem__, self.terms))
            self._arrays = (term_ids, array("i", self.positions))
        return self._arrays

    def pairs(self, terms: list[str]) -> tuple[list[str], list[int]]:
        """The syllable pairs of these terms (the text's, or their folds) and their positions.

        A dotted word's groups share its position (search.analysis.pair_links); most texts
        have none, and then every term pairs with the next.
        """
        positions = self.positions
        if not positions or positions[-1] == len(positions) - 1:  # no dotted word
            pairs = [a + BIGRAM_SEPARATOR + b for a, b in zip(terms, terms[1:], strict=False)]
            return pairs, positions[: len(pairs)]
        if self._links is None:
            self._links = pair_links(positions)
        pairs = [terms[a] + BIGRAM_SEPARATOR + terms[b] for a, b in self._links]
        return pairs, [positions[a] for a, _ in self._links]

    def folded(self) -> list[str]:
        """The terms folded (what VietFoldFilter makes of them)."""
        if self._folded is None:
            self._folded = self._memo.folded(self.terms)
        return self._folded


# How a field's postings are kept until commit: per term, a list of
#   TRIPLES      docnum, weight, value, docnum, weight, value, ...   (positions, other fields)
#   FREQUENCIES  docnums, each followed by -frequency when that is not 1  (Frequency fields)
#   DOCNUMS      docnums  (ID fields: weight = field boost, no value)
TRIPLES, FREQUENCIES, DOCNUMS = "triples", "frequencies", "docnums"


def columns(
    layout: str, found: list[Any], boost: float
) -> tuple[list[int], list[float], list[bytes]]:
    """The document numbers, weights and values of one term's postings."""
    if layout == TRIPLES:
        return found[0::3], [float(w) for w in found[1::3]], found[2::3]
    if layout == DOCNUMS:
        return found, [boost] * len(found), [b""] * len(found)
    if found[-1] >= 0 and min(found) >= 0:  # every frequency 1
        return found, [boost] * len(found), [_FREQ_BYTES[1]] * len(found)
    ids: list[int] = []
    freqs: list[int] = []
    for n in found:
        if n >= 0:
            ids.append(n)
            freqs.append(1)
        else:
            freqs[-1] = -n
    return ids, [f * boost for f in freqs], [_freq_bytes(f) for f in freqs]


def _freq_bytes(freq: int) -> bytes:
    return _FREQ_BYTES[freq] if freq < 256 else pack_uint(freq)


class FastField:
    """How to index one TEXT field whose analyzer is one of the four chains."""

    __slots__ = ("pairs", "positions", "boost", "fold", "single", "layout")

    def __init__(self, pairs: bool, field: Any) -> None:
        self.pairs = pairs
        self.positions = type(field.format) is Positions
        self.layout = TRIPLES if self.positions else FREQUENCIES
        boost = float(field.format.field_boost)
        self.boost: float | None = None if boost == 1.0 else boost  # None: weight = freq
        self.fold = any(isinstance(f, VietFoldFilter) for f in field.analyzer.items)
        self.single: dict[int, bytes] = {}  # encoded one-position lists, by position

    def add(self, text: Text, docnum: int, postings: Any) -> int:
        """Add the postings of one document's text; returns the field length (token count).

        A word field's tokens go to its TokenColumns as they are; for the pair fields, what
        Frequency.word_values and Positions.word_values make of the chain's tokens:
        weight = frequency x field boost, value = packed frequency or encoded positions.
        """
        if isinstance(postings, TokenColumns):
            postings.add(*text.arrays(postings.vocabulary), docnum)
            return len(text.terms)
        terms = text.folded() if self.fold else text.terms
        positions = text.positions
        if self.pairs:
            terms, positions = text.pairs(terms)
        boost = self.boost
        get = postings.get
        if not self.positions:  # layout FREQUENCIES
            if len(set(terms)) == len(terms):  # every term once: most texts' pairs
                for term in terms:
                    found = get(term)
                    if found is None:
                        postings[term] = [docnum]
                    else:
                        found.append(docnum)
                return len(terms)
            for term, freq in Counter(terms).items():
                found = get(term)
                if found is None:
                    postings[term] = [docnum] if freq == 1 else [docnum, -freq]
                elif freq == 1:
                    found.append(docnum)
                else:
                    found += (docnum, -freq)
            return len(terms)
        counts = Counter(terms)
        first = dict(zip(reversed(terms), reversed(positions), strict=True))
        lists: dict[str, list[int]] = {}
        if len(counts) < len(terms):  # some terms more than once: all their positions
            repeated = {term for term, count in counts.items() if count > 1}
            for term, pos in zip(terms, positions, strict=True):
                if term in repeated:
                    lists.setdefault(term, []).append(pos)
        single = self.single
        one = 1 if boost is None else boost
        for term, freq in counts.items():
            if freq == 1:
                pos = first[term]
                value = single.get(pos)
                if value is None:
                    value = single[pos] = _encode_positions([pos])
                weight = one
            else:
                value = _encode_positions(lists[term])
                weight = freq if boost is None else freq * boost
            found = get(term)
            if found is None:
                postings[term] = [docnum, weight, value]
            else:
                found += (docnum, weight, value)
        return len(terms)


class IdField:
    """How to index an ID field with Whoosh's own analyzer: the value is the one term."""

    __slots__ = ("weight", "layout")

    def __init__(self, field: Any) -> None:
        self.weight = float(field.format.field_boost)
        self.layout = DOCNUMS

    def add(self, value: str, docnum: int, postings: dict[Any, list[Any]]) -> int:
        found = postings.get(value)  # layout DOCNUMS
        if found is None:
            postings[value] = [docnum]
        else:
            found.append(docnum)
        return 0


class DictPostings:
    """A field's new postings kept in a dict of lists per term, with FieldPostings's
    interface (search.index.bulk_arrays): terms in order, postings by term index."""

    def __init__(self, postings: dict[Any, list[Any]], layout: str, boost: float) -> None:
        terms = sorted(postings)
        self.found = list(map(postings.__getitem__, terms))
        self.keys = [t if isinstance(t, bytes) else t.encode("utf-8") for t in terms]
        self.layout = layout
        self.boost = boost

    def postings(self, index: int) -> tuple[list[int], list[float], list[bytes]]:
        return columns(self.layout, self.found[index], self.boost)

    def single(self, indexes: list[int]) -> SinglePostings:
        """Which of the terms at indexes are in one document (their places in `indexes`), and
        that posting of each: document numbers, weights, values."""
        layout, found = self.layout, self.found
        size = 3 if layout == TRIPLES else 1
        where = [k for k, i in enumerate(indexes) if len(found[i]) == size]
        if layout == TRIPLES:
            docnums = [found[indexes[k]][0] for k in where]
            weights = [float(found[indexes[k]][1]) for k in where]
            values = [found[indexes[k]][2] for k in where]
        else:
            docnums = [found[indexes[k]][0] for k in where]
            weights = [self.boost] * len(where)
            values = [b"" if layout == DOCNUMS else ONE_FREQUENCY] * len(where)
        return where, docnums, weights, values


def forget_document(postings: Any, layout: str, docnum: int) -> None:
    """Drop the postings of the last document added, `docnum`, from a field's postings."""
    if isinstance(postings, TokenColumns):
        postings.forget(docnum)
        return
    for term in list(postings):
        found = postings[term]
        if layout == TRIPLES:
            if found[-3] == docnum:
                del found[-3:]
        else:
            if found[-1] < 0 and found[-2] == docnum:
                del found[-1]
            if found[-1] == docnum:
                del found[-1]
        if not found:
            del postings[term]


def _encode_positions(poslist: list[int]) -> bytes:
    """The Positions format's value of a posting at these positions (compact_pickle)."""
    return positions_value([b - a for a, b in zip([0, *poslist], poslist, strict=False)])


def fast_field(field: Any) -> FastField | IdField | None:
    if field.vector or field.separate_spelling():
        return None
    if type(field) is ID and type(field.analyzer) is IDTokenizer:
        return IdField(field) if type(field.format) is Existence else None
    if type(field) is not TEXT or type(field.format) not in (Frequency, Positions):
        return None
    if not isinstance(field.analyzer, CompositeAnalyzer):
        return None
    for analyzer, pairs in _CHAINS:
        if field.analyzer == analyzer:
            return FastField(pairs, field)
    return None
