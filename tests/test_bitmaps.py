"""Match sets as roaring bitmaps (search.execute.bitmaps) give what Python sets gave: the set
algebra, live documents, date windows and facet counts, on many segments with deletions."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.execute import docsets
from search.execute.bitmaps import all_but_one, doc_array, docset, intersection, union
from search.execute.docsets import live_docs, query_docs, term_docs
from search.features import facets
from search.features.filters import DateWindow, window_docs
from search.index.columns import NO_DATE, coded_column, date_values
from search.index.store import open_index
from search.query.parse import parse_query
from search.query.weights import weighting

# Document numbers over several 65,536-number containers, dense and sparse.
NUMBERS = st.one_of(st.integers(0, 300), st.integers(0, 300_000))
SETS = st.lists(st.frozensets(NUMBERS, max_size=60), max_size=6)


@given(SETS)
def test_set_algebra_equals_frozensets(sets: list[frozenset[int]]) -> None:
    bitmaps = [docset(s) for s in sets]
    assert set(union(bitmaps)) == frozenset().union(*sets)
    expected = frozenset.intersection(*sets) if sets else frozenset()
    assert set(intersection(bitmaps)) == expected
    counts = Counter(d for s in sets for d in s)
    wanted = len(sets) - 1 if len(sets) >= 3 else (1 if len(sets) == 2 else len(sets) + 1)
    assert set(all_but_one(bitmaps)) == {d for d, n in counts.items() if n >= wanted}


@given(st.frozensets(NUMBERS, max_size=200))
def test_arrays_and_bitmaps_hold_the_same_numbers(numbers: frozenset[int]) -> None:
    as_array = np.array(sorted(numbers), dtype=np.int32)
    assert set(docset(as_array)) == numbers == set(docset(iter(numbers)))
    assert doc_array(docset(as_array)).tolist() == sorted(numbers)
    assert doc_array(numbers).tolist() == sorted(numbers)  # from any iterable too


def test_live_documents_are_whooshs(churned_index: Any) -> None:
    with churned_index.searcher() as searcher:
        assert any(leaf.has_deletions() for leaf, _ in searcher.reader().leaf_readers())
        assert set(live_docs(searcher)) == set(searcher.reader().all_doc_ids())


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2019, 1, 1, tzinfo=UTC), datetime(2019, 12, 31, 23, 59, tzinfo=UTC)),
        (None, datetime(2018, 6, 30, tzinfo=UTC)),
        (datetime(2021, 3, 1, tzinfo=UTC), None),
        (datetime(2030, 1, 1, tzinfo=UTC), None),  # nothing that late
    ],
)
def test_date_windows_equal_a_scan_of_every_date(
    churned_index: Any, reference_columns: Any, start: datetime | None, end: datetime | None
) -> None:
    from whoosh.util.times import datetime_to_long

    from search.analysis.dates import to_index_value

    with churned_index.searcher() as searcher:
        published = reference_columns[0](searcher)
        low = datetime_to_long(to_index_value(start)) if start else None
        high = datetime_to_long(to_index_value(end)) if end else None
        expected = {
            d
            for d, v in enumerate(published)
            if v is not None and (low is None or v >= low) and (high is None or v <= high)
        }
        assert set(window_docs(searcher, DateWindow(start, end))) == expected


def facet_counts(index_dir: Any) -> tuple[list[dict[str, Counter[str]]], set[bool]]:
    """Each facet's counts over a few match sets, on a fresh index object (empty caches), and
    which ways they were counted (True: by per-value bitmaps)."""
    found = []
    with open_index(index_dir).searcher(weighting=weighting()) as searcher:
        for docs in match_sets(searcher):
            found.append({f.field: facets._count(searcher, f.field, docs) for f in facets.FACETS})
        ways = {facets.facet_column(searcher, f.field).docs is not None for f in facets.FACETS}
    return found, ways


def match_sets(searcher: Any) -> list[Any]:
    everything = live_docs(searcher)
    some = query_docs(searcher, parse_query("giao thông"), "any")
    assert some is not None and 0 < len(some) < len(everything)
    return [everything, some, docset(doc_array(everything)[::3])]


def test_facet_counts_equal_a_count_of_every_match(
    churned_index: Any, reference_columns: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ways of counting (a cardinality per value's bitmap, or the codes of the matches
    gathered and counted, the one chosen by the number of matches) give what counting each
    match's value gave."""
    index_dir = churned_index.storage.folder
    expected = []
    with open_index(index_dir).searcher(weighting=weighting()) as searcher:
        for docs in match_sets(searcher):
            counts = {}
            for facet in facets.FACETS:
                values = reference_columns[1](searcher, facet.field)
                counted = Counter(values[d] for d in docs)
                counted.pop("", None)
                counts[facet.field] = counted
            expected.append(counts)
    assert all(counts["year"] and counts["category"] for counts in expected)
    assert facet_counts(index_dir) == (expected, {True})  # each way as chosen
    monkeypatch.setattr(facets, "GATHER_PER_CONTAINER", 0)  # by each value's bitmap
    monkeypatch.setattr(facets, "GATHER_PER_ARRAY_VALUE", 10**9)
    assert facet_counts(index_dir) == (expected, {True})
    monkeypatch.setattr(facets, "MAX_BITMAP_VALUES", 0)  # no bitmaps: gathered
    assert facet_counts(index_dir) == (expected, {False})


