"""Decoded postings kept beside a segment (search.index.sidecar) against what they replace:
Whoosh's matcher over the segment, and searches that decode the W3 blocks themselves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3TermInfo

from search.engine import SearchRequest, run_search
from search.index.derived import ensure_sidecars
from search.index.positions_sidecar import open_positions, positions_path
from search.index.segment_postings import _read_postings, leaf_sidecar
from search.index.sidecar import (
    DERIVED_DIR,
    SidecarKey,
    _narrowest_ids,
    _narrowest_weights,
    open_sidecar,
    sidecar_path,
    write_sidecar,
)
from search.index.store import ArchiveIndex, open_index, optimize
from search.index.w3_reader import field_entries, w3_terms

FIELDS = ["title", "title_folded", "body", "body_folded", "summary_bigram_folded", "slug_folded"]
QUERIES = ["mưa lớn", "mua lon da nang", "giao thông ùn tắc", "bão", "Đà Nẵng giao thông"]


def matcher_postings(leaf: Any, fieldname: str, text: str) -> list[tuple[int, float]]:
    """The term's live postings as Whoosh's own matcher walks them."""
    matcher = leaf.postings(fieldname, text)
    found = []
    while matcher.is_active():
        found.append((matcher.id(), matcher.weight()))
        matcher.next()
    return found


def check_every_term(index: ArchiveIndex) -> int:
    """Every term of FIELDS in every segment: the postings read through the sidecar equal
    Whoosh's matcher's, and every non-inlined list is found in the sidecar; returns how many
    lists came from a sidecar."""
    from_sidecar = 0
    with index.searcher() as searcher:
        for leaf, _ in searcher.reader().leaf_readers():
            sidecar = leaf_sidecar(index.caches, leaf)
            assert sidecar is not None
            for fieldname in FIELDS:
                keys, infos = field_entries(w3_terms(leaf), fieldname)
                for key, info in zip(keys, infos, strict=True):
                    text = key.decode("utf-8")
                    ids, weights = _read_postings(index.caches, leaf, fieldname, text, sidecar)
                    got = list(zip(ids.tolist(), weights.tolist(), strict=True))
                    assert got == matcher_postings(leaf, fieldname, text), (fieldname, text)
                    if not info[0]:  # not inlined: must come from the sidecar
                        offset, _ = W3TermInfo.from_bytes(info).extent()
                        assert sidecar.postings_at(offset) is not None
                        from_sidecar += 1
    return from_sidecar


@pytest.mark.parametrize("narrow", [True, False])
@pytest.mark.parametrize("name", ["churned_index", "generated_index"])
def test_sidecar_postings_equal_whoosh_matchers(copy_of: Any, name: str, narrow: bool) -> None:
    """Many segments, deletions and re-added articles (churned), long repetitive lists over
    several W3 blocks (generated), lists stored narrow (gaps as uint8 or uint16, weights as
    uint8) or wide (int32 numbers, float32 weights): the sidecar gives what Whoosh's matcher
    walks."""
    index = copy_of(name)
    with index.reader() as reader:
        leaves = [leaf for leaf, _ in reader.leaf_readers()]
        assert len(leaves) > 1
        kinds = set()
        for leaf in leaves:
            assert write_sidecar(index.storage.folder, leaf, narrow)
            sidecar = open_sidecar(index.storage.folder, SidecarKey.of(leaf.segment()))
            assert sidecar is not None
            kinds |= set(sidecar.kinds.tolist())
    assert (8 in kinds) if narrow else kinds == {6}  # uint8 gaps and weights; or wide
    assert check_every_term(index) > 0


@pytest.mark.parametrize(
    ("ids", "weights", "kind"),
    [
        ([70_000, 70_004, 70_100], [1.0, 2.0, 255.0], 8),  # small gaps after a large first
        ([7, 7 + 255, 7 + 510], [1.0, 1.0, 1.0], 8),  # gaps at uint8's bound
        ([7, 7 + 256, 7 + 300], [1.0, 1.0, 1.0], 0),  # a gap past uint8
        ([0, 65_535, 2 * 65_535], [1.0, 256.0, 1.0], 1),  # gaps at uint16's bound
        ([5, 70_000], [1.0, 1.0], 4),  # a gap past uint16: the numbers as they are
        ([1, 2, 3], [1.0, 70_000.0, 2.0], 10),  # a weight past uint16
        ([1, 2, 3], [1.0, 0.5, 2.0], 10),  # a weight not whole
    ],
)
def test_each_list_is_stored_as_narrow_as_its_values_allow(
    ids: list[int], weights: list[float], kind: int
) -> None:
    """The kind chosen for a list's values, and back to the values exactly."""
    id_kind, stored_ids = _narrowest_ids(np.array(ids, dtype=np.int32))
    weight_kind, stored_weights = _narrowest_weights(np.array(weights, dtype=np.float32))
    assert 4 * id_kind + weight_kind == kind
    decoded = stored_ids if id_kind == 1 else np.cumsum(stored_ids, dtype=np.int32) + ids[0]
    assert decoded.tolist() == ids
    assert stored_weights.astype(np.float32).tolist() == weights


