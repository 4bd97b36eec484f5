"""A batch shared out to forked helpers: every document once, in order, the writer's own
share the largest; the documents made as each process reads them."""

from __future__ import annotations

from typing import Any

import pytest

from indexer.build import Documents
from search.index.helper_processes import HELPER_SLOWDOWN, _shares
from search.index.schema import Article, to_document


@pytest.mark.parametrize(
    ("count", "procs"),
    [(20_000, 2), (20_000, 3), (5, 2), (2, 2), (1, 2), (0, 2), (7, 1), (3, 3), (10, 8)],
)
def test_shares_cover_the_batch_once_the_writers_the_largest(count: int, procs: int) -> None:
    shares = _shares(count, procs)
    assert shares[0][0] == 0 and shares[-1][1] == count
    assert all(end == start for (_, end), (start, _) in zip(shares, shares[1:], strict=False))
    assert len(shares) == max(1, min(procs, count))
    sizes = [end - start for start, end in shares]
    assert count == 0 or all(sizes)  # no process gets nothing to do
    if count >= 1000 and procs > 1:  # the helpers' shares are smaller by the slowdown
        assert sizes[-1] == pytest.approx(sizes[0] * HELPER_SLOWDOWN, rel=0.01)


@pytest.mark.parametrize(
    ("count", "procs", "writer_busy"),
    [(20_000, 2, 1_200.0), (20_000, 3, 1_200.0), (20_000, 2, 50_000.0), (3, 2, 10.0), (2, 2, 5.0)],
)
def test_a_writer_busy_meanwhile_takes_a_smaller_share(
    count: int, procs: int, writer_busy: float
) -> None:
    """Other work the writer does while its helpers index (reading the next batch) counts
    as documents of its share: the helpers take them, but every process keeps one."""
    idle, busy = _shares(count, procs), _shares(count, procs, writer_busy)
    assert busy[0][0] == 0 and busy[-1][1] == count and len(busy) == len(idle)
    sizes = [end - start for start, end in busy]
    assert all(sizes) and sizes[-1] <= idle[-1][1] - idle[-1][0]
    writer_time = sizes[-1] + writer_busy  # in documents at the writer's pace
    if writer_time < count:  # it can be balanced: the writer as busy as each helper
        assert writer_time == pytest.approx(sizes[0] * HELPER_SLOWDOWN, rel=0.01)


def test_documents_are_made_as_they_are_read(indexed_articles: list[Article]) -> None:
    fields: Any = {"id", "title", "title_folded", "body", "body_folded", "url", "year"}
    docs = Documents(indexed_articles, fields)
    assert len(docs) == len(indexed_articles)
    made = [to_document(article, fields) for article in indexed_articles]
    assert [docs[i] for i in range(len(docs))] == made
    assert docs[2:5] == made[2:5]
