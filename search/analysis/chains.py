"""The four analysis chains, and the term helpers the indexer and the query side share."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from whoosh.analysis import LowercaseFilter

from search.analysis.filters import BigramFilter, VietFoldFilter, VietNormalizeFilter
from search.analysis.syllables import place_tone
from search.analysis.tokenizer import (
    TOKEN_PATTERN,
    NfcTokenizer,
    match_pieces,
    normalize_text,
    word_pieces,
)


def ExactAnalyzer() -> Any:  # noqa: N802 - Whoosh's analyzer-factory naming
    """Accent-preserving syllables: NFC, lowercase, canonical tone placement."""
    return NfcTokenizer() | LowercaseFilter() | VietNormalizeFilter()


def FoldedAnalyzer() -> Any:  # noqa: N802
    """Accent-free syllables: what a reader typing without diacritics produces."""
    return ExactAnalyzer() | VietFoldFilter()


def ExactBigramAnalyzer() -> Any:  # noqa: N802
    """Adjacent accent-preserving syllable pairs."""
    return ExactAnalyzer() | BigramFilter()


def FoldedBigramAnalyzer() -> Any:  # noqa: N802
    """Adjacent accent-free syllable pairs."""
    return FoldedAnalyzer() | BigramFilter()


_EXACT = ExactAnalyzer()
_FOLD = VietFoldFilter()


def exact_terms(text: str) -> list[str]:
    """The exact-form terms of a query text, in order (numbers whole: "1.268" -> "1268")."""
    return [term for piece in normalize_text(text).split() for term in _query_terms(piece)]


# A memo of a pure text function, bounded: titles and queries repeat their pieces ("Nẵng,").
@lru_cache(maxsize=200_000)
def _query_terms(piece: str) -> tuple[str, ...]:
    """The chain's terms of one piece of text between spaces (no token spans a space, so a
    text's terms are its pieces'). A plain word is one term, whatever the mode: the chain,
    slower by a generator per step, reads only the others, once each."""
    if piece.isalnum():
        return (_exact_term(piece),)
    return tuple(token.text for token in _EXACT(piece, mode="query"))


def fold_term(term: str) -> str:
    """The folded form of one exact term."""
    return _FOLD.fold(term)


def folded_terms(text: str) -> list[str]:
    """The folded-form terms of a text, in order."""
    return [fold_term(term) for term in exact_terms(text)]


# The indexer's single pass (search/index/bulk_writer.py). Whoosh runs a chain as a generator
# per step and per field, and every text is indexed by up to four chains; the indexer instead reads
# each text once with the function below and derives the folded terms and the syllable pairs
# from its output. The chains above stay the definition: tests/test_bulkwrite.py holds this
# function to `ExactAnalyzer()` (terms, positions and offsets) on a table and on generated text.


# A memo of a pure text function (its answer depends on no index), bounded: an archive's
# distinct words are few next to its tokens.
@lru_cache(maxsize=500_000)
def _exact_term(piece: str) -> str:
    """What LowercaseFilter and VietNormalizeFilter make of one token's text."""
    term = piece.lower()
    if "ð" in term:
        term = term.replace("ð", "đ")
    return place_tone(term)


def index_terms(text: str) -> tuple[list[str], list[int]]:
    """The terms and positions `ExactAnalyzer()` gives a document text (index mode)."""
    exact = _exact_term
    terms: list[str] = []
    positions: list[int] = []
    add_term, add_pos = terms.append, positions.append
    for pos, word in enumerate(TOKEN_PATTERN.findall(normalize_text(text))):
        if word.isalnum():  # a whole word: one term
            add_term(exact(word))
            add_pos(pos)
            continue
        for piece, _, _ in word_pieces(word, 0, "index"):
            add_term(exact(piece))
            add_pos(pos)
    return terms, positions