def test_sidecars_follow_a_merge(copy_of: Any) -> None:
    """After a merge into one segment the merged-away segments' sidecars go, the new
    segment gets its own, and it equals Whoosh's matcher."""
    index = copy_of("churned_index")
    folder = index.storage.folder
    with index.reader() as reader:
        ensure_sidecars(folder, reader, min_docs=1)
    before = set(os.listdir(os.path.join(folder, DERIVED_DIR)))
    assert optimize(folder, timeout=10) > 1
    index = open_index(folder)
    with index.reader() as reader:
        written = {os.path.basename(path) for path in ensure_sidecars(folder, reader, min_docs=1)}
    assert len(written) == 2  # the postings and the positions of the merged segment
    assert set(os.listdir(os.path.join(folder, DERIVED_DIR))) == written
    assert not written & before
    assert check_every_term(index) > 0


DERIVED = {
    "postings": (sidecar_path, open_sidecar),
    "positions": (positions_path, open_positions),
}


def damage(path: str, how: str) -> None:
    if how == "deleted":
        os.remove(path)
    elif how == "truncated":
        os.truncate(path, os.path.getsize(path) - 4)
    elif how == "garbled header":
        with open(path, "r+b") as out:
            out.write(b"not a sidecar")
    else:  # written for another document count: another segment's, under this one's name
        with open(path, "r+b") as out:
            head = out.read(4096)
            size = int.from_bytes(head[8:12], "little")
            described = json.loads(head[12 : 12 + size])
            text = json.dumps({**described, "docs": described["docs"] + 1}).encode()
            out.seek(8)
            out.write(len(text).to_bytes(4, "little") + text)


@pytest.mark.parametrize("which", ["postings", "positions"])
@pytest.mark.parametrize("how", ["deleted", "truncated", "garbled header", "stale"])
def test_missing_or_stale_sidecars_are_skipped_then_rebuilt(
    copy_of: Any, how: str, which: str
) -> None:
    """A derived file (postings or positions) that does not match its segment is never read
    (searches decode the blocks and answer the same) and the next ensure_sidecars writes it
    again."""
    path_of, opened = DERIVED[which]
    index = copy_of("generated_index")
    folder = index.storage.folder
    expected = [run_search(index, SearchRequest(q=q)) for q in QUERIES]
    with index.reader() as reader:
        ensure_sidecars(folder, reader, min_docs=1)
        keys = [SidecarKey.of(leaf.segment()) for leaf, _ in reader.leaf_readers()]
    for key in keys:
        damage(path_of(folder, key.segment_id), how)
        assert opened(folder, key) is None
    fresh = open_index(folder)
    assert [hits(run_search(fresh, SearchRequest(q=q))) for q in QUERIES] == list(
        map(hits, expected)
    )
    with fresh.reader() as reader:
        assert len(ensure_sidecars(folder, reader, min_docs=1)) == len(keys)
    assert all(opened(folder, key) is not None for key in keys)
    assert check_every_term(open_index(folder)) > 0


def hits(result: dict[str, Any]) -> tuple[int, list[Any]]:
    """What a search answers, less its timing."""
    return result["total"], [(h["id"], h["score"], h.get("highlights")) for h in result["hits"]]


