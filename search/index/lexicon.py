"""The index's own vocabulary, for suggestions and autocomplete.

Diacritics are restored from what the archive itself writes: every accented syllable of the
exact `title` and `summary` fields, grouped by its folded form ("duong" -> "đường", "dương",
"đương", ...). The syllable lexicon is small (syllables, not words), so the grouping is built
once per index generation and kept in the index's caches, shared by all its searchers.
Frequencies are read from the index when needed and remembered for the same generation: a
suggestion looks at a few dozen terms, never the whole lexicon.
"""

from __future__ import annotations

import time
import unicodedata
from collections import Counter
from itertools import islice

from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from search.analysis.chains import fold_term
from search.analysis.syllables import place_tone
from search.analysis.tokenizer import BIGRAM_SEPARATOR
from search.index.caches import caches_of, generation

# Fields whose terms are syllables in their exact (accented) and folded forms, and their pairs.
SYLLABLE_FIELDS = ("title", "summary")
FOLDED_FIELDS = ("title_folded", "summary_folded")
PAIR_FIELDS = ("title_bigram", "summary_bigram")
FOLDED_PAIR_FIELDS = ("title_bigram_folded", "summary_bigram_folded")

_MAX_REMEMBERED = 300_000  # doc frequencies kept per generation before starting over
_VIET_LETTERS = "aăâeêioôơuưy"
_TONES = "\u0300\u0301\u0303\u0309\u0323"


def _fold_table() -> dict[int, str]:
    """Per-letter folding of the Vietnamese alphabet: a fast path for building the lexicon."""
    letters = {"đ"}
    for vowel in _VIET_LETTERS:
        letters.add(vowel)
        letters.update(unicodedata.normalize("NFC", vowel + tone) for tone in _TONES)
    return {ord(letter): fold_term(letter) for letter in letters if not letter.isascii()}


_FOLD_TABLE = _fold_table()


def quick_fold(term: str) -> str:
    """`fold_term` for lowercase terms, without ICU for Vietnamese letters (same result)."""
    if term.isascii():
        return term
    folded = term.translate(_FOLD_TABLE)
    return folded if folded.isascii() else fold_term(term)


class Lexicon:
    """Folded syllable -> accented spellings, plus remembered doc frequencies."""

    def __init__(self, spellings: dict[str, tuple[str, ...]]) -> None:
        self._spellings = spellings
        self._df: dict[tuple[str, str], int] = {}

    def __len__(self) -> int:
        return len(self._spellings)

    def spelling_table(self) -> dict[str, tuple[str, ...]]:
        """Folded syllable -> spellings, shared (not copied) with a lexicon built on it."""
        return self._spellings

    def __contains__(self, folded: object) -> bool:
        return folded in self._spellings

    def spellings(self, folded: str) -> tuple[str, ...]:
        """Every spelling of a folded syllable seen in titles or summaries (may be empty)."""
        return self._spellings.get(folded, ())

    def has_spelling(self, term: str) -> bool:
        """Whether this exact (accented) syllable occurs in titles or summaries."""
        return term in self._spellings.get(quick_fold(term), ())

    def doc_frequency(self, reader: IndexReader, fields: tuple[str, ...], term: str) -> int:
        """Documents containing `term`, summed over `fields` (remembered per generation)."""
        key = (fields[0], term)
        found = self._df.get(key)
        if found is None:
            found = sum(reader.doc_frequency(name, term) for name in fields)
            if len(self._df) >= _MAX_REMEMBERED:
                self._df.clear()
            self._df[key] = found
        return found

    def syllable_frequency(self, reader: IndexReader, term: str) -> int:
        """Titles plus summaries holding this accented syllable."""
        return self.doc_frequency(reader, SYLLABLE_FIELDS, term)

    def pair_frequency(self, reader: IndexReader, first: str, second: str) -> int:
        """Titles plus summaries holding the two accented syllables side by side."""
        return self.doc_frequency(reader, PAIR_FIELDS, first + BIGRAM_SEPARATOR + second)

    def folded_frequency(self, reader: IndexReader, folded: str) -> int:
        """Titles plus summaries holding the syllable in any spelling."""
        return self.doc_frequency(reader, FOLDED_FIELDS, folded)

    def folded_pair_frequency(self, reader: IndexReader, first: str, second: str) -> int:
        """Titles plus summaries holding the two folded syllables side by side."""
        return self.doc_frequency(reader, FOLDED_PAIR_FIELDS, first + BIGRAM_SEPARATOR + second)


