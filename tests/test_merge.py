"""Segment merges without Whoosh's pool (search/index/merge.py) leave what Whoosh's merge leaves."""

from __future__ import annotations

import io
import pickle
import shutil
import struct
import zlib
from collections import Counter
from math import log
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.writing import SegmentWriter

from search.index import merge
from search.index.block_zlib import compressed_block, renumbered_block
from search.index.bulk_writer import BulkWriter
from search.index.field_merge import FieldMerge
from search.index.merge import MERGE_FACTOR
from search.index.schema import ArticleSchema
from search.index.w3_codec import TERMINFO_SIZE


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


def compressed_blocks(ix: Any) -> list[bytes]:
    """The data of every compressed posting block of every segment."""
    found = []
    with ix.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            terms = leaf._terms
            for fieldname in leaf.indexed_field_names():
                for _, info in merge.term_entries(terms, fieldname):
                    if info[0]:
                        continue  # inlined
                    offset, length = struct.unpack_from("!qI", info, TERMINFO_SIZE)
                    data = terms._postfile.get(offset, length)
                    pos = len(WHOOSH3_HEADER_MAGIC)
                    while pos < len(data):
                        (size,) = struct.unpack_from("!i", data, pos)
                        block = io.BytesIO(data[pos + 4 : pos + 4 + abs(size)])
                        if pickle.load(block)[3]:
                            found.append(block.read())
                        pos += 4 + abs(size)
    return found


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
    the same segments, deletions and added documents (the indexes stay in tmp_path, "ours"
    and "whoosh")."""
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


@pytest.mark.parametrize("deleted", [[], ["mix-1", "mix-100"]])
def test_merged_blocks_stay_renumberable(
    tmp_path: Path, deleted: list[str], demo_documents: Any, everything: Any
) -> None:
    """Blocks moved by a merge (renumbered in place, or decompressed where documents were
    deleted) come out laid out for the next merge to renumber in place."""
    ours, whoosh = merged_both_ways(tmp_path, demo_documents(), [20, 200], deleted, 0, everything)
    assert_same(ours, whoosh)
    blocks = compressed_blocks(whoosh_index.open_dir(str(tmp_path / "ours")))
    assert len(blocks) > 10
    assert all(renumbered_block(block, 1) is not None for block in blocks)


@settings(max_examples=200, deadline=None)
@given(
    ids=st.lists(st.integers(min_value=0, max_value=2**30), min_size=1, max_size=130).map(
        lambda found: sorted(set(found))
    ),
    bases=st.lists(st.integers(min_value=0, max_value=2**24), min_size=1, max_size=3),
    weights=st.sampled_from([None, 2.5, "each"]),
)
def test_a_block_renumbered_in_place_decompresses_to_the_moved_pickle(
    ids: list[int], bases: list[int], weights: Any
) -> None:
    deltas = tuple(b - a for a, b in zip([0, *ids], ids, strict=False))
    values = tuple(pickle.dumps(n, 2) for n in ids)
    block_weights = tuple(float(n % 7) for n in ids) if weights == "each" else weights
    block = compressed_block(pickle.dumps((deltas, block_weights, values), 3), 3)
    assert pickle.loads(zlib.decompress(block)) == (deltas, block_weights, values)
    for base in bases:  # merged again and again
        moved = renumbered_block(block, base)
        assert moved is not None
        block = moved
        deltas = (deltas[0] + base, *deltas[1:])
        assert pickle.loads(zlib.decompress(block)) == (deltas, block_weights, values)
    assert renumbered_block(zlib.compress(pickle.dumps(deltas, 3), 3), 1) is None


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


@pytest.mark.parametrize(
    ("big_docs", "two_at_most"),
    [
        (30, True),  # beside a big segment, the small ones merge as soon as there are two
        (10**9, False),  # no segment is big: the small ones keep their tiers, and pile up
    ],
)
def test_small_imports_beside_a_big_segment_leave_two_small_segments_at_most(
    tmp_path: Path,
    demo_documents: Any,
    monkeypatch: pytest.MonkeyPatch,
    big_docs: int,
    two_at_most: bool,
) -> None:
    monkeypatch.setattr(merge, "SMALL_SEGMENT_DOCS", big_docs)
    docs = demo_documents()[:90]
    ix = whoosh_index.create_in(str(tmp_path), ArticleSchema())
    writer = BulkWriter(ix)
    for doc in docs[:40]:
        writer.add_document(**doc)
    writer.commit()  # the archive: one segment of 40 documents
    small = []
    for start in range(40, len(docs), 2):  # live imports of 2 articles each
        writer = BulkWriter(ix)
        for doc in docs[start : start + 2]:
            writer.add_document(**doc)
        writer.commit()
        small.append(sum(s.doc_count() < 30 for s in ix._segments()))
    assert (max(small) <= 2) == two_at_most
    assert ix.doc_count() == len(docs)
