"""The bulk writer's single-pass analysis equals the chains; its segments equal Whoosh's."""

from __future__ import annotations

import io
import pickle
import struct
import zlib
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.filedb.filetables import OrderedHashReader
from whoosh.formats import Positions
from whoosh.writing import SegmentWriter

from search.analysis.chains import (
    ExactAnalyzer,
    ExactBigramAnalyzer,
    FoldedBigramAnalyzer,
    TermMemo,
    fold_term,
    index_terms,
    index_tokens,
)
from search.analysis.tokenizer import BIGRAM_SEPARATOR
from search.index.bulk_arrays import TermIds, positions_values, stable_order
from search.index.bulk_fields import Text
from search.index.bulk_writer import BulkWriter
from search.index.compact_pickle import positions_value
from search.index.helper_processes import DocumentFailed
from search.index.schema import ArticleSchema
from search.index.w3_codec import BLOCK_LIMIT

TEXTS = [
    "",
    "   ",
    "Đà Nẵng: hàng không, THỦY LỢI và khoẻ mạnh",
    "Hoà Bình, thuỷ điện, baỏ, lựơng, quý, già, ngoài, khuỷu",
    "Ðà Nẵng (Eth) và ÐẠI HỌC",
    "Giá vàng 1.268 nghìn, 17,8%, 50.000 đồng; 1.1.1 và 3,14",
    "TP.HCM, U.S.A và Tp.Hồ Chí Minh, a.b.c.d",
    "tru\u00adng tâm, ch\u200bào, x\u200d\u200cy, \ufeffđầu",
    "Trường Việt in NFD: Tr\u01b0\u01a1\u0300ng Vie\u0323\u0302t",
    "COVID-19 và iPhone 15 Pro, e-mail: a_b@c.vn 😀 北京",
    "một một một hai một",
    "1.1 1,1 11",
]


def chain_tokens(text: str) -> list[tuple[str, int, int, int]]:
    return [
        (t.text, t.pos, t.startchar, t.endchar)
        for t in ExactAnalyzer()(text, positions=True, chars=True, mode="index")
    ]


def assert_same_as_chain(text: str, memos: tuple[TermMemo, ...]) -> None:
    expected = chain_tokens(text)
    assert index_tokens(text) == expected
    terms = ([t[0] for t in expected], [t[1] for t in expected])
    assert index_terms(text) == terms
    for memo in memos:  # one that remembers everything, one whose tables are full
        assert memo.folded(terms[0]) == [fold_term(term) for term in terms[0]]
        vocabulary = TermIds()  # the writer's term numbers, looked up by piece of text
        for _ in range(2):  # the pieces learnt, then known
            analysed = Text(text, memo, vocabulary)
            numbered = [vocabulary.terms[n] for n in analysed.term_ids]
            assert (numbered, analysed.positions.tolist()) == terms
    firsts, seconds = analysed.pair_ids()
    for chain, form in ((ExactBigramAnalyzer(), str), (FoldedBigramAnalyzer(), fold_term)):
        pairs = [t.text for t in chain(text, mode="index")]
        made = zip(firsts, seconds, strict=True)
        names = vocabulary.terms
        assert [form(names[a]) + BIGRAM_SEPARATOR + form(names[b]) for a, b in made] == pairs


@pytest.mark.parametrize("text", TEXTS)
def test_index_terms_equal_the_chain(text: str, term_memos: tuple[TermMemo, ...]) -> None:
    assert_same_as_chain(text, term_memos)
    assert_same_as_chain(text, term_memos)  # again, from the per-word caches


_ALPHABET = st.sampled_from(
    list("aăâeêioôơuưybcdđghklmnpqrstvx AĂÂĐÔƠƯ0123456789.,;-_()%\n")
    + list("àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵÐð")
    + ["\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u00ad", "\u200b", "\u200d", "ß", "İ"]
)


@settings(max_examples=300, deadline=None)
@given(text=st.lists(_ALPHABET, max_size=80).map("".join))
def test_index_terms_equal_the_chain_on_generated_text(
    text: str, term_memos: tuple[TermMemo, ...]
) -> None:
    assert_same_as_chain(text, term_memos)


