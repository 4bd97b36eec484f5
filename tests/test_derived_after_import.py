"""Derived data kept current by the indexer: an import, merge or rebuild of an index a server
has readied (it has `derived/`) writes the sidecars of its new big segments, so the server
maps them instead of decoding those segments until it restarts; an index never served is
left for its first server to ready."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from search.index.derived import ensure_sidecars
from search.index.durability import live_dir
from search.index.sidecar import DERIVED_DIR, SidecarKey, open_sidecar
from search.index.store import open_index

ENV = {"VNSEARCH_SERVE_SIDECAR_MIN_DOCS": "1", "VNSEARCH_INDEX_NICE": "0"}


def vnsearch(*args: str) -> None:
    result = CliRunner().invoke(main, list(args), env=ENV, catch_exceptions=False)
    assert result.exit_code == 0, result.output


def more_news(count: int) -> list[dict[str, str]]:
    return [
        {"id": f"more-{n}", "title": f"Tin thêm số {n} về giao thông", "body": "Xe cộ đông."}
        for n in range(count)
    ]


def served_folders(index_dir: Path) -> list[str]:
    """The live folder of an index, or of each shard of a sharded one."""
    shards = index_dir / "shards"
    roots = sorted(shards.iterdir()) if shards.is_dir() else [index_dir]
    return [os.path.realpath(live_dir(str(root))) for root in roots]


def segments_without_sidecars(folder: str) -> list[str]:
    with open_index(folder).reader() as reader:
        keys = [SidecarKey.of(leaf.segment()) for leaf, _ in reader.leaf_readers()]
    return [key.segment_id for key in keys if open_sidecar(folder, key) is None]


def ready(index_dir: Path) -> None:
    """What `vnsearch serve` does first: the sidecars of every segment (min_docs 1 here)."""
    for folder in served_folders(index_dir):
        with open_index(folder).reader() as reader:
            ensure_sidecars(folder, reader, min_docs=1)


CASES = [
    # (what runs after the first import, shards, whether a server readied the index first)
    ("index", None, True),
    ("index", None, False),
    ("index --rebuild", None, True),
    ("optimize", None, True),
    ("index", "2", True),
    ("index --rebuild", "2", True),
    ("index --rebuild --cluster local:2", "2", True),
]


@pytest.mark.parametrize(("step", "shards", "served"), CASES)
def test_new_segments_of_a_served_index_get_their_sidecars(
    tmp_path: Path,
    demo_paths: list[Path],
    write_jsonl: Any,
    step: str,
    shards: str | None,
    served: bool,
) -> None:
    index_dir = tmp_path / "archive"
    first = ["index", "-q", "--index-dir", str(index_dir), *map(str, demo_paths)]
    more = write_jsonl(tmp_path / "more.jsonl", more_news(120))
    if shards:
        first += ["--shards", shards]
    vnsearch(*first, "--no-optimize", "--batch-size", "30")  # several segments
    if served:
        ready(index_dir)
    if step == "optimize":
        vnsearch("optimize", "--index-dir", str(index_dir))
    else:
        rebuild = ["--rebuild", *map(str, demo_paths)] if "rebuild" in step else []
        cluster = step.split()[-2:] if "--cluster" in step else []
        vnsearch("index", "-q", "--index-dir", str(index_dir), *cluster, *rebuild, str(more))
    for folder in served_folders(index_dir):
        if served:
            assert segments_without_sidecars(folder) == []
        else:
            assert not os.path.exists(os.path.join(folder, DERIVED_DIR))
