"""Known-item queries made from the corpus's own articles, in the styles readers type.

Every style is a maker: (article, seeded random) -> query text, or None when the article
cannot give one. The query generation never imports `search.analysis` (the tone swap and the
folding are written again here and in common.py), so it cannot share a bug with what it
tests.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from common import Doc, strip_accents

STYLES = ("slug4", "slug7", "nfd", "half", "passage")
# Not in the table, so not run by default (`--styles middle,typo`): other ways readers
# type, to check that tuning on the five above did not overfit them.
EXTRA_STYLES = ("middle", "typo", "words", "extra", "extra3", "extra-all", "folded", "summary")

_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền, sắc, ngã, hỏi, nặng
_OPEN_PAIR = re.compile(r"([bcdđghklmnpqrstvx]*)(oa|oe|uy)")
_SLUG_ID = re.compile(r"-\d+$")
_WORD = re.compile(r"[^\W_]+")
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def slug_words(url: str) -> list[str]:
    """The words of a URL's accent-free slug: last path segment without extension and id."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    segments = [s for s in path.split("/") if s]
    if len(segments) < 2:  # a bare domain has no slug
        return []
    slug = re.sub(r"\.html?$", "", segments[-1])
    slug = _SLUG_ID.sub("", slug)
    return [w for w in slug.lower().split("-") if w]


def swap_tone_style(word: str) -> str:
    """Move the tone of an oa/oe/uy open syllable to the other vowel: hòa <-> hoà, thủy <-> thuỷ.

    qu + y keeps its tone on y (quý is written one way), as do syllables with a final
    consonant (hoàng, thuyết) or a third vowel (ngoài, khuỷu).
    """
    word = unicodedata.normalize("NFC", word)
    tones = [c for c in unicodedata.normalize("NFD", word) if c in _TONES]
    if len(tones) != 1:
        return word
    letters = [
        unicodedata.normalize(
            "NFC", "".join(c for c in unicodedata.normalize("NFD", ch) if c not in _TONES)
        )
        for ch in word
    ]
    match = _OPEN_PAIR.fullmatch("".join(letters).lower())
    if match is None or match.group(1).endswith("q"):
        return word
    first = len(match.group(1))
    toned = [i for i, ch in enumerate(word) if set(unicodedata.normalize("NFD", ch)) & _TONES]
    if toned == [first]:
        target = first + 1
    elif toned == [first + 1]:
        target = first
    else:
        return word
    letters[target] = unicodedata.normalize("NFC", letters[target] + tones[0])
    return "".join(letters)


@dataclass
class Query:
    style: str
    text: str
    target: str
    title: str
    answerable: bool = True  # every query word occurs in the article's text
    ranks: dict[str, int | None] = field(default_factory=dict)
    ms: dict[str, float] = field(default_factory=dict)
    top: list[str] = field(default_factory=list)  # vnsearch's top 3 ids
    error: str | None = None  # vnsearch refused the query


def _slug_query(size: int) -> Callable[[Doc, random.Random], str | None]:
    def make(doc: Doc, rng: random.Random) -> str | None:
        slug = slug_words(doc.url)
        if len(slug) < size or sum(w.isalpha() for w in slug[:size]) < 2:
            return None
        return " ".join(slug[:size])

    return make


def typed_words(text: str) -> list[str]:
    """Whitespace-separated words without their surrounding punctuation, the way a reader
    retypes a passage: "TP.HCM", "79.400" and "Covid-19" stay whole."""
    chunks = (_EDGES.sub("", chunk) for chunk in text.split())
    return [chunk for chunk in chunks if chunk]


def _nfd_query(doc: Doc, rng: random.Random) -> str | None:
    """The title as written, each oa/oe/uy open syllable in the other tone style, in NFD."""
    title = unicodedata.normalize("NFC", doc.title)
    swapped = _WORD.sub(lambda m: swap_tone_style(m.group()), title)
    if swapped == title:
        return None  # nothing to swap: the style would test NFD alone
    return unicodedata.normalize("NFD", swapped)


def _half_query(doc: Doc, rng: random.Random) -> str | None:
    """The title as written, diacritics removed from every other word (odd or even ones)."""
    typed = doc.title.split()
    parity = rng.randrange(2)
    half = [strip_accents(w) if i % 2 == parity else w for i, w in enumerate(typed)]
    if len(typed) < 2 or half == typed:
        return None
    return " ".join(half)


def _middle_query(doc: Doc, rng: random.Random) -> str | None:
    """5 consecutive accent-free title words that do not start the title."""
    plain = [strip_accents(w).lower() for w in typed_words(doc.title)]
    if len(plain) < 7:
        return None
    start = rng.randrange(1, len(plain) - 4)
    return " ".join(plain[start : start + 5])


