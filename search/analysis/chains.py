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
    return [token.text for token in _EXACT(text, mode="query")]


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