def build_lexicon(reader: IndexReader) -> Lexicon:
    """Group the alphabetic syllables of titles and summaries by folded form."""
    groups: dict[str, set[str]] = {}
    for name in SYLLABLE_FIELDS:
        if name not in reader.schema:
            continue
        for term in reader.field_terms(name):
            if term.isalpha():
                groups.setdefault(quick_fold(term), set()).add(term)
    return Lexicon({folded: tuple(sorted(terms)) for folded, terms in groups.items()})


LEXICON_MAX_AGE = 120.0
LEXICON_CHEAP_SECONDS = 0.05


def get_lexicon(searcher: Searcher) -> Lexicon:
    """The lexicon of the searcher's index, built on first use.

    When building it is dear (over LEXICON_CHEAP_SECONDS, as on a large archive after every
    commit of an import), an older generation's lexicon serves for up to LEXICON_MAX_AGE
    seconds: it holds which accented spellings exist, which a few new articles hardly
    change. A small index always gets its current lexicon.
    """
    cache = caches_of(searcher).lexicon
    current = generation(searcher)
    with cache.build_lock:
        # (generation, built at, seconds it took, lexicon)
        cached: tuple[int | None, float, float, Lexicon] | None = cache.get(())
        if cached is not None and cached[0] != current:
            _, built_at, took, _ = cached
            if took < LEXICON_CHEAP_SECONDS or time.monotonic() - built_at > LEXICON_MAX_AGE:
                cached = None
        if cached is None:
            started = time.monotonic()
            lexicon = build_lexicon(searcher.reader())
            cached = (current, started, time.monotonic() - started, lexicon)
            cache.put((), cached)
    return cached[3]


def prefix_counts(reader: IndexReader, fieldname: str, prefix: str, budget: int) -> Counter[str]:
    """Documents per term, for the terms of a field starting with `prefix`.

    Reads each segment's sorted term list, whose entries carry their statistics: about 10x
    cheaper than `MultiReader.iter_prefix`, which probes every segment for every term. At most
    `budget` entries are read in all, largest segments first, so a short prefix stays cheap.
    """
    counts: Counter[str] = Counter()
    leaves = sorted((leaf for leaf, _ in reader.leaf_readers()), key=lambda r: -r.doc_count_all())
    for leaf in leaves:
        for text, info in islice(leaf.iter_prefix(fieldname, prefix), max(0, budget)):
            counts[text.decode("utf-8") if isinstance(text, bytes) else text] += (
                info.doc_frequency()
            )
            budget -= 1
    return counts


def _letter_variants() -> dict[str, list[str]]:
    """Each plain vowel (and d) with every accented letter that folds to it."""
    variants: dict[str, list[str]] = {}
    for letter, folded in sorted(_FOLD_TABLE.items()):
        variants.setdefault(folded, [folded]).append(chr(letter))
    return variants


_VARIANTS = _letter_variants()


def accented_prefixes(folded: str) -> list[str]:
    """What every accented spelling of a syllable starting with `folded` starts with.

    The consonants up to the first vowel ("d" also as "đ"), then each spelling of that vowel:
    "ha" -> "ha", "há", "hà", ...; "ng" -> "ng"; "da" -> "da", ..., "đa", "đá", ...
    Scanning these prefixes of an accented field finds every match and little else.
    """
    end = next((i for i, c in enumerate(folded) if c in "aeiouy"), len(folded))
    onsets = [folded[:end]]
    if folded.startswith("d"):
        onsets.append("đ" + folded[1:end])
    if end == len(folded):
        return onsets
    return [onset + vowel for onset in onsets for vowel in _VARIANTS.get(folded[end], [])]