def index_tokens(text: str) -> list[tuple[str, int, int, int]]:
    """`index_terms` with character offsets: (term, position, start, end) per token."""
    tokens = []
    for pos, match in enumerate(TOKEN_PATTERN.finditer(normalize_text(text))):
        for piece, start, end in match_pieces(match, "index"):
            tokens.append((_exact_term(piece), pos, start, end))
    return tokens


class TermMemo:
    """`index_terms` and folding for an indexer, remembering what each piece of text gave.

    Text is split at whitespace (no token spans it, so each piece is tokenized alone with the
    same result); most pieces are words seen before ("không", "Nẵng,"), and a text whose
    pieces are all known words becomes its terms with one dictionary lookup each, in C. Other
    pieces are tokenized once and remembered. Each table stops growing at `limit` entries:
    the words seen first are the frequent ones. tests/test_bulkwrite.py holds the results to
    `ExactAnalyzer()` and `fold_term`.
    """

    def __init__(self, limit: int = 400_000) -> None:
        self.limit = limit
        self._words: dict[str, str] = {}  # a piece of text that is one term: that term
        self._pieces: dict[str, tuple[tuple[str, ...], ...]] = {}  # others: each token's terms
        self._folds: dict[str, str] = {}  # exact term -> folded term

    def terms(self, text: str) -> tuple[list[str], list[int]]:
        """What `index_terms(text)` gives: the terms and their positions."""
        pieces = normalize_text(text).split()
        words = self._words
        terms: list[str | None] = list(map(words.get, pieces))
        if None not in terms:
            return terms, list(range(len(terms)))  # type: ignore[return-value]
        for piece in {p for p, t in zip(pieces, terms, strict=True) if t is None}:
            if piece not in self._pieces:
                self._learn(piece)
        terms = list(map(words.get, pieces))
        if None not in terms:  # new words, now known
            return terms, list(range(len(terms)))  # type: ignore[return-value]
        return self._with_other_pieces(pieces, terms)

    def _with_other_pieces(
        self, pieces: list[str], known: list[str | None]
    ) -> tuple[list[str], list[int]]:
        """terms() of a text with pieces that are not one term each (none, or several:
        "1.268", "TP.HCM", "-"): runs of one-term pieces are copied whole."""
        terms: list[str] = []
        positions: list[int] = []
        start = pos = 0
        for at in [i for i, term in enumerate(known) if term is None]:
            run = known[start:at]
            terms += run  # type: ignore[arg-type]
            positions += range(pos, pos + len(run))
            pos += len(run)
            tokens = self._pieces.get(pieces[at])
            if tokens is None:  # the tables are full
                tokens = self._learn(pieces[at])
            for token in tokens:
                terms += token
                positions += [pos] * len(token)
                pos += 1
            start = at + 1
        run = known[start:]
        terms += run  # type: ignore[arg-type]
        positions += range(pos, pos + len(run))
        return terms, positions

    def _learn(self, piece: str) -> tuple[tuple[str, ...], ...]:
        """The terms of each token of a piece of text, remembered while there is room."""
        tokens = tuple(
            (_exact_term(word),)
            if word.isalnum()
            else tuple(_exact_term(p) for p, _, _ in word_pieces(word, 0, "index"))
            for word in TOKEN_PATTERN.findall(piece)
        )
        if len(tokens) == 1 and len(tokens[0]) == 1:
            if len(self._words) < self.limit:
                self._words[piece] = tokens[0][0]
        elif len(self._pieces) < self.limit:
            self._pieces[piece] = tokens
        return tokens

    def folded(self, terms: list[str]) -> list[str]:
        """fold_term of each term."""
        folds = self._folds
        found: list[str | None] = list(map(folds.get, terms))
        if None not in found:
            return found  # type: ignore[return-value]
        out = []
        for term, fold in zip(terms, found, strict=True):
            if fold is None:
                fold = fold_term(term)
                if len(folds) < self.limit:
                    folds[term] = fold
            out.append(fold)
        return out
