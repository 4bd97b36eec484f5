"""The cuts a sharded archive agrees so that its shards score what one index scores: the
champion titles kept (search.execute.agreement.last_kept), the window reranked from stored
text (search.cluster.merge.rerank_floor), on the demo index split in two as shards split it,
and the sidecars each shard's actor writes (search.cluster.shard)."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from search.cluster.merge import rerank_floor, within_floor
from search.engine import SearchRequest, run_search
from search.execute.agreement import last_kept
from search.execute.bitmaps import doc_array, docset, union
from search.execute.candidates import shortest_title_keys, shortest_titles, titles_up_to
from search.execute.docsets import live_docs
from search.execute.matchsets import MatchPlan
from search.execute.retrieve import execute, match
from search.execute.scoring import field_lengths
from search.query.parse import parse_query


def split_in_two(numbers: np.ndarray, how: str) -> list[np.ndarray]:
    if how == "parity":
        return [numbers[numbers % 2 == 0], numbers[numbers % 2 == 1]]
    return [numbers[: len(numbers) // 3], numbers[len(numbers) // 3 :]]


@pytest.mark.parametrize("keep", [1, 3, 10, 30, 60])
@pytest.mark.parametrize("how", ["parity", "uneven"])
def test_a_champion_cut_agreed_by_two_shards_keeps_what_one_index_keeps(
    searcher: Any, keep: int, how: str
) -> None:
    every = doc_array(live_docs(searcher))
    halves = split_in_two(every, how)
    listed = [shortest_title_keys(searcher, docset(half), keep) for half in halves]
    last = last_kept(listed, len(every), keep)
    assert last is not None
    agreed = union(titles_up_to(searcher, docset(half), last) for half in halves)
    assert agreed == shortest_titles(searcher, docset(every), keep)


@pytest.mark.parametrize("keep", [1, 3, 10, 30, 60])
def test_one_index_keeps_the_shortest_titles_and_those_tied_with_the_last(
    searcher: Any, keep: int
) -> None:
    """Against the cut it replaces (exactly `keep`, the shortest titles): `keep` or more,
    every one as short as the keep-th shortest title or shorter."""
    every = live_docs(searcher)
    kept = shortest_titles(searcher, every, keep)
    by_key = shortest_title_keys(searcher, every, len(every))
    last = by_key[keep - 1]
    assert len(kept) == sum(1 for key in by_key if key <= last) >= keep
    lengths = field_lengths(searcher, "title_folded")[doc_array(kept)]
    assert int(lengths.max()) == last[0]


@pytest.mark.parametrize(
    ("reranked", "limit", "expected"),
    [
        ([[5.0, 4.0, 3.0], [4.5, 2.0]], 3, 4.0),
        ([[5.0, 4.0], [4.5]], 3, None),  # no more than the window: every one is reranked
        ([[5.0, 4.0, 3.0], None], 2, None),  # a shard did not say (a remembered passage)
        ([[9.0, 8.0, 7.0, 6.0], [1.0]], 3, 7.0),  # one shard holds the whole window
    ],
)
def test_the_rerank_floor_is_the_archives_window_th_score(
    reranked: list[list[float] | None], limit: int, expected: float | None
) -> None:
    parts = [
        {"before_rerank": None if scores is None else {"reranked": scores, "hits": scores}}
        for scores in reranked
    ]
    assert rerank_floor(parts, limit) == expected


def part(scores: list[float], before: list[float]) -> dict[str, Any]:
    """A shard's part: its hits' scores, and their scores before the rerank."""
    hits = [{"id": f"{score}-{i}", "score": score} for i, score in enumerate(scores)]
    return {"hits": hits, "before_rerank": {"reranked": before, "hits": before}}


@pytest.mark.parametrize(
    ("parts", "window", "kept", "again"),
    [
        # nothing below the floor (4.0): as they were
        ([([9.0, 8.0], [5.0, 4.0]), ([7.0, 6.0], [4.5, 4.0])], 2, [2, 2], []),
        # shard 0 shows a hit below it; its unseen hits score 8.0 at most, as much as the
        # page's lowest kept (9.0, 7.0): it is asked again
        ([([9.0, 8.0], [5.0, 3.0]), ([7.0, 6.0], [4.5, 4.0])], 2, [1, 2], [0]),
        # the same below the page: its unseen hits (at most 1.0) cannot reach it
        ([([9.0, 1.0], [5.0, 3.0]), ([7.0, 6.0], [4.5, 4.0])], 2, [1, 2], []),
        # a shard showing fewer than the window has no unseen hits
        ([([9.0], [3.0]), ([7.0, 6.0], [4.5, 4.0])], 2, [0, 2], []),
    ],
)
def test_only_the_shards_whose_unseen_hits_could_reach_the_page_are_asked_again(
    parts: list[tuple[list[float], list[float]]], window: int, kept: list[int], again: list[int]
) -> None:
    given = {shard: part(*scores) for shard, scores in enumerate(parts)}
    within, asked = within_floor(given, 4.0, window)
    assert [len(within[shard]["hits"]) for shard in sorted(within)] == kept
    assert asked == again


@pytest.mark.parametrize("q", ["hà nội", "da nang", "thành phố", "người dân", "năm"])
@pytest.mark.parametrize("kept", [1, 3, 8])
def test_a_rerank_floor_reranks_only_the_candidates_scoring_that_much(
    searcher: Any, q: str, kept: int
) -> None:
    parsed = parse_query(q)
    plan = MatchPlan(match(searcher, parsed, {}, widen=True).level)
    deadline = time.perf_counter() + 60
    whole = execute(searcher, parsed, {}, "relevance", 10, deadline, plan)
    assert whole.before_rerank is not None and len(whole.before_rerank) > kept
    floor = sorted(whole.before_rerank.values(), reverse=True)[kept - 1]
    cut = execute(
        searcher, parsed, {}, "relevance", 10, deadline, replace(plan, rerank_floor=floor)
    )
    expected = {d for d, score in whole.before_rerank.items() if score >= floor}
    assert {d for d, _ in cut.ranked} == expected
    assert len(expected) >= kept


@pytest.mark.parametrize("q", ["người dân sông hậu làm", "học sinh sông hậu trở"])
@pytest.mark.parametrize("kept", [1, 3])
def test_a_rerank_floor_applies_beside_a_remembered_runs_holders(
    searcher: Any, q: str, kept: int
) -> None:
    """Five words whose holders are listed: the holders go first, and of the others only
    those scoring the floor are reranked, as for any query (a shard told its archive's
    floor reranks what one index reranks)."""
    parsed = parse_query(q)
    plan = MatchPlan(match(searcher, parsed, {}, widen=True).level)
    deadline = time.perf_counter() + 60
    whole = execute(searcher, parsed, {}, "relevance", 10, deadline, plan)
    assert whole.promotion is not None and whole.promotion.holders  # the listed holders' path
    assert whole.before_rerank is not None and len(whole.before_rerank) > kept
    floor = sorted(whole.before_rerank.values(), reverse=True)[kept - 1]
    cut = execute(
        searcher, parsed, {}, "relevance", 10, deadline, replace(plan, rerank_floor=floor)
    )
    assert cut.promotion is not None
    holders = set(cut.promotion.holders)
    expected = {d for d, score in whole.before_rerank.items() if score >= floor} | holders
    assert {d for d, _ in cut.ranked} == expected


def test_shard_actors_write_their_shards_sidecars_and_answer_alike(
    sharded_demo_dir: Path, dask_client: Any, demo_index: Any, tmp_path: Path
) -> None:
    from search.cluster.connect import sharded_engine
    from search.query.weights import weighting
    from search.settings import Settings

    root = tmp_path / "sharded"
    shutil.copytree(sharded_demo_dir, root, symlinks=True)
    settings = Settings(cluster_timeout_ms=5000, serve_sidecar_min_docs=1)
    dask_client.wait_for_workers(2, timeout=60)
    request = SearchRequest.from_params(q="hà nội")
    with demo_index.searcher(weighting=weighting()) as single:
        expected = [h["id"] for h in run_search(single, request)["hits"]]
    first: dict[int, list[str]] = {}
    for round_ in ("first", "again"):
        engine = sharded_engine(str(root), settings, dask_client)
        try:
            written, missing = engine.each_shard(
                lambda actor: actor.sidecars_written(), time.monotonic() + 60
            )
            found = engine.search(request)
        finally:
            engine.close()
        assert missing == [] and sorted(written) == [0, 1]
        if round_ == "first":
            first = written
            assert all(written[shard] for shard in written)
        else:  # found beside their segments, not written again
            assert all(written[shard] == [] for shard in written)
        for shard, paths in first.items():
            assert all(str(root) in path and Path(path).is_file() for path in paths), shard
        assert [h["id"] for h in found["hits"]] == expected