# The writers: the same documents through Whoosh's SegmentWriter and through BulkWriter.


def write(directory: Path, writer_class: type, docs: list[dict[str, Any]], **options: Any) -> Any:
    ix = whoosh_index.create_in(str(directory), ArticleSchema())
    for start in range(0, len(docs), 180):  # two segments, the first with 2-block terms
        writer = writer_class(ix, compound=False, **options)
        for doc in docs[start : start + 180]:
            writer.add_document(**doc)
        writer.commit(merge=False)
    return ix


def segment_files(ix: Any) -> dict[str, bytes]:
    """The bytes of each segment's files, by segment number and extension."""
    files = {}
    for number, segment in enumerate(ix._segments()):
        prefix = f"{segment.make_filename('')}"
        for name in ix.storage.list():
            if name.startswith(prefix):
                with ix.storage.open_file(name) as handle:
                    files[f"{number}{name[len(prefix) :]}"] = handle.read()
    return files


@pytest.fixture(scope="module")
def whoosh_ix(tmp_path_factory: pytest.TempPathFactory, demo_documents: Any) -> Any:
    return write(tmp_path_factory.mktemp("whoosh"), SegmentWriter, demo_documents())


def decoded_postings(ix: Any) -> dict[str, Any]:
    """Each term's statistics and its posting blocks, unpickled, position values decoded (ours
    pickle smaller: search/index/compact_pickle.py; equal weights compare equal, int or not),
    whether a block is compressed rather than its zlib level."""
    out = {}
    for number, segment in enumerate(ix._segments()):
        with ix.storage.open_file(segment.make_filename(".pst")) as handle:
            posts = handle.read()
        name = segment.make_filename(".trm")
        with ix.storage.open_file(name) as handle:
            terms = OrderedHashReader(handle, ix.storage.file_length(name))
            for key, value in terms.items():
                info = W3TermInfo.from_bytes(value)
                blocks = []
                if not info.is_inlined():
                    at, last = info._offset + 4, False
                    assert posts[info._offset : at] == WHOOSH3_HEADER_MAGIC
                    while not last:
                        (size,) = struct.unpack("!i", posts[at : at + 4])
                        last = size < 0
                        body = io.BytesIO(posts[at + 4 : at + 4 + abs(size)])
                        block = pickle.load(body)
                        data = body.read()
                        deltas, weights, values = pickle.loads(
                            zlib.decompress(data) if block[3] else data
                        )
                        if isinstance(values, tuple):  # Positions: ours are smaller pickles
                            values = tuple(map(Positions().decode_positions, values))
                        count, last_id, top, level, shortest, longest = block
                        head = (count, last_id, top, bool(level), shortest, longest)  # any level
                        blocks.append((head, (deltas, weights, values)))
                        at += 4 + abs(size)
                stats = {k: v for k, v in vars(info).items() if k not in ("_offset", "_length")}
                out[f"{number} {key!r}"] = (stats, blocks)
    return out


def test_same_segments_as_whoosh_without_inlining(
    whoosh_ix: Any, tmp_path: Path, demo_documents: Any
) -> None:
    """With Whoosh's own choices (no inlined terms, every block compressed, 128 postings a
    block), the per-document files are the same bytes (stored fields: the same once
    decompressed) and every term has the same statistics and the same blocks."""
    ours = write(
        tmp_path, BulkWriter, demo_documents(), inline_limit=0, compress_min=0, block_limit=128
    )
    expected, got = segment_files(whoosh_ix), segment_files(ours)
    assert sorted(got) == sorted(expected)
    for name in expected:
        if not name.endswith((".pst", ".trm", "._stored.col")):
            assert got[name] == expected[name], name
    with ours.reader() as mine, whoosh_ix.reader() as theirs:  # stored: another zlib level
        assert list(mine.all_stored_fields()) == list(theirs.all_stored_fields())
    expected_terms, got_terms = decoded_postings(whoosh_ix), decoded_postings(ours)
    assert got_terms.keys() == expected_terms.keys()
    for key in expected_terms:
        assert got_terms[key] == expected_terms[key], key
    assert sum(len(blocks) > 1 for _, blocks in got_terms.values()) > 10


