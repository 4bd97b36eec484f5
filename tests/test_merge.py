"""Segment merges without Whoosh's pool (search/merge.py) leave what Whoosh's merge leaves."""

from __future__ import annotations

import shutil
from collections import Counter
from math import log
from pathlib import Path
from typing import Any

import pytest
from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

from search.index import merge
from search.index.bulk_writer import BulkWriter
from search.index.field_merge import FieldMerge
from search.index.merge import MERGE_FACTOR
from search.index.schema import ArticleSchema


def segmented(directory: Path, docs: list[dict[str, Any]], sizes: list[int]) -> Any:
    """An index of one segment per size, written by ours without merging."""
    directory.mkdir()
    ix = whoosh_index.create_in(str(directory), ArticleSchema())
    start = 0
    for size in sizes:
        writer = BulkWriter(ix)
        for doc in docs[start : start + size]:
            writer.add_document(**doc)
        writer.commit(merge=False)
        start += size
    return ix


def delete_ids(ix: Any, ids: list[str]) -> None:
    writer = BulkWriter(ix)
    for doc_id in ids:
        writer.delete_by_term("id", doc_id)
    writer.commit(merge=False)


# (segment sizes, ids deleted first, documents added in the merging commit)
SCENARIOS = [
    ([60, 70, 80], [], 0),
    ([60, 70, 80], ["mix-3", "mix-4", "mix-40", "mix-99"], 0),  # deletions in two segments
    ([100, 90], ["mix-1", "mix-100"], 12),  # new documents come first, then merged ones
    ([20, 200], [], 0),  # long posting lists: several blocks
]


def merged_both_ways(
    tmp_path: Path,
    docs: list[dict[str, Any]],
    sizes: list[int],
    deleted: list[str],
    added: int,
    everything: Any,
    **options: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a reader sees after our merge (BulkWriter with `options`) and after Whoosh's, of
    the same segments, deletions and added documents."""
    before = sum(sizes)
    original = segmented(tmp_path / "original", docs, sizes)
    if deleted:
        delete_ids(original, deleted)
    results = []
    for name, writer_class, kwargs in (
        ("ours", BulkWriter, options),
        ("whoosh", SegmentWriter, {}),
    ):
        shutil.copytree(tmp_path / "original", tmp_path / name)
        ix = whoosh_index.open_dir(str(tmp_path / name))
        writer = writer_class(ix, **kwargs)
        for doc in docs[before : before + added]:
            writer.add_document(**doc)
        writer.commit(optimize=True)
        assert len(ix._segments()) == 1
        assert ix.doc_count() == before - len(deleted) + added
        results.append(everything(ix))
    ours, whoosh = results
    return ours, whoosh


def assert_same(ours: dict[str, Any], whoosh: dict[str, Any]) -> None:
    assert ours.keys() == whoosh.keys()
    for key in whoosh:
        assert ours[key] == whoosh[key], key


@pytest.mark.parametrize(("sizes", "deleted", "added"), SCENARIOS)
def test_a_merge_leaves_what_whoosh_merge_leaves(
    tmp_path: Path,
    sizes: list[int],
    deleted: list[str],
    added: int,
    demo_documents: Any,
    everything: Any,
) -> None:
    assert_same(*merged_both_ways(tmp_path, demo_documents(), sizes, deleted, added, everything))


@pytest.mark.parametrize("merge_procs", [1, 2])
def test_a_merge_streamed_in_small_pieces_leaves_what_whoosh_merge_leaves(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    merge_procs: int,
    demo_documents: Any,
    everything: Any,
) -> None:
    """Term tables read a few entries at a time and terms written a few at a time, in one
    process or two: nothing is lost or repeated at the edges of the pieces."""
    monkeypatch.setattr(merge, "ENTRIES_PIECE", 97)
    monkeypatch.setattr(FieldMerge, "chunk", 7)
    ours, whoosh = merged_both_ways(
        tmp_path,
        demo_documents(),
        [100, 90],
        ["mix-1", "mix-100"],
        12,
        everything,
        merge_procs=merge_procs,
    )
    assert_same(ours, whoosh)


def test_a_merge_among_boosted_documents_goes_through_whoosh_pool(
    tmp_path: Path, demo_documents: Any, everything: Any
) -> None:
    docs = demo_documents()
    segmented(tmp_path / "original", docs, [50, 50])
    results = []
    for name, writer_class in (("ours", BulkWriter), ("whoosh", SegmentWriter)):
        shutil.copytree(tmp_path / "original", tmp_path / name)
        ix = whoosh_index.open_dir(str(tmp_path / name))
        writer = writer_class(ix)
        writer.add_document(**{**docs[120], "_boost": 2.0})
        writer.commit(optimize=True)
        results.append(everything(ix))
    assert results[0] == results[1]


def tier(segment: Any) -> int:
    return int(log(max(1, segment.doc_count())) / log(MERGE_FACTOR))


def test_batch_commits_merge_by_size_tier(tmp_path: Path, demo_documents: Any) -> None:
    """Small commits one after another: segments of one tier are merged once there are
    MERGE_FACTOR of them, so the index keeps a few per tier and loses no document."""
    docs = demo_documents()[:100]
    ix = whoosh_index.create_in(str(tmp_path), ArticleSchema())
    most = 0
    for start in range(0, len(docs), 2):
        writer = BulkWriter(ix)
        for doc in docs[start : start + 2]:
            writer.add_document(**doc)
        writer.commit()
        segments = ix._segments()
        assert max(Counter(map(tier, segments)).values()) <= MERGE_FACTOR
        most = max(most, len(segments))
    assert most < 2 * MERGE_FACTOR
    assert ix.doc_count() == len(docs)
    with ix.searcher() as searcher:
        assert sorted(f["id"] for f in searcher.all_stored_fields()) == sorted(
            d["id"] for d in docs
        )
        for doc in docs[::7]:
            assert searcher.document_number(id=doc["id"]) is not None
