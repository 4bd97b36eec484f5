"""The writer's smaller pickles read back as what pickle.dumps and Whoosh's formats give."""

from __future__ import annotations

import pickle
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.formats import Positions
from whoosh.qparser import MultifieldParser
from whoosh.writing import SegmentWriter

from search.index.bulk_writer import BulkWriter
from search.index.compact_pickle import (
    CompactPickler,
    positions_value,
    whole_weight,
    whole_weights,
)
from search.index.schema import ArticleSchema
from search.index.w3_codec import hash_slots, hash_table

POSTING_DATA = [
    ((5, 1, 3), None, None),
    ((70000, 1, 1), (1.0, 3.0, 2.0), b"\x00\x00\x00\x01" * 3),
    ((9,), (2,), (b"\x00\x00\x00\x01C\x01\x05",)),
    ((1, 2), 2.0, (b"ab", b"ab")),  # equal values, distinct objects
    (tuple(range(128)), tuple(float(n % 7 + 1) for n in range(128)), None),
    (3, 2**40, -1, 0.5, "đ"),
]


@pytest.mark.parametrize("data", POSTING_DATA)
def test_compact_pickles_load_as_pickle_dumps_loads(data: Any) -> None:
    pickler = CompactPickler()
    for _ in range(2):  # the pickler is reused
        compact = pickler.dumps(data)
        assert pickle.loads(compact) == pickle.loads(pickle.dumps(data, 3)) == data
        assert len(compact) <= len(pickle.dumps(data, 3))


@pytest.mark.parametrize(
    ("weights", "expected", "kind"),
    [
        ((1.0, 2.0, 3.0), (1, 2, 3), int),
        ((1.0, 2.5), (1.0, 2.5), float),
        ((4, 5), (4, 5), int),
        ([7.0], (7,), int),
    ],
)
def test_whole_weights_are_equal_ints_or_left_alone(
    weights: Any, expected: tuple[float, ...], kind: type
) -> None:
    got = whole_weights(weights)
    assert got == expected == tuple(weights)
    assert {type(w) for w in got} == {kind}
    assert whole_weight(weights[0]) == weights[0]


@pytest.mark.parametrize(
    "deltas",
    [[0], [5], [46], [3, 46], [46, 3], [255], [256], [1, 300, 2], [70000, 1], [1] * 255,
     [1] * 256, [2**31 - 1], list(range(0, 3000, 3))],
)  # fmt: skip
def test_positions_value_decodes_as_positions_encode(deltas: list[int]) -> None:
    positions = list(accumulate(deltas))
    whoosh = Positions()
    value = positions_value(deltas)
    assert whoosh.decode_positions(value) == whoosh.decode_positions(whoosh.encode(positions))
    assert whoosh.decode_positions(value) == positions
    assert whoosh.decode_frequency(value) == len(deltas)
    assert len(value) < len(whoosh.encode(positions))


@pytest.mark.parametrize("count", [0, 1, 2, 3, 10, 1000])
def test_hash_slots_leave_an_empty_slot(count: int) -> None:
    slots = hash_slots(count)
    assert slots > count or count == slots == 0
    assert slots <= 2 * count


def _probed(table: bytes, numslots: int, hashval: int) -> int | None:
    """The position HashReader finds for a hash: from its home slot on, wrapping, up to the
    hash or an empty slot."""
    slots = np.frombuffer(table, dtype=[("hash", ">u4"), ("position", ">i8")])
    slot = (hashval >> 8) % numslots
    for _ in range(numslots):
        found_hash, position = slots[slot]
        if not position:
            return None
        if found_hash == hashval:
            return int(position)
        slot = (slot + 1) % numslots
    return None


