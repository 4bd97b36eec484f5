"""Warming the caches before the server forks (search/warm.py), and the fork helper."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from search import postings
from search.forkwork import fork_call
from search.postings import reader_key
from search.store import open_index
from search.warm import frequent_terms, warm_caches, warmed_fields


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


def test_warming_fills_the_caches_the_workers_read(demo_index_dir: Path) -> None:
    done = warm_caches(str(demo_index_dir), 3)
    assert done["postings"] > 0
    with open_index(demo_index_dir).searcher() as searcher:  # another searcher, as a worker's
        for fieldname in warmed_fields():
            for text in frequent_terms(searcher, fieldname, 3):
                key = (*reader_key(searcher), fieldname, text)
                assert postings._POSTINGS.get(key) is not None, (fieldname, text)


def test_a_forked_helper_returns_its_result_or_its_failure() -> None:
    assert fork_call(lambda: [1, 2], lambda: "mine") == ("mine", [1, 2])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        fork_call(lambda: 1 // 0, lambda: "mine")
