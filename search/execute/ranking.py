"""Ranking the matches: the scored, reranked window of a relevance request.

The candidates are the champions among the matches, bounded (search.execute.candidates);
`score` gives them the full ranking query (BM25F over exact and folded fields, syllable-pair
rewards, restored accents) through search.execute.scoring; the best-scored window is reranked
(search.execute.rerank). For 5-16 plain words, the articles holding them as one run (a
remembered passage or headline) go first: search.execute.passages lists them over the whole
index, and they are scored and reranked apart from the rest, in one pass each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from whoosh import collectors
from whoosh import query as wq
from whoosh.searching import Searcher

from search.analysis.chains import fold_term
from search.errors import SearchError
from search.execute.accents import restore
from search.execute.bitmaps import DocSet, doc_array, docset
from search.execute.candidates import agreed_candidates, bound_candidates, champions
from search.execute.date_order import by_date
from search.execute.deadline import DeadlineCollector
from search.execute.docsets import DocSetQuery, expansions, term_docs
from search.execute.matchsets import MatchPlan
from search.execute.passages import (
    PASSAGE_WINDOW,
    Promotion,
    holders_among,
    holders_first,
    passage_run,
    run_holders,
    scan_for_run,
)
from search.execute.rerank import rerank_window, rerank_windows
from search.execute.scoring import Scores, compile_query, score_candidates, top_scores
from search.query.build import restoration_bonus, scoring_query
from search.query.collection import archive_known_words, lexicon_of
from search.query.parse import ParsedQuery

RERANK_WINDOW = 100  # relevance hits scored and reranked for recency, at least
MAX_RESTORED_WORDS = 16

Hit = tuple[int, float | None]  # (docnum, score); the score is None in date order


@dataclass(frozen=True)
class Scored:
    """Documents with their scores, best first; `partial` when time ran out first."""

    hits: list[Hit]
    partial: bool = False
    # the reranked ones' scores, when known (a remembered run's listed holders apart)
    before_rerank: dict[int, float] | None = None
    promotion: Promotion | None = None  # a remembered run's holders put first


@dataclass(frozen=True)
class ScoringJob:
    """What the ranking steps of one request share."""

    query: wq.Query  # the flat ranking query (ranking_query)
    candidates: DocSet  # the matches worth scoring (search.execute.candidates)
    limit: int  # hits ranked: the requested window, RERANK_WINDOW at least
    need: int  # the first `need` of them must be exact: the requested window
    deadline: float  # on time.perf_counter()'s clock
    rerank_floor: float | None = None  # the archive's (search.execute.matchsets.MatchPlan)


def restored_words(searcher: Searcher, words: tuple[str, ...]) -> list[str]:
    """Each typed word, or its dominant accented reading when typed without accents; a word
    the index never saw, its dominant correction ("tarn" after "chu tich quoc hoi": "trần")."""
    if all(word != fold_term(word) for word in words):
        return list(words)
    head = list(words[:MAX_RESTORED_WORDS])
    lexicon = lexicon_of(searcher)
    readings = restore(searcher.reader(), lexicon, head)

    # A known word keeps its letters: a correction only replaces what nothing can match
    # (the lexicon holds titles and summaries; bodies are asked too). A shard asks its
    # archive: a word another shard holds is no typo here either.
    known = archive_known_words(searcher)

    def unseen(word: str) -> bool:
        folded = fold_term(word)
        if known is not None:
            return folded not in known
        return folded not in lexicon and not term_docs(searcher, "body_folded", folded)

    kept = [
        r if fold_term(r) == fold_term(w) or unseen(w) else w
        for r, w in zip(readings, head, strict=True)
    ]
    return kept + list(words[MAX_RESTORED_WORDS:])


def ranking_query(searcher: Searcher, parsed: ParsedQuery) -> wq.Query:
    """The flat ranking query of search.query.build, with the rewards for the accented
    readings the index makes dominant for words typed without accents."""
    restored = restoration_bonus(parsed.words, restored_words(searcher, parsed.words))
    return scoring_query(parsed, restored)


def rank(
    searcher: Searcher,
    parsed: ParsedQuery,
    matched: DocSet,
    window: int,
    deadline: float,
    plan: MatchPlan | None = None,
) -> Scored:
    """The matches in relevance order, the first `window` exactly; out of time before the
    window is full, the rest of it newest first. A shard scores the champions its archive's
    `plan` says, bounded as it says, and reranks those above its floor."""
    limit = max(window, RERANK_WINDOW)
    candidates = champions(searcher, parsed, matched, limit, plan.champions if plan else None)
    if plan is not None and plan.narrowing is not None:
        candidates = agreed_candidates(searcher, parsed, candidates, plan.narrowing)
    else:
        candidates = bound_candidates(searcher, parsed, candidates, limit)
    query = ranking_query(searcher, parsed)
    floor = plan.rerank_floor if plan else None
    job = ScoringJob(query, candidates, limit, window, deadline, floor)
    run = passage_run(parsed)
    holders = run_holders(searcher, run) if run else None
    if run and holders is not None:
        ranked = _holders_first(searcher, parsed, job, run, holders & matched)
    else:
        ranked = _scored_and_reranked(searcher, parsed, job, run)
    if ranked.partial and len(ranked.hits) < window:
        return _filled_by_date(searcher, ranked, matched, window)
    return ranked


def _holders_first(
    searcher: Searcher,
    parsed: ParsedQuery,
    job: ScoringJob,
    run: tuple[str, ...],
    holders: DocSet,
) -> Scored:
    """A remembered passage whose holders are listed: they are scored and reranked apart
    from the other candidates, and go first (search.execute.passages.holders_first). Of the
    others, those the archive's floor lets through are reranked (a shard's, `job`)."""
    first, rest = score_apart(searcher, job, holders)
    best = _above(rest.hits, job.rerank_floor)
    windows = [(best, job.need), (first.hits, len(first.hits))]
    rest_hits, first_hits = rerank_windows(searcher, parsed, windows)
    # The listing can miss a body that writes a typed word as "TP.HCM": read the best.
    missed = holders_among(searcher, rest_hits[:RERANK_WINDOW], run, job.deadline)
    first_hits = sorted(first_hits + missed, key=lambda hit: -(hit[1] or 0))
    hits, promotion = holders_first(first_hits, rest_hits, job.limit)
    before = {d: s or 0.0 for d, s in best}
    return Scored(hits, first.partial or rest.partial, before, promotion)


def score_apart(searcher: Searcher, job: ScoringJob, apart: DocSet) -> tuple[Scored, Scored]:
    """`score` of the documents of `apart`, and of the other candidates, in one pass when the
    query compiles: a pass costs about as much for a few documents as for thousands, for it
    looks up every term of the ranking query in every field (some 80 for eight words)."""
    tree = compile_query(job.query, lambda multiterm: expansions(searcher, multiterm))
    others = job.candidates - apart
    if tree is None:
        first = score(searcher, job.query, apart, job.limit, job.deadline)
        return first, score(searcher, job.query, others, job.limit, job.deadline)
    scores, partial = score_candidates(searcher, tree, apart | others, job.deadline)
    inside = np.isin(scores.docs, doc_array(apart), assume_unique=True)
    held, others_held = (Scores(scores.docs[i], scores.values[i]) for i in (inside, ~inside))
    return _best(held, job.limit, partial), _best(others_held, job.limit, partial)


def _above(hits: list[Hit], floor: float | None) -> list[Hit]:
    """The hits scoring the floor or more (all of them without a floor)."""
    return hits if floor is None else [hit for hit in hits if (hit[1] or 0.0) >= floor]


def _scored_and_reranked(
    searcher: Searcher, parsed: ParsedQuery, job: ScoringJob, run: tuple[str, ...] | None
) -> Scored:
    """The best `limit` candidates, scored and reranked. For a remembered passage whose
    holders could not be listed, those among the best PASSAGE_WINDOW scored go first."""
    scored_size = PASSAGE_WINDOW if run else job.limit
    scored = score(searcher, job.query, job.candidates, scored_size, job.deadline)
    best = scored.hits[: job.limit]
    if not run:
        best = _above(best, job.rerank_floor)
    head = rerank_window(searcher, best, parsed, job.need)
    if run and not scored.partial:
        tail = scored.hits[job.limit :]
        hits, promotion = scan_for_run(searcher, head, tail, run, job.deadline)
        return Scored(hits, promotion=promotion)
    return Scored(head, scored.partial, None if run else {d: s or 0.0 for d, s in best})


def _filled_by_date(searcher: Searcher, ranked: Scored, matched: DocSet, window: int) -> Scored:
    """Out of time before the window was full: the rest of it newest first, scored 0."""
    scored = docset(docnum for docnum, _ in ranked.hits)
    rest = by_date(searcher, matched - scored, window - len(ranked.hits), newest_first=True)
    return Scored(ranked.hits + [(docnum, 0.0) for docnum, _ in rest], partial=True)


def score(
    searcher: Searcher, query: wq.Query, candidates: DocSet, limit: int, deadline: float
) -> Scored:
    """The best `limit` candidates by score: search.execute.scoring for terms, else Whoosh
    with the ranking query ANDed with the candidate set."""
    tree = compile_query(query, lambda multiterm: expansions(searcher, multiterm))
    if tree is not None:
        scores, partial = score_candidates(searcher, tree, candidates, deadline)
        return _best(scores, limit, partial)
    collector = DeadlineCollector(searcher.collector(limit=limit, optimize=False), deadline)
    partial = False
    try:
        searcher.search_with_collector(wq.And([DocSetQuery(candidates), query]), collector)
    except collectors.TimeLimit:
        partial = True
    except (RecursionError, ValueError) as error:
        raise SearchError(f"the query could not be run: {error}") from None
    return Scored([(hit.docnum, float(hit.score or 0.0)) for hit in collector.results()], partial)


def _best(scores: Scores, limit: int, partial: bool) -> Scored:
    """The best `limit` of the scores, as hits."""
    return Scored([(d, s) for d, s in top_scores(scores, limit)], partial)
