"""Which matches are scored for relevance: the champions, and a bound on how many.

Scoring costs per document and per query term, so when the matches are many only the
"champions" are scored: the documents with the typed words side by side in the title, else
with every word in the title, if there are enough of them to fill the rerank window (a title
match outweighs any body match in this ranking). At most MAX_CANDIDATES are scored in any
case, those holding the rarest words first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.searching import Searcher

from search.analysis.chains import fold_term
from search.analysis.tokenizer import BIGRAM_SEPARATOR
from search.execute.bitmaps import EMPTY, DocSet, doc_array, docset, union
from search.execute.date_order import first_by_date
from search.execute.docsets import clause_docs, term_docs, titles_holding
from search.execute.matchsets import ChampionCut, Narrowing
from search.execute.scoring import field_lengths
from search.index.columns import NO_DATE, date_values
from search.index.schema import SLUG_FIELD
from search.query.parse import ParsedQuery

CHAMPION_MIN_MATCHES = 500  # below this many matches, score them all
MAX_CANDIDATES = 10_000  # scored at most for one request
MAX_SCORED = 400  # champions kept at most, shortest titles first
LONG_NEAR_MISS_WORDS = 5  # from this many words, a few whole-title matches still widen


def champions(
    searcher: Searcher,
    parsed: ParsedQuery,
    matched: DocSet,
    needed: int,
    cut: ChampionCut | None = None,
) -> DocSet:
    """The matches worth scoring: those with the typed words side by side in the title, else
    with every word in the title, else all of them; the first tier big enough to fill the
    window wins. A title match outweighs any body match in this ranking, so the top of the
    list is the same and tens of documents are scored instead of thousands. A shard takes
    the tier and title length its archive agreed on (`cut`, search.execute.agreement)."""
    if cut is not None:
        return _agreed_champions(searcher, parsed, matched, cut)
    if len(matched) < CHAMPION_MIN_MATCHES:
        return matched
    tiers = champion_tiers(searcher, parsed, matched)
    for tier in tiers or ():
        if len(tier) >= needed:
            return shortest_titles(searcher, tier, max(needed, MAX_SCORED))
    return matched


def champion_tiers(searcher: Searcher, parsed: ParsedQuery, matched: DocSet) -> list[DocSet]:
    """The champion tiers among the matches: the words side by side in the title, every word
    in the title (empty when the query cannot have champions: exclusions, phrases, fields)."""
    if parsed.excluded:
        return []
    if any(c.kind != "terms" or c.scope not in (None, "title") for g in parsed.groups for c in g):
        return []
    in_title = matched  # a slug's extra words are the first headline's (search.index.schema)
    headline_fields = ("title_folded", SLUG_FIELD)
    for group in parsed.groups:
        in_title = in_title & union(
            term_docs(searcher, name, fold_term(t))
            for c in group
            for t in c.terms
            for name in headline_fields
        )
    words = [fold_term(w) for w in parsed.words]
    side_by_side = in_title
    for first, second in zip(words, words[1:], strict=False):
        side_by_side = side_by_side & term_docs(
            searcher, "title_bigram_folded", f"{first}{BIGRAM_SEPARATOR}{second}"
        )
    return [side_by_side, in_title]


TitleKey = tuple[int, int]  # (title length, publication time bit-inverted): shortest first,
# then newest first. Both are the article's own, so every shard of an archive orders alike.


def shortest_title_keys(searcher: Searcher, docs: DocSet, keep: int) -> list[TitleKey]:
    """The `keep` first title keys among the documents, in order."""
    numbers = doc_array(docs)
    lengths, later = _title_keys(searcher, numbers)
    order = np.lexsort((later, lengths))[:keep]
    return list(zip(lengths[order].tolist(), later[order].tolist(), strict=True))


def _title_keys(
    searcher: Searcher, numbers: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
    """The documents' title lengths, and their publication times inverted (`~`: the newest
    lowest, undated last, with no overflow)."""
    lengths = field_lengths(searcher, "title_folded")[numbers]
    return lengths, ~date_values(searcher)[numbers]


def titles_up_to(searcher: Searcher, docs: DocSet, last: TitleKey) -> DocSet:
    """The documents whose title key is `last` or before it (ties with it all stay)."""
    numbers = doc_array(docs)
    lengths, later = _title_keys(searcher, numbers)
    kept = (lengths < last[0]) | ((lengths == last[0]) & (later <= last[1]))
    return docset(numbers[kept])


def _agreed_champions(
    searcher: Searcher, parsed: ParsedQuery, matched: DocSet, cut: ChampionCut
) -> DocSet:
    if cut.tier is None:
        return matched
    tiers = champion_tiers(searcher, parsed, matched)
    if not tiers:
        return matched
    tier = tiers[cut.tier]
    return tier if cut.last is None else titles_up_to(searcher, tier, cut.last)


def bound_candidates(
    searcher: Searcher,
    parsed: ParsedQuery,
    candidates: DocSet,
    needed: int,
    most: int | None = None,
) -> DocSet:
    """At most `most` to score (each costs a little per query term, and a long query
    matches many), plus the titles holding all the words of 5 or more but one.

    Narrow to the documents holding the rarest typed words, one word at a time, skipping a
    word that would leave too few; past that, the newest are kept. The near-miss titles are
    kept whatever the narrowing: a pasted headline with one stray word held by a few hundred
    articles ("... vi pham nong nghet do con ...") was narrowed to those, without the
    article it was copied from. The shards of an archive take the same steps on the sums of
    their counts (search.execute.narrowing). `most`: MAX_CANDIDATES unless given."""
    most = MAX_CANDIDATES if most is None else most
    if len(candidates) <= most:
        return candidates
    near = near_titles(searcher, parsed, candidates)
    groups = group_docs(searcher, parsed)
    for i in rarest_first([len(docs) for docs in groups]):
        narrower = candidates & groups[i]
        if len(narrower) < needed:
            continue  # too rare to narrow by (a typo, "amp" of a pasted "&amp;"): the next
        candidates = narrower
        if len(candidates) <= most:
            return candidates | near
    return docset(first_by_date(searcher, candidates, most, True)) | near


def group_docs(searcher: Searcher, parsed: ParsedQuery) -> list[DocSet]:
    """The documents holding each word group of the query (any of its clauses)."""
    return [union(clause_docs(searcher, c) for c in g) for g in parsed.groups]


def rarest_first(sizes: list[int]) -> list[int]:
    """The groups' indexes, the fewest documents first (equal sizes: in query order)."""
    return sorted(range(len(sizes)), key=lambda i: sizes[i])


