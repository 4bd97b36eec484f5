"""Shared fixtures: a tiny real index built from the demo corpus by the real indexer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from whoosh.index import FileIndex

from indexer.build import IndexBuilder
from indexer.readers import read_paths
from search.index.store import open_index

ROOT = Path(__file__).resolve().parent.parent
DEMO_PATHS = [ROOT / "demo" / "articles.jsonl", ROOT / "demo" / "pages", ROOT / "demo" / "feeds"]
CORPUS = ROOT.parent / "shared" / "corpus"


def build_index(index_dir: Path, paths: list[Path], batch_size: int = 50) -> IndexBuilder:
    """Index files into a directory with the real indexer; returns the builder (summary)."""
    messages: list[str] = []
    builder = IndexBuilder(str(index_dir), batch_size=batch_size, report=messages.append)
    builder.add_records(read_paths(str(p) for p in paths))
    builder.messages = messages  # type: ignore[attr-defined]
    return builder


@pytest.fixture(scope="session")
def demo_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo corpus (articles, saved pages, feed) indexed once per test run."""
    index_dir = tmp_path_factory.mktemp("demo-index")
    builder = build_index(index_dir, DEMO_PATHS)
    assert builder.summary.rejected == 0, builder.messages  # type: ignore[attr-defined]
    return index_dir


@pytest.fixture(scope="session")
def demo_index(demo_index_dir: Path) -> FileIndex:
    return open_index(demo_index_dir)


@pytest.fixture()
def searcher(demo_index: FileIndex) -> Iterator[object]:
    from search.query.weights import weighting

    with demo_index.searcher(weighting=weighting()) as s:
        yield s


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """../shared/corpus, or a clean skip when it is absent."""
    if not (CORPUS / "dantri-2020-2021.jsonl.gz").exists():
        pytest.skip("../shared/corpus is not available")
    return CORPUS


@pytest.fixture(scope="session")
def churned_index(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo corpus in many small segments, with some articles deleted and re-added."""
    directory = tmp_path_factory.mktemp("churn")
    builder = build_index(directory / "ix", DEMO_PATHS, batch_size=7)
    lines = (DEMO_PATHS[0]).read_text(encoding="utf-8").splitlines()[:20]
    again = directory / "again.jsonl"
    again.write_text("\n".join(lines), encoding="utf-8")
    build_index(directory / "ix", [again], batch_size=3)  # replaces: deletions in old segments
    builder.delete([json.loads(line)["id"] for line in lines[:5]])
    return builder.index