@pytest.mark.parametrize("block_limit", [BLOCK_LIMIT, 16])  # ours; many blocks a term
def test_same_index_as_whoosh_with_inlining(
    whoosh_ix: Any, tmp_path: Path, demo_documents: Any, everything: Any, block_limit: int
) -> None:
    ours = write(tmp_path, BulkWriter, demo_documents(), block_limit=block_limit)
    expected, got = everything(whoosh_ix), everything(ours)
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == expected[key], key
    assert segment_files(ours)["0.trm"] != segment_files(whoosh_ix)["0.trm"]  # inlined


def test_failed_document_leaves_nothing(tmp_path: Path, demo_documents: Any) -> None:
    docs = demo_documents()[:3]
    ix = whoosh_index.create_in(str(tmp_path), ArticleSchema())
    writer = BulkWriter(ix)
    writer.add_document(**docs[0])
    with pytest.raises(ValueError):
        writer.add_document(**{**docs[1], "year": 2019})  # an ID field given an int
    writer.add_document(**docs[2])
    writer.commit()
    with ix.searcher() as searcher:
        assert searcher.doc_count() == 2
        for fieldname, text in searcher.reader().all_terms():
            for docnum in searcher.reader().postings(fieldname, text).all_ids():
                assert docnum in (0, 1)


def test_a_commit_merging_many_small_segments_keeps_every_term(
    tmp_path: Path, demo_documents: Any
) -> None:
    """39 one-document commits, then one that merges them all (search/index/merge.py): the same
    terms, frequencies and lengths as Whoosh's writer gives the 40 documents in one go."""
    docs = demo_documents()[:40]
    ix = whoosh_index.create_in(str(tmp_path), ArticleSchema())
    for doc in docs[:-1]:
        writer = BulkWriter(ix)
        writer.add_document(**doc)
        writer.commit()
    writer = BulkWriter(ix)
    writer.add_document(**docs[-1])
    writer.commit(optimize=True)
    (tmp_path / "ref").mkdir()
    reference = write(tmp_path / "ref", SegmentWriter, docs)
    assert ix.doc_count() == 40 and len(ix._segments()) == 1
    with ix.searcher() as searcher, reference.searcher() as expected:
        terms = list(expected.reader().all_terms())
        assert list(searcher.reader().all_terms()) == terms
        for fieldname, text in terms:
            assert searcher.doc_frequency(fieldname, text) == expected.doc_frequency(
                fieldname, text
            )
        # the new document's lengths are written before the merged ones'
        assert field_lengths(searcher) == field_lengths(expected)


def field_lengths(searcher: Any) -> dict[str, list[int]]:
    names = searcher.schema.names()
    return {
        searcher.stored_fields(docnum)["id"]: [searcher.doc_field_length(docnum, n) for n in names]
        for docnum in searcher.reader().all_doc_ids()
    }


def test_helpers_write_the_same_documents_in_order(
    whoosh_ix: Any, tmp_path: Path, demo_documents: Any
) -> None:
    docs = demo_documents()
    ix = whoosh_index.create_in(str(tmp_path), ArticleSchema())
    writer = BulkWriter(ix)
    writer.add_documents(docs, procs=3)
    writer.commit()
    assert len(ix._segments()) == 3
    with ix.searcher() as searcher, whoosh_ix.searcher() as expected:
        assert [f["id"] for f in searcher.all_stored_fields()] == [d["id"] for d in docs]
        terms = list(expected.reader().all_terms())
        assert sorted(set(searcher.reader().all_terms())) == sorted(set(terms))
        for fieldname, text in terms:
            assert searcher.doc_frequency(fieldname, text) == expected.doc_frequency(
                fieldname, text
            )
    assert not any(name.endswith(".tmp") for name in ix.storage.list())


