"""How a request is run: match with sets, then score only what can reach the page.

1. The matching documents come from set algebra on posting lists (search.postings), strict
   first: every word, else all words but one, else any word; titles holding all the words
   but one may join them (_near_miss_titles). They give the exact total and the facet
   counts.
2. Date sorts walk the cached time order of the documents: no scoring at all.
3. Relevance: the candidates are scored with the full ranking query (BM25F over exact and
   folded fields, syllable-pair rewards) by search.execute.scoring. When the matches are many, only
   the "champions" are scored: the documents with every word in the title, if there are
   enough of them to fill the rerank window (a title match outweighs any body match in this
   ranking); at most MAX_CANDIDATES in any case, those with the rarest words first.
4. The best-scored window is reranked from stored text: typed pairs side by side in bodies,
   and titles that open with the typed words.
5. For 5-16 plain words, the articles holding them as one run (a remembered passage or
   headline) go first: search.execute.passages lists them over the whole index and they are scored
   apart from the rest.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from itertools import islice

from whoosh import collectors
from whoosh import query as wq
from whoosh.searching import Searcher

from search.analysis.chains import fold_term
from search.analysis.textmatch import opens_with, pairs_side_by_side, runs, words_regex
from search.analysis.tokenizer import BIGRAM_SEPARATOR
from search.errors import SearchError
from search.execute.accents import restore
from search.execute.deadline import DeadlineCollector
from search.execute.docsets import (
    DocSetQuery,
    clause_docs,
    expansions,
    query_docs,
    term_docs,
    titles_holding,
)
from search.execute.matchsets import MatchSets, matching_docs
from search.execute.passages import (
    PASSAGE_WINDOW,
    holders_among,
    holders_first,
    passage_run,
    run_holders,
    scan_for_run,
)
from search.execute.scoring import compile_query, field_lengths, score_candidates, top_scores
from search.index.columns import date_values, dated_order
from search.index.lexicon import get_lexicon
from search.index.schema import SLUG_FIELD
from search.query.build import restoration_bonus, scoring_query
from search.query.parse import LEVELS, ParsedQuery
from search.query.weights import BODY_PAIR_CHARS, RECENCY_SHARE, TITLE_PREFIX_SHARE, body_pair_bonus

RERANK_WINDOW = 100  # relevance hits scored and reranked for recency, at least
CHAMPION_MIN_MATCHES = 500  # below this many matches, score them all
MAX_RESTORED_WORDS = 16
MAX_CANDIDATES = 10_000  # scored at most for one request
MAX_SCORED = 400  # champions kept at most, shortest titles first
FEW_MATCHES = 10  # fewer articles than a page hold every word: add titles missing one
LONG_NEAR_MISS_WORDS = 5  # from this many words, a few whole-title matches still widen


@dataclass(frozen=True)
class Outcome:
    ranked: list[tuple[int, float | None]]  # (docnum, score) from the first hit to the window
    sets: MatchSets
    total: int
    partial: bool


def execute(
    searcher: Searcher,
    parsed: ParsedQuery,
    by_filter: dict[str, frozenset[int]],
    sort: str,
    window: int,
    deadline: float,
) -> Outcome:
    """Match, count and rank one request (see the module docstring); `by_filter` holds the
    documents each active filter lets through (search.features.filters.filter_sets)."""
    sets, matched = _matching_level(searcher, parsed, by_filter, widen=sort == "relevance")
    if sort != "relevance" or parsed.is_empty:
        newest_first = sort != "oldest"
        return Outcome(by_date(searcher, matched, window, newest_first), sets, len(matched), False)
    limit = max(window, RERANK_WINDOW)
    candidates = _bounded(searcher, parsed, _champions(searcher, parsed, matched, limit), limit)
    restored = restoration_bonus(parsed.words, restored_words(searcher, parsed.words))
    query = scoring_query(parsed, restored)
    sizes = (limit, window)
    ranked, partial = _rank(searcher, parsed, query, (candidates, matched), sizes, deadline)
    if partial and len(ranked) < window:  # out of time: the rest of the page newest first
        scored = {d for d, _ in ranked}
        rest = by_date(searcher, matched - scored, window - len(ranked), newest_first=True)
        ranked += [(d, 0.0) for d, _ in rest]
    return Outcome(ranked, sets, len(matched), partial)


def _matching_level(
    searcher: Searcher, parsed: ParsedQuery, by_filter: dict[str, frozenset[int]], widen: bool
) -> tuple[MatchSets, frozenset[int]]:
    """The strictest level with matches: every word, else all words but one, else any word;
    its sets, and the documents they match through the filters. In relevance order
    (`widen`) near-miss titles may join the strict matches (_near_miss_titles). Date sorts
    never widen: there the near misses would sit among the exact matches, not below them."""
    levels = LEVELS if len(parsed.groups) > 1 else LEVELS[:1]
    for level in levels:
        base = query_docs(searcher, parsed, level)
        sets = MatchSets(base if base is not None else matching_docs(searcher, None), by_filter)
        matched = sets.narrowed()
        if matched or level == levels[-1]:
            break
    if widen and level == "all" and matched and base is not None:
        near = _near_miss_titles(searcher, parsed, matched)
        if not near <= base:
            sets = MatchSets(base | near, by_filter)
            matched = sets.narrowed()
    return sets, matched


def _near_miss_titles(
    searcher: Searcher, parsed: ParsedQuery, matched: frozenset[int]
) -> frozenset[int]:
    """Titles holding every word but one, when they should be ranked with the strict matches
    (only ever for 3 or more plain words, see search.postings.titles_holding):

    - fewer than a page of articles hold every word: a headline remembered with one word off
      ("quảng cáo cho website đánh bạc trái") must not lose to two long bodies that hold the
      seven common words scattered;
    - no title holds every word (5 or more words: fewer than a page of titles do): an extra
      word ("pháp triển khai nguy tiêm kích") otherwise leaves only bodies that hold the words
      scattered, and the headline holding all the others side by side never shows. With 3 or
      4 words even a few whole-title matches beat the near misses (measured: admitting them
      below 10 such titles lost more known items than it found).
    """
    if len(matched) >= FEW_MATCHES:
        enough = FEW_MATCHES if len(parsed.groups) >= LONG_NEAR_MISS_WORDS else 1
        if len(titles_holding(searcher, parsed, missing=0) & matched) >= enough:
            return frozenset()
    return titles_holding(searcher, parsed, missing=1)


def by_date(
    searcher: Searcher, docs: frozenset[int], window: int, newest_first: bool
) -> list[tuple[int, float | None]]:
    """The first `window` documents by publication time (equal times: the later indexed first
    when newest first); undated ones last either way."""
    _, in_order = dated_order(searcher)
    if len(docs) * 20 >= len(in_order):  # many matches: walk the time order, stop when full
        walk = reversed(in_order) if newest_first else iter(in_order)
        top = list(islice((d for d in walk if d in docs), window))
    else:  # few: sort them
        published = date_values(searcher)
        dated = [d for d in docs if published[d] is not None]
        pick = heapq.nlargest if newest_first else heapq.nsmallest
        top = pick(window, dated, key=lambda d: (published[d], d))  # the walk's tie order
    if len(top) < window:
        published = date_values(searcher)
        top += sorted(d for d in docs if published[d] is None)[: window - len(top)]
    return [(d, None) for d in top]


def restored_words(searcher: Searcher, words: tuple[str, ...]) -> list[str]:
    """Each typed word, or its dominant accented reading when typed without accents; a word
    the index never saw, its dominant correction ("tarn" after "chu tich quoc hoi": "trần")."""
    if all(word != fold_term(word) for word in words):
        return list(words)
    head = list(words[:MAX_RESTORED_WORDS])
    lexicon = get_lexicon(searcher)
    readings = restore(searcher.reader(), lexicon, head)

    # A known word keeps its letters: a correction only replaces what nothing can match
    # (the lexicon holds titles and summaries; bodies are asked too).
    def unseen(word: str) -> bool:
        folded = fold_term(word)
        return folded not in lexicon and not term_docs(searcher, "body_folded", folded)

    kept = [
        r if fold_term(r) == fold_term(w) or unseen(w) else w
        for r, w in zip(readings, head, strict=True)
    ]
    return kept + list(words[MAX_RESTORED_WORDS:])


def _champions(
    searcher: Searcher, parsed: ParsedQuery, matched: frozenset[int], needed: int
) -> frozenset[int]:
    """The matches worth scoring: those with the typed words side by side in the title, else
    with every word in the title, else all of them; the first tier big enough to fill the
    window wins. A title match outweighs any body match in this ranking, so the top of the
    list is the same and tens of documents are scored instead of thousands."""
    if len(matched) < CHAMPION_MIN_MATCHES or parsed.excluded:
        return matched
    if any(c.kind != "terms" or c.scope not in (None, "title") for g in parsed.groups for c in g):
        return matched
    in_title = matched  # a slug's extra words are the first headline's (search.index.schema)
    headline_fields = ("title_folded", SLUG_FIELD)
    for group in parsed.groups:
        in_title = in_title & frozenset().union(
            *(
                term_docs(searcher, name, fold_term(t))
                for c in group
                for t in c.terms
                for name in headline_fields
            )
        )
    words = [fold_term(w) for w in parsed.words]
    side_by_side = in_title
    for first, second in zip(words, words[1:], strict=False):
        side_by_side = side_by_side & term_docs(
            searcher, "title_bigram_folded", f"{first}{BIGRAM_SEPARATOR}{second}"
        )
    for tier in (side_by_side, in_title):
        if len(tier) >= needed:
            return _shortest_titles(searcher, tier, max(needed, MAX_SCORED))
    return matched


def _bounded(
    searcher: Searcher, parsed: ParsedQuery, candidates: frozenset[int], needed: int
) -> frozenset[int]:
    """At most MAX_CANDIDATES to score (each costs a few µs per query term: 150,000 matches of
    a 59-word query took 3 s), plus the titles holding all the words of 5 or more but one.

    Narrow to the documents holding the rarest typed words, one word at a time, skipping a
    word that would leave too few; past that, the newest are kept. The near-miss titles are
    kept whatever the narrowing: a pasted headline with one stray word held by a few hundred
    articles ("... vi pham nong nghet do con ...") was narrowed to those, without the
    article it was copied from."""
    if len(candidates) <= MAX_CANDIDATES:
        return candidates
    near = frozenset[int]()
    if len(parsed.groups) >= LONG_NEAR_MISS_WORDS:
        near = titles_holding(searcher, parsed, missing=1) & candidates
    groups = [frozenset().union(*(clause_docs(searcher, c) for c in g)) for g in parsed.groups]
    for docs in sorted(groups, key=len):
        narrower = candidates & docs
        if len(narrower) < needed:
            continue  # too rare to narrow by (a typo, "amp" of a pasted "&amp;"): the next
        candidates = narrower
        if len(candidates) <= MAX_CANDIDATES:
            return candidates | near
    newest = by_date(searcher, candidates, MAX_CANDIDATES, True)
    return frozenset(d for d, _ in newest) | near


def _shortest_titles(searcher: Searcher, docs: frozenset[int], keep: int) -> frozenset[int]:
    """At most `keep` documents, those with the shortest titles (newest first among equals):
    every one holds all the words in its title, and BM25 ranks shorter such titles higher."""
    if len(docs) <= keep:
        return docs
    length = field_lengths(searcher, "title_folded")
    return frozenset(heapq.nsmallest(keep, docs, key=lambda d: (length[d], -d)))


def _rerank_window(
    searcher: Searcher, ranked: list[tuple[int, float | None]], parsed: ParsedQuery, need: int
) -> list[tuple[int, float | None]]:
    """Rewards read off the stored text of the scored window: typed pairs side by side in the
    body (bodies have no pair fields), and titles that start with the typed words.

    Only the best `need` must come out exact. A document whose score could not reach them
    even with every reward (and the recency nudge applied after) keeps its score unread:
    reading a stored document is most of the cost here.
    """
    words = [fold_term(w) for w in parsed.words]
    pairs = set(zip(words, words[1:], strict=False))
    if not pairs:
        return ranked
    idf = {p: searcher.idf("summary_bigram_folded", BIGRAM_SEPARATOR.join(p)) for p in pairs}
    # the highlighter's regular expression too: compiled once
    typed = _Typed(words, pairs, idf, words_regex(frozenset(words)))
    body_lengths = field_lengths(searcher, "body_folded")  # 1: no body (no pair in it either)
    most_for_body = body_pair_bonus(list(idf.values()))
    best: list[float] = []  # the `need` best scores so far, a min-heap: a floor for the rest
    rewarded = []
    for docnum, score in ranked:
        if score is not None:
            ceiling = score * (1.0 + TITLE_PREFIX_SHARE)
            if body_lengths[docnum] > 1:
                ceiling += most_for_body
            if len(best) < need or ceiling * (1.0 + RECENCY_SHARE) >= best[0]:
                score = _rewarded(searcher.stored_fields(docnum), score, typed)
            if len(best) < need:
                heapq.heappush(best, score)
            elif score > best[0]:
                heapq.heapreplace(best, score)
        rewarded.append((docnum, score))
    return sorted(rewarded, key=lambda item: -(item[1] or 0.0))


@dataclass(frozen=True)
class _Typed:
    """What the reranking looks for in stored text: the typed words, their pairs (with their
    rarity) and the regular expression that finds them."""

    words: list[str]
    pairs: set[tuple[str, str]]
    idf: dict[tuple[str, str], float]
    regex: re.Pattern[str]


def _rewarded(fields: dict[str, str], score: float, typed: _Typed) -> float:
    """A score with the rewards of its stored text (see `_rerank_window`)."""
    body = fields.get("body", "")[:BODY_PAIR_CHARS]
    if body:
        found_pairs = typed.pairs & pairs_side_by_side(runs(body, typed.regex))
        score += body_pair_bonus([typed.idf[p] for p in found_pairs])
    title = fields.get("title", "")
    if opens_with(title, runs(title, typed.regex), typed.words):
        score *= 1.0 + TITLE_PREFIX_SHARE
    return score


def _rank(
    searcher: Searcher,
    parsed: ParsedQuery,
    query: wq.Query,
    sets: tuple[frozenset[int], frozenset[int]],
    sizes: tuple[int, int],
    deadline: float,
) -> tuple[list[tuple[int, float | None]], bool]:
    """The best `limit` of the candidates, scored and reranked, the first `need` of them
    exactly; for a remembered passage (search.execute.passages), the matches holding it as
    one run go
    first. `sets`: the candidates to score and all the matches; `sizes`: limit and need."""
    candidates, matched = sets
    limit, need = sizes
    run = passage_run(parsed)
    holders = run_holders(searcher, run) if run else None
    if run and holders is not None:
        holders &= matched
        first, partial = _score(searcher, query, holders, limit, deadline)
        rest, late = _score(searcher, query, candidates - holders, limit, deadline)
        rest = _rerank_window(searcher, rest, parsed, need)
        # The listing can miss a body that writes a typed word as "TP.HCM": read the best.
        missed = holders_among(searcher, rest[:RERANK_WINDOW], run, deadline)
        first = _rerank_window(searcher, first, parsed, len(first))
        first = sorted(first + missed, key=lambda i: -(i[1] or 0))
        return (holders_first(first, rest, limit) if first else rest), partial or late
    scored = PASSAGE_WINDOW if run else limit
    ranked, partial = _score(searcher, query, candidates, scored, deadline)
    head, tail = _rerank_window(searcher, ranked[:limit], parsed, need), ranked[limit:]
    if run and not partial:
        return scan_for_run(searcher, head, tail, run, deadline), partial
    return head, partial


def _score(
    searcher: Searcher, query: wq.Query, candidates: frozenset[int], limit: int, deadline: float
) -> tuple[list[tuple[int, float | None]], bool]:
    """The best `limit` candidates by score: search.execute.scoring for terms, else Whoosh with the
    ranking query ANDed with the candidate set."""
    tree = compile_query(query, lambda multiterm: expansions(searcher, multiterm))
    if tree is not None:
        scores, partial = score_candidates(searcher, tree, candidates, deadline)
        return [(d, s) for d, s in top_scores(scores, limit)], partial
    collector = DeadlineCollector(searcher.collector(limit=limit, optimize=False), deadline)
    partial = False
    try:
        searcher.search_with_collector(wq.And([DocSetQuery(candidates), query]), collector)
    except collectors.TimeLimit:
        partial = True
    except (RecursionError, ValueError) as error:
        raise SearchError(f"the query could not be run: {error}") from None
    return [(hit.docnum, float(hit.score or 0.0)) for hit in collector.results()], partial
