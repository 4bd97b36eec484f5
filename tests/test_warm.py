"""Warming the caches before the server forks (search/warm.py), and the fork helper."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from search.execute import docsets as postings
from search.execute import scoring as scorer
from search.index.caches import reader_key
from search.index.forked_call import fork_call
from search.warmup import frequent_terms, warm_caches, warmed_fields
from web import create_app


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
def test_warming_fills_the_caches_the_workers_read(
    demo_index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    """However `serve --index-dir` names the index, the warm-up fills the entries that the
    app's searchers read (it opens the index by its real path, as the app does)."""
    postings._POSTINGS.clear()
    scorer._LENGTHS.clear()
    monkeypatch.chdir(tmp_path)
    given = {
        "absolute": str(demo_index_dir),
        "relative": os.path.relpath(demo_index_dir),
        "symlink": "link",
    }[spelling]
    Path("link").symlink_to(demo_index_dir)
    done = warm_caches(given, 3)
    assert done["postings"] > 0
    app = create_app({"INDEX_DIR": given, "TESTING": True})
    with app.app_context():
        searcher = app.extensions["vnsearch_index"].opened().searcher  # a worker's searcher
        for fieldname in warmed_fields():
            assert (*reader_key(searcher), fieldname) in scorer._LENGTHS, fieldname
            for text in frequent_terms(searcher, fieldname, 3):
                key = (*reader_key(searcher), fieldname, text)
                assert postings._POSTINGS.get(key) is not None, (fieldname, text)
    app.extensions["vnsearch_index"].close()


def test_a_forked_helper_returns_its_result_or_its_failure() -> None:
    assert fork_call(lambda: [1, 2], lambda: "mine") == ("mine", [1, 2])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        fork_call(lambda: 1 // 0, lambda: "mine")
