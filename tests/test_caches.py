"""Who owns the caches (search.index.caches): the open index, shared by its searchers; any
other searcher gets caches of its own and the same answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from whoosh import index as whoosh_index

from cli import main as cli
from search.engine import SearchRequest, run_search
from search.execute.docsets import term_postings
from search.index.caches import SizedCache, caches_of, generation
from search.index.documents import stored_fields
from search.index.durability import live_dir
from search.index.store import open_index
from search.query.weights import weighting
from web.index import IndexHandle

QUERIES = ["", "da nang", "giao thông", "thu*", "mưa -lũ"]


@pytest.mark.parametrize("q", QUERIES)
def test_a_plain_whoosh_searcher_gets_caches_of_its_own_and_the_same_answers(
    demo_index: Any, demo_index_dir: Path, q: str
) -> None:
    plain = whoosh_index.open_dir(live_dir(demo_index_dir))  # not opened through the store
    request = SearchRequest.from_params(q=q)
    with plain.searcher(weighting=weighting()) as first, plain.searcher() as second:
        assert caches_of(first) is caches_of(first)
        assert caches_of(first) is not caches_of(second)
        assert caches_of(first) is not demo_index.caches
        got = run_search(first, request)
    with demo_index.searcher(weighting=weighting()) as shared:
        expected = run_search(shared, request)
    assert {**got, "took_ms": 0} == {**expected, "took_ms": 0}


def test_a_leaf_searcher_gets_caches_of_its_own(churned_index: Any) -> None:
    """Whoosh's per-segment searchers number documents within their segment: sharing the
    index's caches (same generation) would hand them the whole index's lists."""
    with churned_index.searcher() as searcher:
        assert searcher.subsearchers
        for leaf_searcher, _ in searcher.subsearchers:
            assert caches_of(leaf_searcher) is not caches_of(searcher)
            ids, _ = term_postings(leaf_searcher, "title_folded", "mua")
            assert list(ids) == _whoosh_ids(leaf_searcher.reader(), "title_folded", "mua")
        ids, _ = term_postings(searcher, "title_folded", "mua")
        assert list(ids) == _whoosh_ids(searcher.reader(), "title_folded", "mua")


def _whoosh_ids(reader: Any, fieldname: str, text: str) -> list[int]:
    if (fieldname, text) not in reader:
        return []
    return sorted(reader.postings(fieldname, text).all_ids())


def test_a_refreshed_searcher_shares_its_index_caches(tmp_path: Path, build_index: Any) -> None:
    source = tmp_path / "a.jsonl"
    source.write_text(_line("a1", "Mưa lớn ở Huế"), encoding="utf-8")
    build_index(tmp_path / "ix", [source])
    index = open_index(tmp_path / "ix")
    searcher = index.searcher()
    before = generation(searcher)
    source.write_text(_line("a2", "Mưa đá ở Huế"), encoding="utf-8")
    build_index(tmp_path / "ix", [source])
    searcher = searcher.refresh()
    assert caches_of(searcher) is index.caches
    assert generation(searcher) != before
    assert len(term_postings(searcher, "title_folded", "mua")[0]) == 2
    searcher.close()


def test_a_switched_index_leaves_no_cache_behind(tmp_path: Path, build_index: Any) -> None:
    """A rebuild switches the `current` link: the handle opens the new index, and the old
    one's caches are emptied though an idle thread may still hold a searcher of it."""
    live = tmp_path / "index"
    build_index(live, _sample(tmp_path))
    handle = IndexHandle(str(live))
    run_search(handle.opened().searcher, SearchRequest.from_params(q="mưa"))
    old = handle.index()
    assert len(old.caches.segment_postings) > 0 and len(old.caches.sets) > 0
    rebuild = ["index", "--rebuild", "-q", "--index-dir", str(live), *map(str, _sample(tmp_path))]
    result = CliRunner().invoke(cli, rebuild)
    assert result.exit_code == 0, result.output
    assert handle.opened().searcher.doc_count() > 0
    assert handle.index() is not old
    assert all(len(cache) == 0 for cache in old.caches.by_name().values())
    handle.close()


def _sample(tmp_path: Path) -> list[Path]:
    source = tmp_path / "sample.jsonl"
    source.write_text(_line("s1", "Mưa lớn ở Huế") + _line("s2", "Mưa đá ở Sơn La"), "utf-8")
    return [source]


def _line(article_id: str, title: str) -> str:
    record = {"id": article_id, "title": title, "url": f"https://example.vn/{article_id}"}
    return json.dumps(record, ensure_ascii=False) + "\n"


def test_a_one_generation_cache_drops_the_other_generations() -> None:
    cache = SizedCache(64, one_generation=True)
    cache.put((7, "title"), [1])
    cache.put((7, "body"), [2])
    assert len(cache) == 2
    cache.put((8, "title"), [3])
    assert len(cache) == 1 and cache.get((7, "body")) is None and cache.get((8, "title")) == [3]


def test_putting_a_held_key_replaces_its_value_and_size() -> None:
    cache = SizedCache(100, len)
    cache.put(("lexicon",), "old")
    cache.put(("lexicon",), "newer")
    assert cache.get(("lexicon",)) == "newer" and cache.held == 5 and len(cache) == 1


def test_a_stored_article_read_through_the_caches_is_whooshs(demo_index: Any) -> None:
    with demo_index.searcher() as searcher:
        docnums = list(searcher.reader().all_doc_ids())
        for docnum in docnums + docnums:  # the second time from the cache
            assert stored_fields(searcher, docnum) == searcher.stored_fields(docnum)
        assert len(caches_of(searcher).stored) == len(docnums)


def test_an_article_updated_by_a_commit_is_read_anew(tmp_path: Path, build_index: Any) -> None:
    source = tmp_path / "a.jsonl"
    source.write_text(_line("a1", "Mưa lớn ở Huế"), encoding="utf-8")
    build_index(tmp_path / "ix", [source])
    index = open_index(tmp_path / "ix")
    with index.searcher() as searcher:
        assert stored_fields(searcher, 0)["title"] == "Mưa lớn ở Huế"
    source.write_text(_line("a1", "Mưa đá ở Huế"), encoding="utf-8")
    build_index(tmp_path / "ix", [source])
    with index.searcher() as searcher:  # the next generation; the cache is the same
        docnum = searcher.document_number(id="a1")
        assert stored_fields(searcher, docnum)["title"] == "Mưa đá ở Huế"