@pytest.mark.parametrize("name", ["churned_index", "generated_index"])
def test_searches_answer_the_same_with_sidecars(copy_of: Any, name: str) -> None:
    """Ranked hits, scores, totals and facets are those of the same index without sidecars."""
    index = copy_of(name)
    requests = [SearchRequest(q=q) for q in QUERIES] + [SearchRequest(q="mua", sort="newest")]
    without = [run_search(index, r) for r in requests]
    with index.reader() as reader:
        assert ensure_sidecars(index.storage.folder, reader, min_docs=1)
    with_sidecars = open_index(index.storage.folder)
    got = [run_search(with_sidecars, r) for r in requests]
    assert [(hits(r), r["facets"]) for r in got] == [(hits(r), r["facets"]) for r in without]
    assert sum(r["total"] for r in got) > 0


WRITE_FOREVER = """
import os, sys
from search.index.sidecar import SidecarKey, sidecar_path, write_sidecar
from search.index.store import open_index
index = open_index(sys.argv[1])
with index.reader() as reader:
    leaves = [leaf for leaf, _ in reader.leaf_readers()]
    while True:
        for leaf in leaves:
            path = sidecar_path(sys.argv[1], SidecarKey.of(leaf.segment()).segment_id)
            if os.path.exists(path):
                os.remove(path)
            write_sidecar(sys.argv[1], leaf)
"""


def test_a_writer_killed_mid_write_leaves_a_usable_index(copy_of: Any) -> None:
    """kill -9 of a process writing sidecars while its temporary file exists: plain Whoosh
    still opens and searches the index, no half sidecar is ever read, the dead writer's
    temporary file is removed and the sidecars written anew."""
    index = copy_of("generated_index")
    folder = index.storage.folder
    expected = [hits(run_search(index, SearchRequest(q=q))) for q in QUERIES]
    derived = os.path.join(folder, DERIVED_DIR)
    child = subprocess.Popen([sys.executable, "-c", WRITE_FOREVER, folder])
    try:
        while True:  # stop the writer while its temporary file exists, then kill it
            while not (os.path.isdir(derived) and has_tmp(derived)):
                assert child.poll() is None
                time.sleep(0.001)
            os.kill(child.pid, signal.SIGSTOP)
            if has_tmp(derived):
                break
            os.kill(child.pid, signal.SIGCONT)  # it renamed the file meanwhile: once more
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert any(f".tmp-{child.pid}" in name for name in os.listdir(derived))
    plain = whoosh_index.open_dir(folder)
    with plain.searcher() as searcher:
        assert searcher.doc_count() == index.doc_count()
        assert len(searcher.search(plain_query(plain, "mua"))) > 0
    fresh = open_index(folder)
    assert [hits(run_search(fresh, SearchRequest(q=q))) for q in QUERIES] == expected
    with fresh.reader() as reader:
        ensure_sidecars(folder, reader, min_docs=1)
    assert not any(".tmp-" in name for name in os.listdir(derived))
    assert check_every_term(open_index(folder)) > 0


def has_tmp(derived: str) -> bool:
    return any(".tmp-" in name for name in os.listdir(derived))


def plain_query(index: Any, text: str) -> Any:
    from whoosh.qparser import QueryParser

    return QueryParser("body_folded", index.schema).parse(text)


def test_serve_writes_missing_sidecars_before_its_workers_search(
    copy_of: Any, running_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`vnsearch serve` decodes the segments big enough (here: all) into sidecars as it
    warms up, and answers as the index without them did."""
    index = copy_of("generated_index")
    folder = index.storage.folder
    expected = [hits(run_search(index, SearchRequest(q=q))) for q in QUERIES]
    monkeypatch.setenv("VNSEARCH_SERVE_SIDECAR_MIN_DOCS", "1")
    with running_server(Path(folder), tmp_path / "serve.log") as server:
        server.wait_for_log(r"warmed caches")
        with index.reader() as reader:
            keys = [SidecarKey.of(leaf.segment()) for leaf, _ in reader.leaf_readers()]
        assert len(keys) > 1
        assert all(open_sidecar(folder, key) is not None for key in keys)
    fresh = open_index(folder)
    assert [hits(run_search(fresh, SearchRequest(q=q))) for q in QUERIES] == expected
