"""Warming an index's caches before the server forks (search/warmup.py), and the fork helper."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from search.features.facets import FACETS
from search.index.caches import caches_of, generation
from search.index.forked_call import fork_call
from search.warmup import frequent_terms, warmed_fields
from web.index import index_handle
from web.serve import serving_app


@pytest.mark.parametrize("fieldname", ["title_folded", "body_folded", "summary_bigram_folded"])
def test_frequent_terms_are_the_most_frequent(searcher: Any, fieldname: str) -> None:
    reader = searcher.reader()
    frequencies = sorted(
        (reader.doc_frequency(fieldname, text) for text in reader.lexicon(fieldname)),
        reverse=True,
    )
    got = frequent_terms(searcher, fieldname, 5)
    assert len(got) == 5
    assert [reader.doc_frequency(fieldname, text) for text in got] == frequencies[:5]


@pytest.mark.parametrize("spelling", ["absolute", "relative", "symlink"])
def test_a_forked_worker_starts_with_the_warmed_caches(
    demo_index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    """However `serve --index-dir` names the index, the app `vnsearch serve` forks its workers
    with has its index warmed: a worker's first searcher finds the frequent terms' postings
    and the field lengths already there, inherited from the parent."""
    monkeypatch.chdir(tmp_path)
    given = {
        "absolute": str(demo_index_dir),
        "relative": os.path.relpath(demo_index_dir),
        "symlink": "link",
    }[spelling]
    Path("link").symlink_to(demo_index_dir)
    handle = index_handle(serving_app(given, 3))

    def in_worker() -> tuple[int, list[tuple[str, ...]]]:
        searcher = handle.opened().searcher  # what a worker's thread reads through
        return len(caches_of(searcher).postings), cold_entries(searcher, 3)

    _, (postings, cold) = fork_call(in_worker, lambda: None)
    assert postings > 0
    assert cold == []
    handle.close()


def cold_entries(searcher: Any, terms_per_field: int) -> list[tuple[str, ...]]:
    """The warm-up's entries missing from the searcher's caches: each facet's coded column,
    each warmed field's lengths and its most frequent terms' postings."""
    caches, current = caches_of(searcher), generation(searcher)
    cold: list[tuple[str, ...]] = [
        ("facet", facet.field)
        for facet in FACETS
        if caches.facet_columns.get((current, facet.field)) is None
    ]
    for fieldname in warmed_fields():
        if caches.lengths.get((current, fieldname)) is None:
            cold.append((fieldname,))
        for text in frequent_terms(searcher, fieldname, terms_per_field):
            if caches.postings.get((current, fieldname, text)) is None:
                cold.append((fieldname, text))
    return cold


def test_a_forked_helper_returns_its_result_or_its_failure() -> None:
    assert fork_call(lambda: [1, 2], lambda: "mine") == ("mine", [1, 2])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        fork_call(lambda: 1 // 0, lambda: "mine")
