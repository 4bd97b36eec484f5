"""The tokenizer: NFC text split into syllables, numbers and dotted abbreviations."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from whoosh.analysis import Token, Tokenizer

BIGRAM_SEPARATOR = "_"

# Digits grouped by "." or "," are one number, written without separators: "1.268" -> "1268",
# the way readers write it; abbreviations with dots likewise ("TP.HCM" -> "tphcm", and a team
# or age group "U.23" -> "u23", as readers and slugs write it). Documents
# also index the groups ("1", "268"; "tp", "hcm"), the way URL slugs and punctuation-stripped
# text write them. Queries keep numbers whole and read dotted words by their groups.
# Words may carry invisible joiners or soft hyphens inside them (copied from the web); they are
# kept inside the match and removed from the term.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
TOKEN_PATTERN = re.compile(
    rf"\d+(?:[.,]\d+)+"  # 1.268, 17,8
    r"|(?:[^\W\d_]{1,3}\.)+[^\W\d_]+"  # TP.HCM, U.S.A: abbreviations written with dots
    r"|[^\W\d_]{1,2}\.\d+(?![.,]\d)"  # U.23, U.19: an age group written with a dot
    rf"|[^\W_]+(?:[{_INVISIBLE}]+[^\W_]+)*"
)
_NUMBER_SEPARATORS = str.maketrans("", "", ".," + _INVISIBLE)
_GROUPS = re.compile(r"[^\W_]+")


def normalize_text(text: str) -> str:
    """NFC, the form every stored text and every query is compared in."""
    if unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


class NfcTokenizer(Tokenizer):
    """Split text into syllables, numbers and words, after NFC normalization.

    Normalizing inside the tokenizer matters: on decomposed text (about 2% of real articles)
    a word pattern splits "trường" at its combining marks. Character offsets point into the
    NFC text, which is what the indexer stores.
    """

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        text = normalize_text(value)
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            yield _whole_value_token(token, text, positions, chars, start_pos, start_char)
            return
        for pos, match in enumerate(TOKEN_PATTERN.finditer(text), start_pos):
            for piece, begin, end in match_pieces(match, mode):
                token.text = piece
                token.boost = 1.0
                token.stopped = False
                token.wordnum = pos  # BigramFilter's, also when positions are not asked for
                if keeporiginal:
                    token.original = piece
                if positions:
                    token.pos = pos
                if chars:
                    token.startchar = start_char + begin
                    token.endchar = start_char + end
                yield token


def match_pieces(match: re.Match[str], mode: str) -> list[tuple[str, int, int]]:
    """The terms of one matched word, with their character spans.

    "50.000" is the whole number "50000" and "TP.HCM" the word "tphcm"; in documents also
    their groups "50", "000" and "tp", "hcm" (the way slugs and punctuation-stripped text
    write them). The groups come first and share the word's position, so syllable pairs read
    on from the whole: 50000_đồng, tphcm_mở.
    """
    return word_pieces(match.group(), match.start(), mode)


def word_pieces(word: str, start: int, mode: str) -> list[tuple[str, int, int]]:
    """`match_pieces` of a word found at `start`."""
    end = start + len(word)
    if word.isalnum():
        return [(word, start, end)]
    whole = (word.translate(_NUMBER_SEPARATORS), start, end)
    groups = [(g.group(), start + g.start(), start + g.end()) for g in _GROUPS.finditer(word)]
    if mode == "query":  # a typed number is one number; typed "TP.HCM" is found as tp, hcm
        return [whole] if word[0].isdigit() else groups
    return [*groups, whole]


def _whole_value_token(
    token: Token, text: str, positions: bool, chars: bool, start_pos: int, start_char: int
) -> Token:
    """The untokenized form Whoosh asks for in some query paths."""
    token.original = token.text = text
    token.boost = 1.0
    if positions:
        token.pos = start_pos
    if chars:
        token.startchar = start_char
        token.endchar = start_char + len(text)
    return token
