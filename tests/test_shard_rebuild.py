"""`vnsearch index --rebuild` on a sharded index, with real processes and real shards on disk:
the rebuilt content, a rebuild killed before its switches, refusals, and a sharded engine
following the switches (cli.sharded_index)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from search.engine import SearchRequest, run_search
from search.index.durability import BUILD_PREFIX, CURRENT, live_dir, verify
from search.index.shard_layout import read_layout, shard_of
from search.index.store import open_index
from search.query.weights import weighting

pytestmark = pytest.mark.serial

VNSEARCH = [sys.executable, "-m", "cli"]
WORDS = ["mưa", "lũ", "giá vàng", "lễ hội", "giao thông", "du lịch", "bóng đá", "học sinh"]


def news(numbers: range, word: str = "tin") -> list[dict[str, str]]:
    """Articles r<n>, each with a word of its own (`word` + n) to find it by."""
    return [
        {
            "id": f"r{n}",
            "url": f"https://bao.example.vn/r{n}.html",
            "title": f"{WORDS[n % len(WORDS)].capitalize()} ở Đà Nẵng {word}{n}",
            "body": f"Bản tin {word}{n} về {WORDS[(n + 3) % len(WORDS)]} và đời sống.",
            "published": f"2021-0{1 + n % 9}-1{n % 10}T08:00:00+07:00",
            "source": "Báo Thử",
            "category": ["Thời sự", "Xã hội"][n % 2],
        }
        for n in numbers
    ]


OLD = news(range(0, 14))
NEW = news(range(4, 20), word="moi")  # r0-r3 dropped, r4-r13 rewritten, r14-r19 new


def vnsearch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VNSEARCH, *args], capture_output=True, text=True, timeout=120)


def held(root: Path) -> dict[str, tuple[int, str]]:
    """Every live article of the sharded index at `root`: id -> (shard, title)."""
    found: dict[str, tuple[int, str]] = {}
    for number, path in enumerate(read_layout(str(root)).shard_dirs()):
        with open_index(path).searcher() as searcher:
            for fields in searcher.all_stored_fields():
                assert fields["id"] not in found, f"{fields['id']} on two shards"
                found[fields["id"]] = (number, fields["title"])
    return found


def sharded_index(root: Path, source: Path, shards: int) -> dict[str, tuple[int, str]]:
    result = vnsearch("index", "-q", "--shards", str(shards), "--index-dir", str(root), str(source))
    assert result.returncode == 0, result.stderr
    return held(root)


def builds_of(root: Path) -> list[list[str]]:
    """The build directories in each shard's directory."""
    return [
        sorted(name for name in os.listdir(path) if name.startswith(BUILD_PREFIX))
        for path in read_layout(str(root)).shard_dirs()
    ]


def generations(root: Path) -> list[int]:
    return [open_index(path).latest_generation() for path in read_layout(str(root)).shard_dirs()]


@pytest.mark.parametrize(
    ("shards", "cluster", "rebuilds"),
    [
        (2, None, 1),
        (3, None, 2),  # the second rebuild replaces the first one's builds
        (1, None, 1),
        (2, "local:2", 1),  # each worker rebuilds its shards
    ],
)
def test_a_rebuild_replaces_every_shard_with_the_new_articles(
    tmp_path: Path,
    write_jsonl: Any,
    build_index: Any,
    shards: int,
    cluster: str | None,
    rebuilds: int,
) -> None:
    root = tmp_path / "archive"
    sharded_index(root, write_jsonl(tmp_path / "old.jsonl", OLD), shards)
    before = generations(root)
    source = write_jsonl(tmp_path / "new.jsonl", NEW)
    on_cluster = ["--cluster", cluster] if cluster else []
    for _ in range(rebuilds):
        result = vnsearch(
            "index", "-q", "--rebuild", *on_cluster, "--index-dir", str(root), str(source)
        )
        assert result.returncode == 0, result.stderr
        assert "now serving the rebuilt shards" in result.stderr
    now = held(root)
    assert sorted(now) == sorted(a["id"] for a in NEW)  # r0-r3 are gone
    for article in NEW:
        assert now[article["id"]] == (shard_of(article["id"], shards), article["title"])
    single = build_index(tmp_path / "single", [source]).index
    assert sum(open_index(p).doc_count() for p in read_layout(str(root)).shard_dirs()) == (
        single.doc_count()
    )
    with single.searcher(weighting=weighting()) as searcher:
        for q in ("moi15", "đà nẵng", "mưa", "tin2"):
            expected = run_search(searcher, SearchRequest.from_params(q=q))["total"]
            assert shard_totals(root, q) == expected, q
    assert builds_of(root) == [[os.path.basename(live_dir(p))] for p in shard_paths(root)]
    assert all(after > old for after, old in zip(generations(root), before, strict=True))


def shard_paths(root: Path) -> list[str]:
    return read_layout(str(root)).shard_dirs()


def shard_totals(root: Path, q: str) -> int:
    """A query's matches summed over the live shards (each searched as one index)."""
    total = 0
    for path in shard_paths(root):
        with open_index(path).searcher(weighting=weighting()) as searcher:
            total += run_search(searcher, SearchRequest.from_params(q=q))["total"]
    return total


