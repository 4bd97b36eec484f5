"""The filters of the analysis chains: canonical tones, accent folding, syllable pairs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from icu import Transliterator
from whoosh.analysis import Filter, Token

from search.analysis.syllables import place_tone
from search.analysis.tokenizer import BIGRAM_SEPARATOR


class VietNormalizeFilter(Filter):
    """One spelling per syllable: the Eth look-alike read as đ, one tone-mark placement.

    Runs after lowercasing, so "Ð" (U+00D0) arrives here as "ð" (U+00F0).
    """

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            text = token.text
            if "ð" in text:
                text = text.replace("ð", "đ")
            token.text = place_tone(text)
            yield token


class VietFoldFilter(Filter):
    """All diacritics removed and đ -> d: "Đà Nẵng" -> "da nang".

    Uses ICU's Latin-ASCII rules (plain mark stripping leaves đ alone). The transliterator is
    not picklable, so it is rebuilt after unpickling from its rule string.
    """

    RULES = "NFD; [:Nonspacing Mark:] Remove; Latin-ASCII; Lower; NFC"

    def __init__(self) -> None:
        self._setup()

    def _setup(self) -> None:
        self._transliterator = Transliterator.createInstance(self.RULES)
        self._cache: dict[str, str] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if not key.startswith("_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._setup()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def fold(self, text: str) -> str:
        """The folded form of one term (cached: the vocabulary is small)."""
        folded = self._cache.get(text)
        if folded is None:
            folded = text if text.isascii() else self._transliterator.transliterate(text)
            if len(self._cache) < 500_000:
                self._cache[text] = folded
        return folded

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        fold = self.fold
        for token in tokens:
            token.text = fold(token.text)
            yield token


class BigramFilter(Filter):
    """Replace the syllable stream by its adjacent pairs: "hàng", "không" -> "hàng_không".

    A pair takes the position and start offset of its first syllable and the end offset of its
    second, so highlights cover both. A one-syllable text yields no pairs. A dotted word pairs
    with its neighbours both ways it can be typed (see `pair_links`).
    """

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        # (text, word number, position, start, end) of every syllable: a dotted word's pairs
        # reach back past its groups
        seen: list[tuple[str, int, int, int, int]] = []
        token = None
        for token in tokens:
            seen.append(
                (
                    token.text,
                    getattr(token, "wordnum", len(seen)),
                    getattr(token, "pos", 0),
                    getattr(token, "startchar", 0),
                    getattr(token, "endchar", 0),
                )
            )
        if token is None:
            return
        if token.mode == "query":  # a typed dotted word comes as its groups alone
            links = [(i, i + 1) for i in range(len(seen) - 1)]
        else:
            links = pair_links([word for _, word, _, _, _ in seen])
        for first, second in links:  # one token object, as Whoosh's own filters reuse theirs
            token.text = seen[first][0] + BIGRAM_SEPARATOR + seen[second][0]
            if token.positions:
                token.pos = seen[first][2]
            if token.chars:
                token.startchar, token.endchar = seen[first][3], seen[second][4]
            yield token


def pair_links(words: list[int]) -> list[tuple[int, int]]:
    """The syllable pairs of a token stream, as (first, second) token indexes.

    `words` gives each token's word number. Tokens of one word are a dotted word's groups,
    then the whole ("tp", "hcm", "tphcm"; search.analysis.match_pieces). Neighbouring syllables
    pair; a dotted word pairs with its neighbours both as written with spaces and as one word,
    since readers and slugs type it either way: "thị TP.HCM mới" gives thị_tp, thị_tphcm,
    tp_hcm, hcm_mới and tphcm_mới.
    """
    links: list[tuple[int, int]] = []
    forward: list[int] = []  # the previous word's tokens that pair with the next word
    i = 0
    while i < len(words):
        end = i + 1
        while end < len(words) and words[end] == words[i]:
            end += 1
        if end - i == 1:
            backward, ahead = [i], [i]
        else:  # groups i .. end-2, whole end-1
            backward, ahead = [i, end - 1], [end - 2, end - 1]
        links += [(a, b) for a in forward for b in backward]
        links += [(g, g + 1) for g in range(i, end - 2)]
        forward, i = ahead, end
    return links
