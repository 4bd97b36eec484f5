"""Indexes written before the package split still open and answer the same.

tests/fixtures/index-before-layers/ix was written by the commit before search/ became layer
packages; its pickled schema names the analyzers as `search.analysis.<Class>`.
expected.json holds what that commit answered for five queries.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.qparser import QueryParser

import search.analysis
from search.engine import SearchRequest, run_search
from search.index.schema import ArticleSchema
from search.index.store import open_index

OLD = Path(__file__).parent / "fixtures" / "index-before-layers"
EXPECTED = json.loads((OLD / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("q", sorted(EXPECTED))
def test_old_index_answers_as_before(q: str) -> None:
    with open_index(OLD / "ix").searcher() as searcher:
        result = run_search(searcher, SearchRequest.from_params(q=q))
    assert {"total": result["total"], "ids": [h["id"] for h in result["hits"]]} == EXPECTED[q]


def test_plain_whoosh_opens_the_old_index() -> None:
    ix = whoosh_index.open_dir(str(OLD / "ix"))
    with ix.searcher() as searcher:
        query = QueryParser("title_folded", ix.schema).parse("giao thong")
        assert len(searcher.search(query)) > 0


@pytest.mark.parametrize("cls", search.analysis.PICKLED_CLASSES)
def test_analyzers_pickle_under_the_package_path(cls: type) -> None:
    assert f"{search.analysis.__name__}\n{cls.__name__}".encode() in pickle.dumps(cls, protocol=0)


def test_a_new_schema_names_only_the_package_path() -> None:
    dumped = pickle.dumps(ArticleSchema(), protocol=0)
    assert b"search.analysis\n" in dumped
    assert b"search.analysis." not in dumped  # no submodule path becomes an on-disk format