@pytest.mark.parametrize(
    "name, homes",
    [
        ("none", []),
        ("one", [0]),
        ("apart", [0, 3, 7]),
        ("one home", [2] * 5),
        ("past the last slot", [9, 9, 9, 9, 8, 0]),  # two wrap to the start, after home 0
        ("every slot but one", [4] * 7 + [0] * 3),
    ],
)
def test_every_key_is_found_from_its_home_slot(name: str, homes: list[int]) -> None:
    numslots = max(hash_slots(len(homes)), 11 if homes else 0)
    # distinct hashes with the given homes: (hash >> 8) % numslots == home
    hashes = [((home + numslots * k) << 8) | k for k, home in enumerate(homes)]
    positions = [100 + k for k in range(len(homes))]
    table = hash_table(np.array(hashes, np.uint64), np.array(positions, np.int64), numslots)
    assert len(table) == 12 * numslots
    for hashval, position in zip(hashes, positions, strict=True):
        assert _probed(table, numslots, hashval) == position
    assert sum(1 for p in np.frombuffer(table, ">u4,>i8")["f1"] if p) == len(homes)


def searches(ix: Any, queries: list[str]) -> list[list[tuple[int, float]]]:
    fields = ["title_folded", "summary_folded", "body_folded"]
    with ix.searcher() as searcher:
        parser = MultifieldParser(fields, ix.schema)
        return [
            [(hit.docnum, hit.score) for hit in searcher.search(parser.parse(q), limit=50)]
            for q in queries
        ]


@pytest.mark.parametrize("merge", [False, True])
def test_plain_whoosh_scores_the_same_on_both_writers_segments(
    tmp_path: Path, demo_documents: Any, merge: bool
) -> None:
    """Whoosh's own searcher (BM25F, phrases on positions) over segments from Whoosh's writer
    and from ours, then merged by each: the same documents with the same scores."""
    docs = demo_documents()
    queries = ['"ha noi"', "viet nam", '"thanh pho" ho', "gia vang", "body:việt OR body:năm"]
    results = []
    for name, writer_class in (("whoosh", SegmentWriter), ("ours", BulkWriter)):
        (tmp_path / name).mkdir()
        ix = whoosh_index.create_in(str(tmp_path / name), ArticleSchema())
        for start in range(0, len(docs), 150):
            writer = writer_class(ix)
            for doc in docs[start : start + 150]:
                writer.add_document(**doc)
            writer.commit(merge=False)
        if merge:
            ix.writer().commit(optimize=True)
        results.append(searches(ix, queries))
    assert results[0] == results[1]
    assert sum(map(len, results[1])) > 20


def repeated_words(count: int) -> list[dict[str, str]]:
    """Documents whose words repeat the same number of times in each: posting blocks whose
    weights are all equal and not 1."""
    text = "mưa mưa lớn bão bão bão"
    return [
        {"id": f"r{n}", "title": text, "title_folded": text, "body": text, "body_folded": text}
        for n in range(count)
    ]


@pytest.mark.parametrize("merge", [False, True])
def test_whole_weights_go_to_whoosh_pool_as_floats(
    tmp_path: Path, everything: Any, merge: bool
) -> None:
    """A boosted document sends a commit's postings (and, merging, the old segments' ones)
    through Whoosh's pool: weights ours keeps or wrote as ints come out as Whoosh's."""
    docs = repeated_words(30)
    results = []
    for name, writer_class in (("whoosh", SegmentWriter), ("ours", BulkWriter)):
        (tmp_path / name).mkdir()
        ix = whoosh_index.create_in(str(tmp_path / name), ArticleSchema())
        writer = writer_class(ix)
        for doc in docs[: 20 if merge else 29]:
            writer.add_document(**doc)
        if merge:
            writer.commit(merge=False)
            writer = writer_class(ix)
            for doc in docs[20:29]:
                writer.add_document(**doc)
        writer.add_document(id="boosted", title="nắng", body="nắng", _boost=2.0)
        writer.commit(optimize=merge)
        results.append(everything(ix))
    assert results[0] == results[1]
    assert len(results[0]) > 30
