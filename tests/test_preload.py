"""Reading a served index ahead into the page cache (search.index.preload)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from search.index.preload import choose, live_files, plan_preload, read_ahead
from search.index.store import open_index
from search.warmup import warm_caches

CHOICES = [
    # (file sizes, budget, chosen, left out)
    ({"a": 10, "b": 20}, 30, ["a", "b"], 0),
    ({"a": 10, "b": 20}, 29, ["a"], 20),
    ({"big": 100, "s1": 5, "s2": 6}, 11, ["s1", "s2"], 100),
    ({"a": 10}, 0, [], 10),
    ({}, 100, [], 0),
]


@pytest.mark.parametrize(("sizes", "budget", "chosen", "left_out"), CHOICES)
def test_the_smallest_files_are_chosen_within_the_budget(
    sizes: dict[str, int], budget: int, chosen: list[str], left_out: int
) -> None:
    plan = choose(sizes.items(), budget)
    assert plan.files == chosen
    assert plan.size == sum(sizes[name] for name in chosen)
    assert plan.left_out == left_out


def test_live_files_are_the_segments_and_their_sidecars(two_segment_index: Any) -> None:
    folder = Path(two_segment_index.storage.folder)
    with two_segment_index.reader() as reader:
        files = sorted(Path(f).relative_to(folder).as_posix() for f in live_files(reader))
        segments = [leaf.segment().segment_id() for leaf, _ in reader.leaf_readers()]
    assert len(segments) == 2
    expected = {f"derived/{s}{suffix}" for s in segments for suffix in (".postings", ".positions")}
    expected |= {p.name for p in folder.iterdir() if p.name.startswith(tuple(segments))}
    assert files == sorted(expected)
    assert not [f for f in files if "WRITELOCK" in f or f.endswith(".toc")]


def test_no_share_means_no_preload(two_segment_index: Any) -> None:
    with two_segment_index.reader() as reader:
        assert plan_preload(reader, 0).files == []
        assert plan_preload(reader, 50).size > 0


def _resident_pages(path: str) -> int:
    """Pages of the file in the page cache, as util-linux's fincore counts them."""
    done = subprocess.run(
        ["fincore", "--noheadings", "--bytes", "--output", "PAGES", path],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.split()[0])


def test_read_ahead_brings_an_evicted_file_into_the_page_cache(tmp_path: Path) -> None:
    """A file written, flushed and dropped from the page cache is resident again, whole,
    after read_ahead: larger than any read-ahead window, which asking the kernel would fill."""
    assert shutil.which("fincore"), "fincore (util-linux) is needed to see the page cache"
    path = tmp_path / "segment.bin"
    path.write_bytes(os.urandom(48 << 20))
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(descriptor)
    assert _resident_pages(str(path)) < 64, "the file could not be dropped from the cache"
    read_ahead([str(path)])
    assert _resident_pages(str(path)) == (48 << 20) // os.sysconf("SC_PAGE_SIZE")


def test_warming_reports_what_it_read_ahead(two_segment_index: Any) -> None:
    index = open_index(Path(two_segment_index.storage.folder))
    done = warm_caches(index, 10, sidecar_min_docs=1, preload_percent=50)
    with index.reader() as reader:
        expected = sum(os.path.getsize(f) for f in live_files(reader))
    assert done["preloaded_bytes"] == expected
    assert warm_caches(index, 10, sidecar_min_docs=1)["preloaded_bytes"] == 0