def _words_query(doc: Doc, rng: random.Random) -> str | None:
    """Two 2-syllable runs of the title (most Vietnamese words are two syllables), the later
    one first, accent-free: the words a reader recalls of a headline, not its order."""
    plain = [strip_accents(w).lower() for w in typed_words(doc.title)]
    if len(plain) < 4:
        return None
    first = rng.randrange(len(plain) - 3)
    second = rng.randrange(first + 2, len(plain) - 1)
    return " ".join(plain[second : second + 2] + plain[first : first + 2])


def _typo_query(doc: Doc, rng: random.Random) -> str | None:
    """The first 5 accent-free title words, one word of 4+ letters with two letters swapped."""
    plain = [strip_accents(w).lower() for w in typed_words(doc.title)[:5]]
    long_words = [i for i, w in enumerate(plain) if len(w) >= 4 and w.isalpha()]
    if len(plain) < 5 or not long_words:
        return None
    i = rng.choice(long_words)
    at = rng.randrange(len(plain[i]) - 1)
    word = plain[i]
    swapped = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if swapped == word:
        return None
    plain[i] = swapped
    return " ".join(plain)


def _extra_query(size: int | None) -> Callable[[Doc, random.Random, list[Doc]], str | None]:
    """The first `size` accent-free title words (None: the whole title, 9 words or more) plus
    a word the article does not hold, taken from another article's title and put anywhere:
    a reader's misremembered or extra word."""

    def make(doc: Doc, rng: random.Random, pool: list[Doc]) -> str | None:
        plain = [strip_accents(w).lower() for w in typed_words(doc.title)][:size]
        donor = [strip_accents(w).lower() for w in typed_words(rng.choice(pool).title)]
        strangers = [w for w in donor if w.isalpha() and not answerable(doc, w)]
        if len(plain) < (size or 9) or not strangers:
            return None
        plain.insert(rng.randrange(len(plain) + 1), rng.choice(strangers))
        return " ".join(plain)

    return make


def _folded_query(doc: Doc, rng: random.Random) -> str | None:
    """The whole title accent-free and lowercase, punctuation kept: a long unaccented query."""
    folded = strip_accents(doc.title).lower()
    return folded if folded != doc.title.lower() else None


def _passage_of(field: str) -> Callable[[Doc, random.Random], str | None]:
    """6 consecutive words of the article's body or summary, accent-free and lowercase."""

    def make(doc: Doc, rng: random.Random) -> str | None:
        plain = [strip_accents(w).lower() for w in typed_words(getattr(doc, field))]
        if len(plain) < 6:
            return None
        start = rng.randrange(len(plain) - 5)
        return " ".join(plain[start : start + 6])

    return make


def answerable(doc: Doc, text: str) -> bool:
    """Whether every word of the query occurs, accent-free, in the article's own text."""
    held = set(_WORD.findall(strip_accents(f"{doc.title} {doc.summary} {doc.body}").lower()))
    return all(word in held for word in _WORD.findall(strip_accents(text).lower()))


MAKERS: dict[str, Callable[[Doc, random.Random], str | None]] = {
    "slug4": _slug_query(4),
    "slug7": _slug_query(7),
    "nfd": _nfd_query,
    "half": _half_query,
    "middle": _middle_query,
    "typo": _typo_query,
    "words": _words_query,
    "folded": _folded_query,
}
# Makers that draw on other articles of the sample too.
POOLED_MAKERS: dict[str, Callable[[Doc, random.Random, list[Doc]], str | None]] = {
    "extra": _extra_query(5),
    "extra3": _extra_query(3),
    "extra-all": _extra_query(None),
}
# The styles made from a field only some articles have: they draw from those articles alone.
DRAWN_FROM = {"passage": "body", "summary": "summary"}
MAKERS.update({style: _passage_of(field_name) for style, field_name in DRAWN_FROM.items()})


def make_queries(docs: list[Doc], styles: list[str], n: int, seed: int) -> list[Query]:
    """n queries per style from a fixed-seed sample; each style draws its own articles."""
    queries: list[Query] = []
    for style in styles:
        rng = random.Random(f"{seed}:{style}")
        field_name = DRAWN_FROM.get(style)
        pool = [d for d in docs if getattr(d, field_name)] if field_name else docs
        order = list(range(len(pool)))
        rng.shuffle(order)
        made = 0
        for i in order:
            if made >= n:
                break
            doc = pool[i]
            if style in POOLED_MAKERS:
                text = POOLED_MAKERS[style](doc, rng, pool)
            else:
                text = MAKERS[style](doc, rng)
            if text:
                queries.append(Query(style, text, doc.id, doc.title, answerable(doc, text)))
                made += 1
    return queries


def rank_of(ids: list[str], target: str) -> int | None:
    """Where the target stands in a ranked list of ids (1 = first), or None."""
    return ids.index(target) + 1 if target in ids else None
