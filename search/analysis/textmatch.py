"""Finding typed words in stored text with one regular expression per query, accents ignored.

Highlights and the rewards read off stored text (pairs side by side in a body, a title that
opens with the typed words, a remembered run of words) look at every hit's text. Running that
text through the analysis chain would cost more than the rest of a search.
Here the folded query words become one pattern whose letters are classes of every letter that
folds to them ("da" -> [DdĐđ][AaÀàÁá...]); the stored text is searched as it is, in C, and the
offsets are the text's own. One pattern serves every purpose, because compiling is the dear
part: pairs, openings and runs are read off the sequence of matches.

The classes come from the chain's own folding (`fold_term`), one letter at a time, over the
letters of Vietnamese and Latin-1. Stored text is NFC (the indexer normalizes it), so combining
marks are not looked for. A letter outside those sets, or one that folds to two (æ -> ae), is
in no class: a bounded loss for highlights and ranking rewards. A number's digits may be
separated by . or , ("50000" finds "50.000") and a word's letters by dots ("tphcm" finds
"TP.HCM"), as the chain reads numbers and dotted abbreviations (unlike the chain, a dotted run
such as "abcd.e" is read as one word too). A number written with separators ends a word even
when a letter follows it ("50.000đ" is "50000" then "đ", as the chain reads it): such texts are
searched piece by piece, cut after each such number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from search.analysis.chains import fold_term
from search.analysis.tokenizer import TOKEN_PATTERN

# Latin-1's letters and Vietnamese's (the precomposed vowels with tones, đ, ă, ơ, ư, ĩ, ũ).
_LETTERS = (
    "".join(chr(c) for c in range(0xC0, 0x100) if chr(c).isalpha())
    + "ĂăĐđĨĩŨũƠơƯư"
    + "".join(chr(c) for c in range(0x1EA0, 0x1EFA))
)
_AFTER = r"(?![^\W_])"  # not inside a word (underscores split words)
_GAP = re.compile(r"[\W_]*")  # what may separate two words side by side
_GLUED_NUMBER = re.compile(r"\d[.,]\d+[^\W\d_]")  # "50.000đ": worth a closer look
_SEPARATED_NUMBER = re.compile(r"\d+(?:[.,]\d+)+")


def _letter_members() -> dict[str, str]:
    """Each ASCII letter -> every letter above (and itself) folding to it."""
    members = {letter: {letter, letter.upper()} for letter in "abcdefghijklmnopqrstuvwxyz"}
    for char in _LETTERS:
        folded = fold_term(char.lower())
        if folded in members:
            members[folded].add(char)
    return {key: "".join(sorted(chars)) for key, chars in members.items()}


def char_class(chars: str) -> str:
    """A pattern matching one of the characters, written to compile fast.

    Python's compiler turns a class holding characters past Latin-1 and more than two runs
    of code points into a table of 65,536 entries: about 0.1 ms a class, most of the compile
    time of a query's patterns, which are new for nearly every query. A class of Latin-1
    characters, or of two runs at most, compiles in microseconds. So the class is written as
    such parts, alternatives of one character each; `{1}` keeps the parser from merging them
    back into one class."""
    low = re.escape("".join(c for c in chars if ord(c) < 256))
    runs: list[list[str]] = []
    for char in sorted(c for c in chars if ord(c) >= 256):
        if runs and ord(char) == ord(runs[-1][-1]) + 1:
            runs[-1].append(char)
        else:
            runs.append([char])
    if not runs:
        return f"[{low}]"
    spans = [run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs]
    parts = [f"[{low}]"] if low else []
    parts += [f"[{''.join(spans[i : i + 2])}]{{1}}" for i in range(0, len(spans), 2)]
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


_MEMBERS = _letter_members()
_CLASSES = {letter: char_class(chars) for letter, chars in _MEMBERS.items()}


def word_pattern(folded: str, prefix: bool = False) -> str:
    """A pattern for a folded word anywhere its accents or case differ (`prefix`: any word
    that starts with it)."""
    first, rest = _opening(folded, prefix)
    return _first_letter(first) + rest


def _opening(folded: str, prefix: bool = False) -> tuple[str, str]:
    """The word cut after its first letter: (the characters that may write that letter, the
    pattern of the rest)."""
    more = r"[^\W_]*" if prefix else ""
    if folded.isdigit():
        return folded[0], "".join("[.,]?" + digit for digit in folded[1:]) + more
    classes = [_CLASSES.get(ch) or re.escape(ch) for ch in folded[1:]]
    return _MEMBERS.get(folded[0], folded[0]), "".join(r"\.?" + c for c in classes) + more


def _first_letter(chars: str) -> str:
    """The pattern of a word's first letter, from `_opening`'s characters."""
    return char_class(chars) if len(chars) > 1 else re.escape(chars)


def _any_of(words: list[tuple[str, str]]) -> str:
    """A pattern matching any of these words (`_opening`s), the first matching in order.

    It opens on one class holding every first letter, then tells the words apart by that
    letter (a look-behind). Python's regex engine skips straight to the characters that may
    open a match only when the pattern opens on a class or a literal; opening on an
    alternation of classes, or on an assertion, it tries every character of the text: twice
    as slow on bodies."""
    if not words:
        return "(?!)"  # nothing to find: never matches
    letters = sorted(set("".join(first for first, _ in words)))
    alternatives = "|".join(f"(?<={_first_letter(first)}){rest}" for first, rest in words)
    opening = "[" + "".join(re.escape(c) for c in letters) + "]"
    return f"{opening}{_OPENS_WORD}(?:{alternatives})"


_OPENS_WORD = r"(?<![^\W_].)"  # after a word's first letter: no letter or digit before it


def words_regex(words: frozenset[str], prefixes: tuple[str, ...] = ()) -> re.Pattern[str]:
    """Matches any of the folded words, or a word starting with one of the prefixes."""
    # One memo key however it is called: the rerank and the highlighter ask for the same
    # words, and a compile costs about a millisecond for a query of eight words.
    return _words_regex(words, prefixes)


# A memo of a pure text function (a compiled regex, depends on no index), bounded.
@lru_cache(maxsize=1024)
def _words_regex(words: frozenset[str], prefixes: tuple[str, ...]) -> re.Pattern[str]:
    longest_first = sorted(words, key=lambda w: (-len(w), w))
    openings = [_opening(w) for w in longest_first] + [_opening(p, True) for p in prefixes]
    return re.compile(_any_of(openings) + _AFTER)


# A memo of a pure text function (a compiled regex, depends on no index), bounded.
@lru_cache(maxsize=256)
def run_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    """Matches the folded words side by side, in order: a whole run in one C-level search
    (for looking through many long texts, where `runs` would step through every match)."""
    rest = "".join(r"[\W_]+" + word_pattern(w) for w in words[1:])
    return re.compile(_any_of([_opening(words[0])]) + rest + _AFTER)


def _number_ends(text: str) -> list[int]:
    """Where the chain ends a word between a separated number and the letter after it.

    The text is tokenized only around such places: from the space before each one (no token
    holds a space, so the chain's tokens read on from there as from the text's start) to the
    token that holds the number."""
    ends: list[int] = []
    done = 0  # tokenized up to here
    for glued in _GLUED_NUMBER.finditer(text):
        if glued.start() < done:
            continue
        start = max(done, text.rfind(" ", 0, glued.start()) + 1)
        for token in TOKEN_PATTERN.finditer(text, start):
            done = token.end()
            if done < len(text) and _SEPARATED_NUMBER.fullmatch(token.group()):
                ends.append(done)
            if done >= glued.end() - 1:
                break
    return ends


def _matches(text: str, regex: re.Pattern[str]) -> Iterator[tuple[int, int, str]]:
    """(start, end, matched text) of the regex's matches, the text cut where the chain ends a
    word that the regex's word boundaries would not."""
    start = 0
    for end in [*_number_ends(text), len(text)]:
        piece = text[start:end] if start or end < len(text) else text
        for match in regex.finditer(piece):
            yield start + match.start(), start + match.end(), match.group()
        start = end


