"""The reranking of the scored window reads only what can still reach the page."""

from __future__ import annotations

import time
from typing import Any

import pytest

from search import plan
from search.postings import query_docs
from search.query import parse_query, restoration_bonus, scoring_query

QUERIES = [
    "giao thong",  # common words: many near-equal scores
    "so giao duc va dao tao",  # a run of words, in titles and bodies
    "ha noi",
    "bao lu mien trung",
    "Đà Nẵng du lịch",
]


def scored(searcher: Any, q: str) -> tuple[Any, list[tuple[int, float | None]]]:
    """The query parsed, and its matches as the plan scores them before the reranking."""
    parsed = parse_query(q)
    restored = restoration_bonus(parsed.words, plan.restored_words(searcher, parsed.words))
    matched = query_docs(searcher, parsed, "any") or frozenset()  # many: more to leave
    deadline = time.perf_counter() + 30
    ranked, _ = plan._score(searcher, scoring_query(parsed, restored), matched, 100, deadline)
    return parsed, ranked


@pytest.mark.parametrize("q", QUERIES)
@pytest.mark.parametrize("need", [1, 3, 10])
def test_the_first_needed_are_the_same_as_with_every_document_read(
    searcher: Any, q: str, need: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed, ranked = scored(searcher, q)
    assert len(ranked) > need  # else there is nothing to leave unread
    everything = plan._rerank_window(searcher, ranked, parsed, len(ranked))
    reads = []
    read = searcher.stored_fields
    monkeypatch.setattr(searcher, "stored_fields", lambda d: reads.append(d) or read(d))
    pruned = plan._rerank_window(searcher, ranked, parsed, need)
    assert pruned[:need] == everything[:need]
    assert sorted(d for d, _ in pruned) == sorted(d for d, _ in ranked)  # nothing dropped
    assert len(reads) <= len(ranked)


def test_some_documents_are_left_unread(searcher: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed, ranked = scored(searcher, "giao thong")
    reads: list[int] = []
    read = searcher.stored_fields
    monkeypatch.setattr(searcher, "stored_fields", lambda d: reads.append(d) or read(d))
    plan._rerank_window(searcher, ranked, parsed, 1)
    assert 0 < len(reads) < len(ranked)