def accented_counts(
    reader: IndexReader, fieldname: str, heads: list[str], partial: str, budget: int
) -> Counter[str]:
    """Terms of an accented field (syllables, or pairs after one of `heads`) whose last
    syllable starts like `partial` without accents, and with its accents if it has some.

    Read from the accented field itself, so each spelling comes with its own count and nothing
    needs looking up; `budget` bounds the term entries read in all.
    """
    folded = quick_fold(partial)
    starts = [head + prefix for head in heads for prefix in accented_prefixes(folded)]
    share = max(1, budget // len(starts))
    counts: Counter[str] = Counter()
    for start in starts:
        for term, count in prefix_counts(reader, fieldname, start, share).items():
            last = term.rsplit(BIGRAM_SEPARATOR, 1)[-1]
            fits = partial.isascii() or last.startswith(partial)
            if fits and last.isalpha() and quick_fold(last).startswith(folded):
                counts[term] += count
    return counts


_TELEX_TONES = {"s": "\u0301", "f": "\u0300", "r": "\u0309", "x": "\u0303", "j": "\u0323"}
_TELEX_LETTERS = (
    ("uwow", "ươ"), ("uow", "ươ"), ("uw", "ư"), ("ow", "ơ"), ("aw", "ă"),
    ("aa", "â"), ("ee", "ê"), ("oo", "ô"), ("dd", "đ"), ("w", "ư"),
)  # fmt: skip


def telex_decode(word: str) -> str | None:
    """A syllable typed in Telex with the input method off, or None when there is no key.

    >>> telex_decode("vieejt"), telex_decode("ddaf"), telex_decode("nawxng"), telex_decode("nam")
    ('việt', 'đà', 'nẵng', None)
    """
    first_vowel = next((i for i, c in enumerate(word) if c in "aeiouy"), None)
    if first_vowel is None or not (word.isascii() and word.isalpha()):
        return None
    tone, body = "", word
    for i in range(len(word) - 1, first_vowel, -1):  # s f r x j are never final consonants
        if word[i] in _TELEX_TONES:
            tone, body = _TELEX_TONES[word[i]], word[:i] + word[i + 1 :]
            break
    for keys, letter in _TELEX_LETTERS:
        body = body.replace(keys, letter)
    if not tone:
        return body if body != word else None
    vowel = next(i for i, c in enumerate(body) if c in _VIET_LETTERS)
    return place_tone(unicodedata.normalize("NFC", body[: vowel + 1] + tone + body[vowel + 1 :]))


_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
MIN_TYPO_CHARS = 3
MAX_TYPO_CANDIDATES = 4


def typo_candidates(reader: IndexReader, lexicon: Lexicon, folded: str) -> list[str]:
    """The most frequent known folded syllables one edit away from an unknown one.

    Several are returned: "vagn" is one edit from "van" and "vang", and only its neighbours
    ("giá vagn") can tell which was meant. Own edits rather than `reader.terms_within`: a few
    hundred set lookups are cheaper than walking the term index. Words under 3 letters are
    left alone: at one edit from almost everything, a correction would be a guess.
    """
    if len(folded) < MIN_TYPO_CHARS or not folded.isascii():
        return []
    known = [word for word in _edits(folded) if word in lexicon]
    known.sort(key=lambda word: (-lexicon.folded_frequency(reader, word), word))
    return known[:MAX_TYPO_CANDIDATES]


def _edits(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    transposes = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in _ALPHABET}
    inserts = {a + c + b for a, b in splits for c in _ALPHABET}
    return (deletes | transposes | replaces | inserts) - {word}