def find_words(text: str, regex: re.Pattern[str]) -> list[tuple[int, int]]:
    """Character spans of the regex's matches in the text."""
    return [(start, end) for start, end, _ in _matches(text, regex)]


def runs(text: str, regex: re.Pattern[str]) -> list[tuple[int, list[str]]]:
    """The matches grouped into runs of words side by side: (start of the run, its folded
    words), in text order."""
    found: list[tuple[int, list[str]]] = []
    end = -1
    for start, match_end, word in _matches(text, regex):
        if found and _GAP.fullmatch(text, end, start):
            found[-1][1].append(_folded(word))
        else:
            found.append((start, [_folded(word)]))
        end = match_end
    return found


# A memo of a pure text function, bounded: a search folds the same few spellings of the
# typed words in every text it reads (folding runs the analysis chain's transliterator).
@lru_cache(maxsize=8192)
def _folded(word: str) -> str:
    return fold_term(word.lower())


def pairs_side_by_side(found: list[tuple[int, list[str]]]) -> set[tuple[str, str]]:
    """Every pair of words side by side in these runs."""
    return {pair for _, words in found for pair in zip(words, words[1:], strict=False)}


def opens_with(text: str, found: list[tuple[int, list[str]]], words: list[str]) -> bool:
    """Whether the text starts with the words, side by side (`found`: its runs)."""
    if not found or not _GAP.fullmatch(text, 0, found[0][0]):
        return False
    return found[0][1][: len(words)] == words


def holds_run(found: list[tuple[int, list[str]]], words: tuple[str, ...]) -> bool:
    """Whether the words occur side by side, in order, somewhere in these runs."""
    size = len(words)
    for _, run in found:
        for i in range(len(run) - size + 1):
            if tuple(run[i : i + size]) == words:
                return True
    return False
