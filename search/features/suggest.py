"""Did-you-mean and autocomplete, from the index's own vocabulary."""

from __future__ import annotations

from dataclasses import dataclass

from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from search.analysis.chains import ExactAnalyzer, exact_terms
from search.analysis.tokenizer import BIGRAM_SEPARATOR, normalize_text
from search.execute.accents import restore, slot_options
from search.index.caches import caches_of, generation
from search.index.lexicon import (
    Lexicon,
    accented_counts,
    get_lexicon,
)

# Query words considered (a longer query keeps the rest as typed): bounds the work.
MAX_WORDS = 16
# Term entries (summed over index segments) read from the index for one autocomplete call.
MAX_SCAN = 6000

_ANALYZER = ExactAnalyzer()
_OPERATORS = frozenset(("OR", "AND", "NOT"))
_SCOPES = frozenset(("title", "author", "source", "category"))


@dataclass(frozen=True)
class _Word:
    """A word of the query: its exact term, where it was typed, and whether to leave it alone."""

    term: str
    start: int
    end: int
    protected: bool


def did_you_mean(searcher: Searcher, q: str, total: int) -> str | None:
    """A better spelling of `q` (accents restored, typos fixed), or None.

    Syllables the user accented are kept unless unknown to the index (a typo) or the query
    found nothing (`total == 0`), when their accents may be wrong too.
    """
    text = normalize_text(q)
    words = _query_words(text)[:MAX_WORDS]
    if not words:
        return None
    lexicon = get_lexicon(searcher)
    reader = searcher.reader()
    chosen = [w.term for w in words]
    for chain in _chains(words):
        terms = [words[i].term for i in chain]
        for i, term in zip(chain, restore(reader, lexicon, terms, free=total == 0), strict=True):
            chosen[i] = term
    if chosen == [w.term for w in words]:
        return None
    return _render(text, words, chosen)


def _query_words(text: str) -> list[_Word]:
    """The words of a query; operators, field names, -excluded, prefix* and fuzzy~ are kept."""
    words = []
    for token in _ANALYZER(text, chars=True):
        start, end = token.startchar, token.endchar
        typed, after = text[start:end], text[end : end + 1]
        protected = (
            typed in _OPERATORS
            or (after == ":" and token.text in _SCOPES)
            or after in ("*", "~")
            or (text[start - 1 : start] == "-" and not text[start - 2 : start - 1].strip())
        )
        words.append(_Word(token.text, start, end, protected))
    return words


def _chains(words: list[_Word]) -> list[list[int]]:
    """Runs of neighbouring unprotected words: a pair is only evidence inside a run."""
    chains: list[list[int]] = [[]]
    for i, word in enumerate(words):
        if word.protected:
            chains.append([])
        else:
            chains[-1].append(i)
    return [chain for chain in chains if chain]


def _render(text: str, words: list[_Word], chosen: list[str]) -> str:
    """The query as typed (quotes, operators, punctuation) with its words replaced, lowercase."""
    out, cursor = [], 0
    for word, term in zip(words, chosen, strict=True):
        out.append(text[cursor : word.start].lower())
        typed = text[word.start : word.end]
        out.append(typed if typed in _OPERATORS else term if term != word.term else typed.lower())
        cursor = word.end
    out.append(text[cursor:].lower())
    return " ".join("".join(out).split())


def autocomplete(searcher: Searcher, prefix: str, limit: int = 8) -> list[str]:
    """Accent-insensitive completions of what was typed: "ha n" -> ["hà nội", "hà nam", ...].

    The last word is completed from title syllables (one word) or from title syllable pairs
    starting with the previous word (more words), most frequent first; earlier words get their
    accents restored when that is clear. Results are cached per index generation.
    """
    text = normalize_text(prefix).lower().lstrip()
    if not text or limit < 1:
        return []
    completions = caches_of(searcher).completions
    key = (generation(searcher), text, limit)
    found: list[str] | None = completions.get(key)
    if found is None:
        found = _complete(searcher, text, limit)
        completions.put(key, found)
    return list(found)


def _complete(searcher: Searcher, text: str, limit: int) -> list[str]:
    words = exact_terms(text)
    if not words:
        return []
    finished = not text[-1].isalnum()  # "ha " asks for the next word
    head, last = (words, "") if finished else (words[:-1], words[-1])
    lexicon = get_lexicon(searcher)
    reader = searcher.reader()
    if not head:
        return _word_completions(reader, last, limit)
    head = restore(reader, lexicon, head)  # "tong bi thu" -> "tổng bí thư": then "thư t..."
    pairs = _pair_completions(reader, lexicon, head[-1], last, limit)
    return [" ".join([*head[:-1], first, second]) for first, second in pairs]


def _word_completions(reader: IndexReader, partial: str, limit: int) -> list[str]:
    """Title syllables starting like `partial` (accents ignored), most frequent first."""
    counts = accented_counts(reader, "title", [""], partial, MAX_SCAN)
    return sorted(counts, key=lambda term: (-counts[term], term))[:limit]


def _pair_completions(
    reader: IndexReader, lexicon: Lexicon, previous: str, partial: str, limit: int
) -> list[tuple[str, str]]:
    """Accented title pairs: a spelling of `previous`, then a syllable starting like `partial`,
    most frequent first. An unaccented, unsure previous word brings all its spellings."""
    firsts = slot_options(reader, lexicon, previous)
    heads = [first + BIGRAM_SEPARATOR for first in firsts]
    counts = accented_counts(reader, "title_bigram", heads, partial, MAX_SCAN)
    ranked = sorted(counts, key=lambda term: (-counts[term], term))[:limit]
    return [
        (pair.partition(BIGRAM_SEPARATOR)[0], pair.partition(BIGRAM_SEPARATOR)[2])
        for pair in ranked
    ]