@pytest.mark.parametrize("newest_first", [True, False])
@pytest.mark.parametrize("share", [1, 3, 40])  # every 1st, 3rd, 40th live document
@pytest.mark.parametrize("window", [1, 5, 1000])
def test_date_order_equals_a_sort_of_the_matches(
    churned_index: Any, reference_columns: Any, newest_first: bool, share: int, window: int
) -> None:
    from search.execute.date_order import by_date

    with churned_index.searcher() as searcher:
        published = reference_columns[0](searcher)
        docs = docset(doc_array(live_docs(searcher))[::share])
        dated = sorted(
            (d for d in docs if published[d] is not None), key=lambda d: (published[d], d)
        )
        undated = sorted(d for d in docs if published[d] is None)
        expected = (dated[::-1] if newest_first else dated) + undated
        got = by_date(searcher, docs, window, newest_first)
        assert got == [(d, None) for d in expected[:window]]


def test_columns_equal_whooshs_own_reading_across_commits(
    tmp_path: Any, build_index: Any, write_jsonl: Any, reference_columns: Any
) -> None:
    """The cached columns (per segment, kept across commits, joined per generation) read what
    Whoosh reads, on every generation of an index growing by small commits: segments without
    an author column, undated articles, values first seen in a later segment."""
    stored_dates, leaf_column_values = reference_columns
    later = [
        {"id": "later-1", "title": "Bão số 9", "source": "Báo Mới", "author": "Lê Văn X"},
        {"id": "later-2", "title": "Mưa lớn", "published": "2031-05-01T08:00:00+07:00"},
    ]
    demo_articles = Path(__file__).parent.parent / "demo" / "articles.jsonl"
    build_index(tmp_path / "ix", [demo_articles], batch_size=30)
    index = open_index(tmp_path / "ix")  # one index object: its caches see every commit
    for number, record in enumerate([None, *later]):
        if record is not None:
            build_index(tmp_path / "ix", [write_jsonl(tmp_path / f"{number}.jsonl", [record])])
        with index.searcher() as searcher:
            dates = date_values(searcher)
            assert [None if v == NO_DATE else int(v) for v in dates] == stored_dates(searcher)
            for facet in facets.FACETS:
                coded = coded_column(searcher, facet.field)
                expected = leaf_column_values(searcher, facet.field)
                assert [coded.values[code] for code in coded.codes] == expected
    with index.searcher() as searcher:
        assert "Lê Văn X" in coded_column(searcher, "author").values
        assert {"later-1", "later-2"} <= {fields["id"] for fields in searcher.all_stored_fields()}


# (field, term): common, rare and absent words of the churned index
TERMS = [("title_folded", "mua"), ("body_folded", "o"), ("title_folded", "hue"), ("id", "x")]


@pytest.mark.parametrize(("fieldname", "text"), TERMS)
def test_a_terms_documents_are_whooshs_across_segments(
    churned_index: Any, fieldname: str, text: str
) -> None:
    with churned_index.searcher() as searcher:
        reader = searcher.reader()
        assert len(reader.leaf_readers()) > 1
        held = (fieldname, text) in reader
        expected = set(reader.postings(fieldname, text).all_ids()) if held else set()
        found = term_docs(searcher, fieldname, text)
        assert set(found) == {d for d in expected if not reader.is_deleted(d)}


def test_a_commit_builds_only_the_new_segments_sets(
    tmp_path: Any, build_index: Any, write_jsonl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_articles = Path(__file__).parent.parent / "demo" / "articles.jsonl"
    build_index(tmp_path / "ix", [demo_articles])
    index = open_index(tmp_path / "ix")
    with index.searcher() as searcher:
        before = term_docs(searcher, "title_folded", "mua")
        segments = len(searcher.reader().leaf_readers())
    new = [{"id": "later-1", "title": "Mưa đá ở Sơn La"}]
    build_index(tmp_path / "ix", [write_jsonl(tmp_path / "new.jsonl", new)])
    built: list[int] = []
    monkeypatch.setattr(docsets, "docset", lambda ids: built.append(len(ids)) or docset(ids))
    with index.searcher() as searcher:
        after = term_docs(searcher, "title_folded", "mua")
        assert len(searcher.reader().leaf_readers()) == segments + 1
    assert built == [1]  # the new segment's set alone: the others' are kept
    assert len(after) == len(before) + 1