def wait_for(condition: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # an index caught mid-commit: look again
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def builds_hold(root: Path, articles: int) -> bool:
    """Whether every shard has a build and the builds hold `articles` articles in all."""
    builds = builds_of(root)
    if not all(builds):
        return False
    paths = [os.path.join(p, b[0]) for p, b in zip(shard_paths(root), builds, strict=True)]
    return sum(open_index(path).doc_count() for path in paths) == articles


@pytest.mark.parametrize(
    ("written_first", "killed_when"),
    [
        (0, "every shard's build is started, no article read"),
        (len(NEW), "the builds hold every article of the first file, the second still open"),
    ],
)
def test_a_rebuild_killed_before_its_switches_leaves_the_old_shards_whole(
    tmp_path: Path, write_jsonl: Any, written_first: int, killed_when: str
) -> None:
    root = tmp_path / "archive"
    old = sharded_index(root, write_jsonl(tmp_path / "old.jsonl", OLD), 2)
    first = [write_jsonl(tmp_path / "new.jsonl", NEW[:written_first])] if written_first else []
    never_written = tmp_path / "more.jsonl"
    os.mkfifo(never_written)  # reading it blocks: the rebuild is held mid-way
    command = [*VNSEARCH, "index", "-q", "--rebuild", "--batch-size", "1"]
    child = subprocess.Popen(
        [*command, "--index-dir", str(root), *map(str, first), str(never_written)],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: builds_hold(root, written_first), killed_when)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert held(root) == old
    for path in shard_paths(root):
        assert not os.path.lexists(os.path.join(path, CURRENT))  # never switched
        problems, _ = verify(live_dir(path), open_index(path).latest_generation())
        assert problems == []
    assert shard_totals(root, "tin2") == 1  # r2, which the rebuild drops, is still found
    source = write_jsonl(tmp_path / "all.jsonl", NEW)
    again = vnsearch("index", "-q", "--rebuild", "--index-dir", str(root), str(source))
    assert again.returncode == 0, again.stderr
    assert sorted(held(root)) == sorted(a["id"] for a in NEW)
    assert all(len(builds) == 1 for builds in builds_of(root))  # the killed builds removed


@pytest.mark.parametrize(
    ("make", "asked", "message"),
    [
        (["--shards", "2"], ["--shards", "3"], "holds 2 shards; --shards 3 would route"),
        (["--shards", "3"], ["--shards", "1"], "holds 3 shards; --shards 1 would route"),
        ([], ["--shards", "2"], "already holds a single index"),
    ],
)
def test_a_rebuild_that_would_change_the_shards_is_refused(
    tmp_path: Path, write_jsonl: Any, make: list[str], asked: list[str], message: str
) -> None:
    root = tmp_path / "archive"
    source = write_jsonl(tmp_path / "old.jsonl", OLD)
    made = vnsearch("index", "-q", *make, "--index-dir", str(root), str(source))
    assert made.returncode == 0, made.stderr
    listing = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    refused = vnsearch("index", "-q", "--rebuild", *asked, "--index-dir", str(root), str(source))
    assert refused.returncode == 1
    assert message in refused.stderr and "Traceback" not in refused.stderr
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == listing


def test_a_sharded_engine_follows_the_switches(
    tmp_path: Path, write_jsonl: Any, build_index: Any, dask_client: Any
) -> None:
    from search.cluster.connect import sharded_engine
    from search.settings import Settings

    root = tmp_path / "archive"
    sharded_index(root, write_jsonl(tmp_path / "old.jsonl", OLD), 2)
    dask_client.wait_for_workers(2, timeout=60)
    engine = sharded_engine(str(root), Settings(cluster_timeout_ms=5000), dask_client)
    try:
        request = SearchRequest.from_params(q="đà nẵng")
        assert engine.search(request)["total"] == len(OLD)
        before = engine.health()
        source = write_jsonl(tmp_path / "new.jsonl", NEW)
        result = vnsearch("index", "-q", "--rebuild", "--index-dir", str(root), str(source))
        assert result.returncode == 0, result.stderr
        single = build_index(tmp_path / "single", [source]).index
        with single.searcher(weighting=weighting()) as searcher:
            for q in ("đà nẵng", "tin2", "moi15", "mưa lũ"):
                one = run_search(searcher, SearchRequest.from_params(q=q))
                sharded = engine.search(SearchRequest.from_params(q=q))
                assert sharded["total"] == one["total"], q
                if one["total"] <= len(one["hits"]):  # every hit shown: no ties cut
                    assert {h["id"] for h in sharded["hits"]} == {h["id"] for h in one["hits"]}
        after = engine.health()
        assert after["documents"] == len(NEW) and after["missing_shards"] == []
        rose = zip(after["generation"].split("-"), before["generation"].split("-"), strict=True)
        assert all(int(new) > int(old) for new, old in rose)  # no cached statistics reused
    finally:
        engine.close()
