"""Term infos and document frequencies from the index's caches equal Whoosh's own."""

from __future__ import annotations

from typing import Any

import pytest

from search.index.caches import IndexCaches
from search.index.store import ArchiveSearcher
from search.index.term_infos import doc_frequency, term_info

TERMS = [
    ("title_folded", "da"),  # common
    ("body_folded", "nang"),
    ("title", "Đà"),  # accented, in its field's spelling or not at all
    ("title_bigram_folded", "da_nang"),
    ("year", "2025"),  # an ID field
    ("title_folded", "khongcotu"),  # absent everywhere
]


@pytest.mark.parametrize(("fieldname", "text"), TERMS)
def test_term_infos_equal_whooshs(churned_index: Any, fieldname: str, text: str) -> None:
    caches = IndexCaches()
    with churned_index.reader() as reader:
        assert len(reader.leaf_readers()) > 1
        for _ in range(2):  # looked up, then from the cache
            assert doc_frequency(caches, reader, fieldname, text) == reader.doc_frequency(
                fieldname, text
            )
            for leaf, _ in reader.leaf_readers():
                found = term_info(caches, leaf, fieldname, text)
                if (fieldname, text) not in leaf:
                    assert found is None
                    continue
                expected = leaf.term_info(fieldname, text)
                assert found is not None
                assert (found.doc_frequency(), found.weight(), found.is_inlined()) == (
                    expected.doc_frequency(),
                    expected.weight(),
                    expected.is_inlined(),
                )


@pytest.mark.parametrize(("fieldname", "text"), [*TERMS, ("published", b"\x00")])
def test_the_searcher_counts_through_the_cache(
    churned_index: Any, fieldname: str, text: str | bytes
) -> None:
    with churned_index.searcher() as searcher:
        assert isinstance(searcher, ArchiveSearcher)
        expected = searcher.reader().doc_frequency(fieldname, text)
        assert searcher.doc_frequency(fieldname, text) == expected
        if isinstance(text, str):
            assert len(searcher.caches.term_infos) > 0
