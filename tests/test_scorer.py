"""search.scorer gives Whoosh's own BM25F scores, on many segments with deletions."""

from __future__ import annotations

import time
from typing import Any

import pytest
from whoosh import query as wq

from search.postings import DocSetQuery, query_docs, term_postings
from search.query import parse_query, restoration_bonus, scoring_query
from search.ranking import weighting
from search.scorer import compile_query, score_candidates, top_scores

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


@pytest.mark.parametrize("text", QUERIES)
def test_scores_equal_whoosh(churned_index: Any, text: str) -> None:
    with churned_index.searcher(weighting=weighting()) as searcher:
        parsed = parse_query(text)
        candidates = query_docs(searcher, parsed, "any") or frozenset()
        query = scoring_query(parsed, restoration_bonus(parsed.words, list(parsed.words)))
        tree = compile_query(query)
        assert tree is not None
        expected = whoosh_scores(searcher, query, candidates)
        got, partial = score_candidates(searcher, tree, candidates, time.perf_counter() + 60)
        assert not partial
        assert set(got) == set(expected)
        for docnum, score in expected.items():
            assert got[docnum] == pytest.approx(score, rel=1e-6)
        if text != "zzzz":
            assert got


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


@pytest.mark.parametrize("text", ['"hàng không"', "thu*", "nguyen~1"])
def test_phrases_prefixes_and_fuzzy_words_are_left_to_whoosh(text: str) -> None:
    assert compile_query(scoring_query(parse_query(text))) is None


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
        assert partial and scores == {}


def test_ties_go_to_the_lower_document_number() -> None:
    assert top_scores({7: 1.0, 3: 1.0, 5: 2.0}, 2) == [(5, 2.0), (3, 1.0)]


def test_the_candidate_set_adds_nothing_to_whoosh_scores(churned_index: Any) -> None:
    with churned_index.searcher(weighting=weighting()) as searcher:
        query = scoring_query(parse_query("giao thông"))
        candidates = query_docs(searcher, parse_query("giao thông"), "any") or frozenset()
        anded = searcher.search(wq.And([DocSetQuery(candidates), query]), limit=None)
        expected = whoosh_scores(searcher, query, candidates)
        assert anded and {hit.docnum: hit.score for hit in anded} == pytest.approx(expected)
