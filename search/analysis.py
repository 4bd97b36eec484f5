"""Vietnamese analysis chains, shared by the indexer and the query side.

Four chains, each a Whoosh chain of small steps::

    ExactAnalyzer()        = NfcTokenizer() | LowercaseFilter() | VietNormalizeFilter()
    FoldedAnalyzer()       = ExactAnalyzer() | VietFoldFilter()
    ExactBigramAnalyzer()  = ExactAnalyzer() | BigramFilter()
    FoldedBigramAnalyzer() = FoldedAnalyzer() | BigramFilter()

"Exact" keeps the accents (one canonical tone placement), "folded" drops them and maps đ to d,
"bigram" emits adjacent syllable pairs ("hàng_không") so that multi-syllable words can be
rewarded without a dictionary.

The import path of these classes and their pickled state are part of the on-disk index format
(Whoosh pickles the schema into the table of contents): never rename them, and keep unpicklable
objects (ICU) out of `__getstate__`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from icu import Transliterator
from whoosh.analysis import Filter, LowercaseFilter, Token, Tokenizer

BIGRAM_SEPARATOR = "_"

# Digits grouped by "." or "," are one number, written without separators: "1.268" -> "1268",
# the way readers write it; abbreviations with dots likewise ("TP.HCM" -> "tphcm", and a team
# or age group "U.23" -> "u23", as readers and slugs write it). Documents
# also index the groups ("1", "268"; "tp", "hcm"), the way URL slugs and punctuation-stripped
# text write them. Queries keep numbers whole and read dotted words by their groups.
# Words may carry invisible joiners or soft hyphens inside them (copied from the web); they are
# kept inside the match and removed from the term.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_TOKEN_PATTERN = re.compile(
    rf"\d+(?:[.,]\d+)+"  # 1.268, 17,8
    r"|(?:[^\W\d_]{1,3}\.)+[^\W\d_]+"  # TP.HCM, U.S.A: abbreviations written with dots
    r"|[^\W\d_]{1,2}\.\d+(?![.,]\d)"  # U.23, U.19: an age group written with a dot
    rf"|[^\W_]+(?:[{_INVISIBLE}]+[^\W_]+)*"
)
_NUMBER_SEPARATORS = str.maketrans("", "", ".," + _INVISIBLE)
_GROUPS = re.compile(r"[^\W_]+")

# Combining tone marks (huyền, sắc, ngã, hỏi, nặng); the other marks (^, breve, horn) make letters.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_VOWELS = frozenset("aăâeêioôơuưy")
_SHAPED_VOWELS = frozenset("ăâêôơư")
_CONSONANTS = frozenset("bcdđghklmnpqrstvxfjwz")
_FINALS = frozenset(("", "c", "ch", "m", "n", "ng", "nh", "p", "t"))
_TONED_LETTERS = frozenset(
    unicodedata.normalize("NFC", vowel + mark) for vowel in _VOWELS for mark in _TONE_MARKS
)


def normalize_text(text: str) -> str:
    """NFC, the form every stored text and every query is compared in."""
    if unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def _split_syllable(base: str) -> tuple[str, str, str] | None:
    """Split an untoned lowercase syllable into onset, vowel nucleus and final consonant.

    "qu" and "gi" before a vowel are onsets ("quý", "già"). Returns None for anything that is
    not shaped like a Vietnamese syllable (English words, numbers), which is then left alone.
    """
    start = 0
    while start < len(base) and base[start] in _CONSONANTS:
        start += 1
    if base[:2] in ("qu", "gi") and start <= 1 and len(base) > 2 and base[2] in _VOWELS:
        start = 2
    end = start
    while end < len(base) and base[end] in _VOWELS:
        end += 1
    onset, nucleus, final = base[:start], base[start:end], base[end:]
    if not nucleus or final not in _FINALS:
        return None
    return onset, nucleus, final


def _tone_position(nucleus: str, final: str) -> int:
    """Index of the vowel that carries the tone, in the old (majority) style: hòa, thủy, khỏe."""
    shaped = [i for i, vowel in enumerate(nucleus) if vowel in _SHAPED_VOWELS]
    if shaped:
        return shaped[-1]  # người, muốn, chuyện, rượu: the last shaped vowel
    if final or len(nucleus) == 1:
        return len(nucleus) - 1  # hoàng, huỳnh, toán
    return 1 if len(nucleus) >= 3 else 0  # ngoài, khuỷu / hòa, mùa, tài


@lru_cache(maxsize=200_000)
def place_tone(syllable: str) -> str:
    """Put the tone mark of a lowercase syllable where the old style puts it.

    >>> place_tone("hoà"), place_tone("thuỷ"), place_tone("baỏ"), place_tone("lựơng")
    ('hòa', 'thủy', 'bảo', 'lượng')
    """
    if not any(letter in _TONED_LETTERS for letter in syllable):
        return syllable
    decomposed = unicodedata.normalize("NFD", syllable)
    tones = [mark for mark in decomposed if mark in _TONE_MARKS]
    if len(tones) != 1:
        return syllable
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    parts = _split_syllable(base)
    if parts is None:
        return syllable
    onset, nucleus, final = parts
    at = _tone_position(nucleus, final)
    toned = unicodedata.normalize("NFC", nucleus[at] + tones[0])
    return onset + nucleus[:at] + toned + nucleus[at + 1 :] + final


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
        for pos, match in enumerate(_TOKEN_PATTERN.finditer(text), start_pos):
            for piece, begin, end in _pieces(match, mode):
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


def _pieces(match: re.Match[str], mode: str) -> list[tuple[str, int, int]]:
    """The terms of one matched word, with their character spans.

    "50.000" is the whole number "50000" and "TP.HCM" the word "tphcm"; in documents also
    their groups "50", "000" and "tp", "hcm" (the way slugs and punctuation-stripped text
    write them). The groups come first and share the word's position, so syllable pairs read
    on from the whole: 50000_đồng, tphcm_mở.
    """
    return _word_pieces(match.group(), match.start(), mode)


def _word_pieces(word: str, start: int, mode: str) -> list[tuple[str, int, int]]:
    """`_pieces` of a word found at `start`."""
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
    then the whole ("tp", "hcm", "tphcm"; search.analysis._pieces). Neighbouring syllables
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


# The indexer's single pass (search/bulkwrite.py). Whoosh runs a chain as a generator per step
# and per field, and every text is indexed by up to four chains; the indexer instead reads
# each text once with the function below and derives the folded terms and the syllable pairs
# from its output. The chains above stay the definition: tests/test_bulkwrite.py holds this
# function to `ExactAnalyzer()` (terms, positions and offsets) on a table and on generated text.
_EXACT_TERMS: dict[str, str] = {}


def _exact_term(piece: str) -> str:
    """What LowercaseFilter and VietNormalizeFilter make of one token's text."""
    term = piece.lower()
    if "ð" in term:
        term = term.replace("ð", "đ")
    return place_tone(term)


def index_terms(text: str) -> tuple[list[str], list[int]]:
    """The terms and positions `ExactAnalyzer()` gives a document text (index mode)."""
    cache = _EXACT_TERMS
    terms: list[str] = []
    positions: list[int] = []
    add_term, add_pos = terms.append, positions.append
    for pos, word in enumerate(_TOKEN_PATTERN.findall(normalize_text(text))):
        term = cache.get(word)  # only whole words are cached
        if term is None:
            if not word.isalnum():
                for piece, _, _ in _word_pieces(word, 0, "index"):
                    add_term(_exact_term(piece))
                    add_pos(pos)
                continue
            term = _exact_term(word)
            if len(cache) < 500_000:
                cache[word] = term
        add_term(term)
        add_pos(pos)
    return terms, positions


def index_tokens(text: str) -> list[tuple[str, int, int, int]]:
    """`index_terms` with character offsets: (term, position, start, end) per token."""
    tokens = []
    for pos, match in enumerate(_TOKEN_PATTERN.finditer(normalize_text(text))):
        for piece, start, end in _pieces(match, "index"):
            tokens.append((_exact_term(piece), pos, start, end))
    return tokens
