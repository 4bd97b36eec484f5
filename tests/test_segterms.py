"""A term's postings in one segment (search.index.segment_postings), as Whoosh's matcher
walks them."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from search.execute.docsets import term_postings
from search.index.caches import ENTRY_BYTES, IndexCaches
from search.index.segment_postings import _matcher_postings, _read_postings
from search.index.store import open_index


@pytest.fixture(scope="module")
def long_lists_index(tmp_path_factory: pytest.TempPathFactory, build_index: Any) -> Any:
    """300 articles in two segments sharing their words (lists of several 128-posting W3
    blocks, term frequencies from 1 to 5), some of them deleted."""
    directory = tmp_path_factory.mktemp("long-lists")
    source = directory / "articles.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for n in range(300):
            record = {
                "id": f"L{n}",
                "url": f"https://bao.example.vn/mua-lon-{n}.html",
                "title": f"Mưa lớn ở Đà Nẵng, bản tin số {n}",
                "summary": "Giao thông ùn tắc sau mưa lớn.",
                "body": "Mưa lớn kéo dài. " * (1 + n % 5) + f"Số {n}.",
                "published": "2024-05-01T08:00:00+07:00",
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    builder = build_index(directory / "ix", [source], batch_size=150)
    builder.delete([f"L{n}" for n in range(0, 300, 7)])
    return builder.index


@pytest.mark.parametrize("fieldname", ["title_folded", "body", "summary_bigram_folded"])
@pytest.mark.parametrize("index_name", ["churned_index", "long_lists_index"])
def test_segment_postings_equal_whoosh_matchers(
    request: pytest.FixtureRequest, index_name: str, fieldname: str
) -> None:
    """Every term of the field, in every segment: the one-read parse (inlined lists, lists of
    several blocks, deleted documents dropped) gives what Whoosh's own matcher walks."""
    index = request.getfixturevalue(index_name)
    with index.searcher() as searcher:
        leaves = [leaf for leaf, _ in searcher.reader().leaf_readers()]
        assert len(leaves) > 1
        assert any(leaf.has_deletions() for leaf in leaves)
        longest = 0
        for leaf in leaves:
            for term in leaf.lexicon(fieldname):
                text = term.decode("utf-8")
                matcher = leaf.postings(fieldname, text)
                expected: list[tuple[int, float]] = []
                while matcher.is_active():
                    expected.append((matcher.id(), matcher.weight()))
                    matcher.next()
                ids, weights = _read_postings(IndexCaches(), leaf, fieldname, text)
                assert list(zip(ids.tolist(), weights.tolist(), strict=True)) == expected, text
                assert (ids.dtype, weights.dtype) == (np.int32, np.float32)
                matcher_ids, matcher_weights = _matcher_postings(leaf, fieldname, text)
                assert matcher_ids.tolist() == ids.tolist()
                assert matcher_weights.tolist() == weights.tolist()
                longest = max(longest, len(ids))
            absent = _read_postings(IndexCaches(), leaf, fieldname, "zzzz")
            assert [len(a) for a in absent] == [0, 0]
        if index_name == "long_lists_index":
            assert longest > 128  # lists of more than one W3 block


def test_unknown_words_leave_a_bounded_number_of_cache_entries(churned_index: Any) -> None:
    """Every unknown word leaves an empty entry per field and per segment: each counts as
    ENTRY_BYTES, so a stream of them cannot hold more than budget / that."""
    index = open_index(churned_index.storage.folder)  # caches of its own, budget shrunk below
    cache = index.caches.segment_postings
    cache.budget = 100 * ENTRY_BYTES
    with index.searcher() as searcher:
        assert len(searcher.reader().leaf_readers()) > 1
        for n in range(300):
            assert len(term_postings(searcher, "title_folded", f"zzq{n}")[0]) == 0
    assert len(cache) == 100
