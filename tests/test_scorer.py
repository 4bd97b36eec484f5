"""search.execute.scoring gives Whoosh's own BM25F scores, on many segments with deletions."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from whoosh import query as wq

from search.execute import doc_ranks
from search.execute.docsets import (
    MAX_EXPANSIONS,
    DocSetQuery,
    expansions,
    query_docs,
    term_postings,
)
from search.execute.scoring import Scores, compile_query, score_candidates, top_scores
from search.index.caches import caches_of
from search.index.derived import ensure_sidecars
from search.query.build import restoration_bonus, scoring_query
from search.query.parse import parse_query
from search.query.weights import weighting

QUERIES = [
    "da nang",
    "đà nẵng",
    "giao thông",
    "bệnh viện tỉnh",
    "ha noi OR hue",
    "nông dân lúa gạo xuất khẩu",
    "TP.HCM 50.000",
    "title:Đà",
    "author:minh",
    "category:y te",
    "zzzz",
]


def whoosh_scores(searcher: Any, query: wq.Query, candidates: frozenset[int]) -> dict[int, float]:
    hits = searcher.search(query, filter=DocSetQuery(candidates), limit=None)
    return {hit.docnum: hit.score for hit in hits}


@pytest.mark.parametrize("how", ["binary search", "bit ranks", "bit ranks and sidecar weights"])
@pytest.mark.parametrize("text", QUERIES)
def test_scores_equal_whoosh(
    churned_index: Any, copy_of: Any, text: str, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the churned index (deletions: the lists' document numbers are read), and on a copy
    of the demo index with its sidecars, where ranked lists' frequencies come straight from
    the sidecar's weights (search.execute.doc_ranks.candidate_frequencies)."""
    ranked = how != "binary search"
    if ranked:  # every list longer than the candidates is located by its bit ranks
        monkeypatch.setattr(doc_ranks, "RANKED_SHARE", 10**9)
        monkeypatch.setattr(doc_ranks, "MIN_BUILDING_CANDIDATES", 0)
        monkeypatch.setattr(doc_ranks, "MIN_RANKED_DOCS", 0)
    index = churned_index
    if how == "bit ranks and sidecar weights":
        index = copy_of("demo_index")
        with index.reader() as reader:
            ensure_sidecars(index.storage.folder, reader, min_docs=1)
    with index.searcher(weighting=weighting()) as searcher:
        parsed = parse_query(text)
        candidates = query_docs(searcher, parsed, "any") or frozenset()
        if ranked:  # a third of the matches: shorter than the common words' lists
            candidates = frozenset(sorted(candidates)[::3])
            caches_of(searcher).doc_ranks.clear()
        query = scoring_query(parsed, restoration_bonus(parsed.words, list(parsed.words)))
        tree = compile_query(query)
        assert tree is not None
        expected = whoosh_scores(searcher, query, candidates)
        scored, partial = score_candidates(searcher, tree, candidates, time.perf_counter() + 60)
        got = scored.as_dict()
        assert not partial
        assert set(got) == set(expected)
        for docnum, score in expected.items():
            assert got[docnum] == pytest.approx(score, rel=1e-6)
        if text != "zzzz":
            assert got
        if ranked and text != "zzzz":  # the ranks were built and read
            assert len(caches_of(searcher).doc_ranks) > 0
        if how == "bit ranks and sidecar weights" and text != "zzzz":  # weights from the map
            assert len(caches_of(searcher).term_infos) > 0


def test_restoration_terms_are_scored_like_whoosh(churned_index: Any) -> None:
    with churned_index.searcher(weighting=weighting()) as searcher:
        parsed = parse_query("da nang")
        candidates = query_docs(searcher, parsed, "any") or frozenset()
        query = scoring_query(parsed, restoration_bonus(parsed.words, ["đà", "nẵng"]))
        tree = compile_query(query)
        assert tree is not None
        got, _ = score_candidates(searcher, tree, candidates, time.perf_counter() + 60)
        expected = whoosh_scores(searcher, query, candidates)
        assert [d for d, _ in top_scores(got, 5)] == sorted(expected, key=lambda d: -expected[d])[
            :5
        ]


def test_phrases_are_left_to_whoosh() -> None:
    assert compile_query(scoring_query(parse_query('"hàng không" hà nội'))) is None


def as_terms(query: wq.Query, searcher: Any) -> wq.Query:
    """The query with each prefix or fuzzy word replaced by the Or of its expansions."""
    if isinstance(query, (wq.Prefix, wq.FuzzyTerm)):
        found = expansions(searcher, query)
        return wq.Or([wq.Term(query.fieldname, t, boost=query.boost) for t in found])
    if isinstance(query, (wq.And, wq.Or)):
        return type(query)([as_terms(sub, searcher) for sub in query.subqueries], boost=query.boost)
    return query


