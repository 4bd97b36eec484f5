"""Finding typed words in stored text with one regular expression, accents ignored.

Highlights and the body-pair reward read the stored text of every hit. Running that text through
the analysis chain cost ~3.5 µs a token: over half of a search on 156k articles. Here each
folded query word becomes a pattern whose letters are classes of every letter that folds to
them ("da" -> [dđĐD...][aàáảãạăằ...]), so the stored text is searched as it is, in C, and the
offsets are the text's own. The classes come from the chain's own folding (`fold_term`), one
letter at a time; a letter that folds to two (æ -> ae) is not in any class, a bounded loss for
highlights and a ranking reward. Combining marks may follow any letter, so NFD text matches
too; a number's digits may be separated by . or , ("50000" finds "50.000") and a word's
letters by dots ("tphcm" finds "TP.HCM", as the chain's dotted abbreviations do; unlike the
chain, a dotted run such as "abcd.e" is read as one word too).
"""

from __future__ import annotations

import re
from functools import lru_cache

from search.analysis import fold_term

# Latin letters a reader may meet in Vietnamese text: ASCII, Latin-1, Extended-A/B, and the
# Extended Additional block that holds the precomposed Vietnamese vowels with tones.
_LATIN_RANGES = ((0x41, 0x5B), (0x61, 0x7B), (0xC0, 0x250), (0x1E00, 0x1F00))
_MARKS = "[\u0300-\u036f]*"
_BEFORE, _AFTER = r"(?<![^\W_])", r"(?![^\W_])"  # not inside a word (underscores split words)


def _letter_classes() -> dict[str, str]:
    """Each ASCII letter or digit -> a regex class of every character folding to it."""
    members: dict[str, set[str]] = {}
    for low, high in _LATIN_RANGES:
        for codepoint in range(low, high):
            char = chr(codepoint)
            folded = fold_term(char.lower())
            if len(folded) == 1 and folded.isascii() and folded.isalnum():
                members.setdefault(folded, {folded}).add(char)
    return {key: "[" + re.escape("".join(sorted(chars))) + "]" for key, chars in members.items()}


_CLASSES = _letter_classes()


def word_pattern(folded: str, prefix: bool = False) -> str:
    """A pattern for a folded word anywhere its accents or case differ (`prefix`: any word
    that starts with it)."""
    if folded.isdigit():
        body = "[.,]?".join(folded)
    else:
        body = r"\.?".join(_CLASSES.get(ch, re.escape(ch)) + _MARKS for ch in folded)
    return body + (r"[^\W_]*" if prefix else "")


@lru_cache(maxsize=1024)
def words_regex(words: frozenset[str], prefixes: tuple[str, ...] = ()) -> re.Pattern[str]:
    """Matches any of the folded words, or a word starting with one of the prefixes."""
    longest_first = sorted(words, key=lambda w: (-len(w), w))
    parts = [word_pattern(w) for w in longest_first] + [word_pattern(p, True) for p in prefixes]
    return re.compile(_BEFORE + "(?:" + "|".join(parts) + ")" + _AFTER)


@lru_cache(maxsize=1024)
def run_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    """Matches the folded words side by side, in order (only non-word characters between)."""
    body = r"[\W_]+".join(word_pattern(w) for w in words)
    return re.compile(_BEFORE + body + _AFTER)


def pair_regex(first: str, second: str) -> re.Pattern[str]:
    """Matches two folded words side by side."""
    return run_regex((first, second))


@lru_cache(maxsize=1024)
def opening_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    """Matches a text that starts with the folded words, in order, side by side."""
    body = r"[\W_]+".join(word_pattern(w) for w in words)
    return re.compile(r"[\W_]*" + body + _AFTER)


def find_words(text: str, regex: re.Pattern[str]) -> list[tuple[int, int]]:
    """Character spans of the regex's matches in the text."""
    return [match.span() for match in regex.finditer(text)]
