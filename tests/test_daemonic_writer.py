"""The bulk writer inside a daemonic process (a Dask worker builds a shard in one): it may not
fork helpers, so it does their part itself, with the same index as a result."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from search.index.schema import to_document
from search.index.store import locked_writer, open_index, optimize


def _merge(index_dir: Path) -> None:
    optimize(index_dir, 10.0)


def _add_in_two_shares(index_dir: Path, documents: list[dict[str, Any]]) -> None:
    with locked_writer(open_index(index_dir), 10.0) as writer:
        writer.add_documents(documents, procs=2)


@pytest.fixture()
def two_copies(tmp_path: Path, build_index: Any, demo_paths: list[Path]) -> tuple[Path, Path]:
    """The demo corpus in several segments, twice."""
    build_index(tmp_path / "a", demo_paths, batch_size=15)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    return tmp_path / "a", tmp_path / "b"


WORK = ["merge", "add in two shares"]


@pytest.mark.parametrize("work", WORK)
def test_a_daemonic_process_writes_the_same_index(
    work: str,
    two_copies: tuple[Path, Path],
    indexed_articles: list[Any],
    everything: Callable[[Any], dict[str, Any]],
    in_daemon: Callable[..., str],
) -> None:
    daemonic, here = two_copies
    if work == "merge":
        assert _segments(here) > 1
        assert in_daemon(_merge, daemonic) == ""
        _merge(here)  # forks its helper
        assert _segments(daemonic) == 1
    else:
        documents = [to_document(article) for article in indexed_articles[:20]]
        assert in_daemon(_add_in_two_shares, daemonic, documents) == ""
        _add_in_two_shares(here, documents)  # the helper's share is a segment of its own
        assert _segments(daemonic) < _segments(here)
        _merge(daemonic)  # then the same documents in the same order: the same index
        _merge(here)
    assert _contents(daemonic, everything) == _contents(here, everything)


def _segments(index_dir: Path) -> int:
    with open_index(index_dir).reader() as reader:
        return 1 if reader.is_atomic() else len(reader.leaf_readers())


def _contents(index_dir: Path, everything: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    index = open_index(index_dir)
    try:
        return everything(index)
    finally:
        index.close()