def near_titles(searcher: Searcher, parsed: ParsedQuery, candidates: DocSet) -> DocSet:
    """The candidates that a bound keeps whatever it cuts: titles holding all the words of
    LONG_NEAR_MISS_WORDS or more but one."""
    if len(parsed.groups) < LONG_NEAR_MISS_WORDS:
        return EMPTY
    return titles_holding(searcher, parsed, missing=1) & candidates


def agreed_candidates(
    searcher: Searcher, parsed: ParsedQuery, candidates: DocSet, narrowing: Narrowing
) -> DocSet:
    """The candidates bounded as the archive's shards agreed (`bound_candidates` over the
    whole archive): the agreed groups, then the agreed cut by date, plus the near misses."""
    near = near_titles(searcher, parsed, candidates)
    groups = group_docs(searcher, parsed)
    for i in narrowing.groups:
        candidates = candidates & groups[i]
    if narrowing.dated_from is not None or narrowing.undated is not None:
        numbers = doc_array(candidates)
        dates = date_values(searcher)[numbers]
        dated = dates != NO_DATE
        if narrowing.dated_from is not None:
            dated &= dates >= narrowing.dated_from
        undated = numbers[dates == NO_DATE][: narrowing.undated or 0]
        candidates = docset(numbers[dated]) | docset(undated)
    return candidates | near


def shortest_titles(searcher: Searcher, docs: DocSet, keep: int) -> DocSet:
    """The `keep` documents with the shortest titles (newest first among equal lengths), and
    any tied with the last of them in both: every one holds all the words in its title, and
    BM25 ranks shorter such titles higher. The tie rule uses only the articles' own values,
    so the shards of an archive cut at the same place (search.execute.agreement)."""
    if len(docs) <= keep:
        return docs
    return titles_up_to(searcher, docs, shortest_title_keys(searcher, docs, keep)[-1])
