"""The four analysis chains, and the term helpers the indexer and the query side share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

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
# each text once, as the function below does, a piece of text at a time (TermMemo below,
# search.index.bulk_arrays.TermIds.numbers), and derives the folded terms and the syllable
# pairs from its output. The chains above stay the definition: tests/test_bulkwrite.py holds
# these to `ExactAnalyzer()` (terms, positions and offsets) on a table and on generated text.


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


def text_pieces(text: str) -> list[str]:
    """A text's pieces between spaces, NFC: no token spans a space, so a text's terms are
    its pieces' terms in turn."""
    return normalize_text(text).split()


T = TypeVar("T")


def spliced(
    pieces: list[str], known: list[T | None], tokens_of: Callable[[str], Sequence[Sequence[T]]]
) -> tuple[list[T], list[int]]:
    """The terms and positions of a text's pieces, where `known` holds the one term of each
    piece that is one term and None for the others ("1.268", "TP.HCM", "-"), whose tokens'
    terms `tokens_of` gives: runs of one-term pieces are copied whole. A term may be a string
    or its number in a vocabulary."""
    terms: list[T] = []
    positions: list[int] = []
    start = pos = 0
    for at in [i for i, term in enumerate(known) if term is None]:
        run = known[start:at]
        terms += run  # type: ignore[arg-type]
        positions += range(pos, pos + len(run))
        pos += len(run)
        for token in tokens_of(pieces[at]):
            terms += token
            positions += [pos] * len(token)
            pos += 1
        start = at + 1
    run = known[start:]
    terms += run  # type: ignore[arg-type]
    positions += range(pos, pos + len(run))
    return terms, positions


def index_tokens(text: str) -> list[tuple[str, int, int, int]]:
    """`index_terms` with character offsets: (term, position, start, end) per token."""
    tokens = []
    for pos, match in enumerate(TOKEN_PATTERN.finditer(normalize_text(text))):
        for piece, start, end in match_pieces(match, "index"):
            tokens.append((_exact_term(piece), pos, start, end))
    return tokens


class TermMemo:
    """The terms of pieces of text, and folds of terms, for an indexer: what `index_terms`
    and `fold_term` give, remembered.

    Text is split at whitespace (no token spans it, so each piece is tokenized alone with the
    same result: `text_pieces`); most pieces are words seen before ("không", "Nẵng,"). The
    indexer looks a text's pieces up in its own table of term numbers
    (search.index.bulk_arrays.TermIds.numbers) and asks here only for the pieces it has not
    seen. Each table stops growing at `limit` entries: the words seen first are the frequent
    ones. tests/test_bulkwrite.py holds the results to `ExactAnalyzer()` and `fold_term`.
    """

    def __init__(self, limit: int = 400_000) -> None:
        self.limit = limit
        self._words: dict[str, str] = {}  # a piece of text that is one term: that term
        self._pieces: dict[str, tuple[tuple[str, ...], ...]] = {}  # others: each token's terms
        self._folds: dict[str, str] = {}  # exact term -> folded term

    def tokens(self, piece: str) -> tuple[tuple[str, ...], ...]:
        """The terms of each token of a piece of text."""
        word = self._words.get(piece)
        if word is not None:
            return ((word,),)
        tokens = self._pieces.get(piece)
        return self._learn(piece) if tokens is None else tokens

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