@pytest.mark.parametrize("text", ["thu*", "nguyen~1", "giao thong*", "zzzz*"])
def test_prefixes_and_fuzzy_words_score_as_their_expansions(churned_index: Any, text: str) -> None:
    with churned_index.searcher(weighting=weighting()) as searcher:
        parsed = parse_query(text)
        candidates = query_docs(searcher, parsed, "any") or frozenset()
        query = scoring_query(parsed)
        tree = compile_query(query, lambda q: expansions(searcher, q))
        assert tree is not None
        scored, _ = score_candidates(searcher, tree, candidates, time.perf_counter() + 60)
        got = scored.as_dict()
        expected = whoosh_scores(searcher, as_terms(query, searcher), candidates)
        assert got == pytest.approx(expected)
        assert bool(got) == (text != "zzzz*")


def test_expansions_are_bounded_and_most_frequent_first(churned_index: Any) -> None:
    with churned_index.searcher() as searcher:
        found = expansions(searcher, wq.Prefix("body_folded", "th"))
        assert 1 < len(found) <= MAX_EXPANSIONS
        reader = searcher.reader()
        frequencies = [reader.doc_frequency("body_folded", t) for t in found]
        assert frequencies == sorted(frequencies, reverse=True)
        assert all(t.startswith("th") for t in found)


def test_postings_weights_are_whooshs(churned_index: Any) -> None:
    with churned_index.searcher() as searcher:
        for fieldname, text in [("body_folded", "nong"), ("title", "đà"), ("body", "của")]:
            ids, weights = term_postings(searcher, fieldname, text)
            matcher = searcher.postings(fieldname, text)
            expected = []
            while matcher.is_active():
                expected.append((matcher.id(), matcher.weight()))
                matcher.next()
            assert list(zip(ids, weights, strict=True)) == expected
            assert list(ids) == sorted(ids)


def test_a_passed_deadline_gives_partial_scores(churned_index: Any) -> None:
    with churned_index.searcher(weighting=weighting()) as searcher:
        parsed = parse_query("giao thông")
        tree = compile_query(scoring_query(parsed))
        assert tree is not None
        candidates = query_docs(searcher, parsed, "any") or frozenset()
        scores, partial = score_candidates(searcher, tree, candidates, time.perf_counter() - 1)
        assert partial and scores.as_dict() == {}


@pytest.mark.parametrize(
    ("scores", "limit", "expected"),
    [
        ({7: 1.0, 3: 1.0, 5: 2.0}, 2, [(5, 2.0), (3, 1.0)]),
        ({7: 1.0, 3: 1.0, 5: 2.0}, 5, [(5, 2.0), (3, 1.0), (7, 1.0)]),
        ({9: 1.0, 8: 1.0, 7: 1.0, 1: 0.5}, 2, [(7, 1.0), (8, 1.0)]),  # ties past the limit
        ({4: 3.0}, 0, []),
    ],
)
def test_ties_go_to_the_lower_document_number(
    scores: dict[int, float], limit: int, expected: list[tuple[int, float]]
) -> None:
    docs = np.array(sorted(scores), dtype=np.int64)
    values = np.array([scores[d] for d in sorted(scores)], dtype=np.float64)
    assert top_scores(Scores(docs, values), limit) == expected


@pytest.mark.parametrize("seed", range(5))
def test_top_scores_equal_a_full_sort(seed: int) -> None:
    """argpartition's pick, then a sort of only the picked, gives what sorting all gives,
    ties at the boundary included (scores from few distinct values)."""
    rng = np.random.default_rng(seed)
    docs = np.unique(rng.integers(0, 5000, 800)).astype(np.int64)
    values = rng.integers(0, 20, len(docs)).astype(np.float64) / 4
    expected = sorted(zip(docs.tolist(), values.tolist(), strict=True), key=lambda d: (-d[1], d[0]))
    for limit in (1, 10, 100, len(docs)):
        assert top_scores(Scores(docs, values), limit) == expected[:limit]


def test_the_candidate_set_adds_nothing_to_whoosh_scores(churned_index: Any) -> None:
    with churned_index.searcher(weighting=weighting()) as searcher:
        query = scoring_query(parse_query("giao thông"))
        candidates = query_docs(searcher, parse_query("giao thông"), "any") or frozenset()
        anded = searcher.search(wq.And([DocSetQuery(candidates), query]), limit=None)
        expected = whoosh_scores(searcher, query, candidates)
        assert anded and {hit.docnum: hit.score for hit in anded} == pytest.approx(expected)
