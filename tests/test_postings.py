"""Match sets from posting lists equal Whoosh's own answers, deletions and segments included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from search.execute.docsets import DocSetQuery, query_docs
from search.query.build import build_query, matching_part
from search.query.parse import LEVELS, parse_query

QUERIES = [
    "da nang",
    "giao thông",
    "ha noi OR hue",
    '"hàng không"',
    "title:Đà",
    "bệnh viện tỉnh",
    "nông dân lúa gạo xuất khẩu",
    "thu*",
    "nguyen~1",
    "author:minh",
    "category:y te",
    "zzzz",
]


def whoosh_docs(searcher: Any, text: str, level: str) -> frozenset[int]:
    return frozenset(searcher.docs_for_query(matching_part(build_query(parse_query(text), level))))


@pytest.mark.parametrize("text", QUERIES)
@pytest.mark.parametrize("level", LEVELS)
def test_sets_equal_whoosh(churned_index: Any, text: str, level: str) -> None:
    with churned_index.searcher() as searcher:
        assert len(searcher.reader().leaf_readers()) > 1
        expected = whoosh_docs(searcher, text, level)
        got = query_docs(searcher, parse_query(text), level)
        assert got is not None and set(got) == expected


def test_docset_query_restricts_any_query(churned_index: Any) -> None:
    with churned_index.searcher() as searcher:
        everything = sorted(searcher.reader().all_doc_ids())
        chosen = frozenset(everything[::5])
        found = {hit.docnum for hit in searcher.search(DocSetQuery(chosen), limit=None)}
        assert found == chosen


def test_demo_sets_on_one_segment(demo_index_dir: Path) -> None:
    from search.index.store import open_index

    with open_index(demo_index_dir).searcher() as searcher:
        for text in QUERIES:
            got = query_docs(searcher, parse_query(text), "all")
            assert got is not None and set(got) == whoosh_docs(searcher, text, "all")


def test_exclusions_exclude_where_whoosh_does_not(demo_index_dir: Path) -> None:
    """Whoosh's AndNot lets through a document holding an excluded word (demo-056 has "bão"
    for `mưa -lũ -bão`); the sets are checked against the stored text instead."""
    from search.analysis.chains import folded_terms
    from search.index.store import open_index

    with open_index(demo_index_dir).searcher() as searcher:
        found = query_docs(searcher, parse_query("mưa -lũ -bão"), "all")
        got = set(found) if found is not None else None
        expected = set()
        for docnum, fields in searcher.iter_docs():
            text = " ".join(fields.get(k, "") for k in ("title", "summary", "body"))
            words = set(folded_terms(text))
            if "mua" in words and not words & {"lu", "bao"}:
                expected.add(docnum)
        assert got == expected
        assert whoosh_docs(searcher, "mưa -lũ -bão", "all") - got  # the upstream bug, still there


def test_sized_cache_evicts_the_least_recent_by_what_it_holds() -> None:
    from search.index.caches import SizedCache

    cache = SizedCache(10, len)
    cache.put(("a",), "xxxx")
    cache.put(("b",), "xxxx")
    assert cache.get(("a",)) == "xxxx"  # now the most recent
    cache.put(("c",), "xxxx")  # 12 > 10: the least recent (b) goes
    assert cache.get(("b",)) is None and cache.held == 8
    cache.put(("d",), "x" * 50)  # alone over budget: kept, the others go
    assert cache.get(("d",)) and cache.get(("a",)) is None and cache.held == 50


def test_sized_cache_bounds_empty_values_too() -> None:
    from search.index.caches import SizedCache

    cache = SizedCache(3, len)
    for word in ("zzqa", "zzqb", "zzqc", "zzqd", "zzqe"):  # words no document holds
        cache.put((word,), frozenset())
    assert cache.held == 3 and cache.get(("zzqa",)) is None and cache.get(("zzqe",)) is not None


def test_postings_follow_commits_that_delete_and_add(tmp_path: Path) -> None:
    """Segment shares are cached across commits (search.index.segment_postings): a deletion
    in an old segment and a document in a new one both show in the next search, and a
    commit that only adds has only its own segment read."""
    from search.execute.docsets import term_postings
    from search.index.bulk_writer import BulkWriter
    from search.index.store import open_or_create

    ix = open_or_create(tmp_path)  # one index object: its searchers share its caches
    shares = ix.caches.segment_postings

    def commit(*docs: dict[str, str], delete: str | None = None) -> None:
        writer = BulkWriter(ix)
        if delete:
            writer.delete_by_term("id", delete)
        for doc in docs:
            writer.add_document(**doc)
        writer.commit(merge=False)

    def found() -> list[str]:
        with ix.searcher() as searcher:
            ids, _ = term_postings(searcher, "title_folded", "mua")
            return sorted(searcher.stored_fields(d)["id"] for d in ids)

    commit(
        *(
            {"id": f"a{n}", "title": f"Mưa lớn {n}", "title_folded": f"Mưa lớn {n}"}
            for n in range(3)
        )
    )
    assert found() == ["a0", "a1", "a2"]
    commit({"id": "b", "title": "Mưa đá", "title_folded": "Mưa đá"}, delete="a1")
    assert found() == ["a0", "a2", "b"]
    commit(delete="a0")
    assert found() == ["a2", "b"]
    held = len(shares)
    commit({"id": "c", "title": "Mưa phùn", "title_folded": "Mưa phùn"})
    assert found() == ["a2", "b", "c"]
    assert len(shares) == held + 1  # the new segment's share; the others' were reused