@pytest.mark.parametrize("bad", [5, 200])  # in a helper's share, in this process's share
def test_a_refused_document_is_named_and_nothing_is_committed(
    tmp_path: Path, bad: int, demo_documents: Any
) -> None:
    docs = demo_documents()
    docs[bad] = {**docs[bad], "year": 2019}
    ix = whoosh_index.create_in(str(tmp_path), ArticleSchema())
    writer = BulkWriter(ix)
    with pytest.raises(DocumentFailed) as failed:
        writer.add_documents(docs, procs=2)
        writer.commit()
    writer.cancel()
    assert failed.value.index == bad
    assert "not unicode" in str(failed.value.__cause__)
    assert ix.doc_count() == 0 and ix.latest_generation() == 0
    with ix.writer(timeout=0.0) as again:  # the lock is free
        again.add_document(**docs[0])
    assert ix.doc_count() == 1


def test_documents_only_whoosh_can_write_go_through_its_pool(
    tmp_path: Path, demo_documents: Any, everything: Any
) -> None:
    """A boosted document among ours: Whoosh's writer takes it (and the whole segment)."""
    docs = demo_documents()[:30]
    docs[10] = {**docs[10], "_boost": 2.0}
    (tmp_path / "ours").mkdir()
    (tmp_path / "whoosh").mkdir()
    ours = write(tmp_path / "ours", BulkWriter, docs)
    expected = write(tmp_path / "whoosh", SegmentWriter, docs)
    assert everything(ours) == everything(expected)


def test_helpers_only_on_cores_other_processes_leave_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer import idle_cores

    monkeypatch.setattr(idle_cores, "_cores", lambda: 2)
    assert idle_cores.processes_for(2, 5000, None) == 2  # unknown load: as configured
    assert idle_cores.processes_for(2, 5000, 0.2) == 2
    assert idle_cores.processes_for(2, 5000, 1.0) == 1  # another process holds a core
    assert idle_cores.processes_for(2, 600, 0.0) == 1  # too few articles to share
    assert idle_cores.processes_for(1, 5000, 0.0) == 1
    load = idle_cores.OtherLoad()
    samples = iter([(0.0, 100.0, 10.0), (10.0, 118.0, 18.0)])  # 18 s busy, 8 s of them ours
    monkeypatch.setattr(idle_cores.OtherLoad, "_sample", staticmethod(lambda: next(samples)))
    load._last = load._sample()
    assert load.cores() == pytest.approx(1.0)


@settings(max_examples=200, deadline=None)
@given(
    runs=st.lists(
        st.lists(st.integers(min_value=0, max_value=2**31 - 1), min_size=1, max_size=12),
        max_size=20,
    )
)
def test_positions_values_decode_as_the_positions_format_encodes(runs: list[list[int]]) -> None:
    """All postings' Positions values at once (numpy) equal positions_value's, one by one, and
    Whoosh decodes them to what Positions.encode's values decode to."""
    runs = [*runs, list(range(0, 3 * 1003, 3)), [46], [7, 46], [255] * 255, [1] * 256]
    positions = [list(accumulate(run)) for run in runs]
    whoosh = Positions()
    for chunk in (1 << 20, 3):  # made all at once, and a few postings at a time
        freqs, deltas = [len(r) for r in runs], [d for r in runs for d in r]
        data, starts, ends = positions_values(freqs, deltas, chunk)
        values = [data[start:end] for start, end in zip(starts, ends, strict=True)]
        assert values == [positions_value(run) for run in runs]
        for value, where in zip(values, positions, strict=True):
            assert whoosh.decode_positions(value) == where
            assert whoosh.decode_positions(whoosh.encode(where)) == where
            assert whoosh.decode_frequency(value) == len(where)


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("none", []),
        ("one", [5]),
        ("ties keep their order", [3, 1, 3, 0, 1, 3]),
        ("16 bits, radix sorted", [65535, 0, 65535, 7] * 50),
        ("wider, packed and sorted", [65536, 0, 2**31 - 1, 65536, 3] * 50),
    ],
)
def test_stable_order_is_numpy_stable_argsort(name: str, keys: list[int]) -> None:
    array = np.array(keys, dtype=np.int64)
    assert stable_order(array).tolist() == np.argsort(array, kind="stable").tolist()
