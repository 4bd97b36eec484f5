"""README's Layout section names every package and module of the tree, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["search/analysis", "search/index", "search/query", "search/execute"]
PACKAGES += ["search/features", "indexer", "web", "cli"]


def layout_rows() -> dict[str, str]:
    """The Layout table: first cell (without backticks) -> the rest of the row."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = re.match(r"\| (`[^|]+) \|(.*)\|$", line)
        if cells:
            first = ", ".join(re.findall(r"`([^`]+)`", cells.group(1)))
            rows[first.rstrip("/")] = cells.group(2)
    return rows


def modules(package: str) -> list[str]:
    folder = ROOT / package
    names = [p.stem for p in folder.glob("*.py") if not p.stem.startswith("__")]
    names += [p.name for p in folder.iterdir() if (p / "__init__.py").is_file()]
    return sorted(names)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_of_a_package_is_named_in_its_row(package: str) -> None:
    row = layout_rows()[package]
    named = set(re.findall(r"`(\w+)`", row))
    assert [name for name in modules(package) if name not in named] == []


def test_every_search_module_at_the_top_has_a_row() -> None:
    rows = " ".join(layout_rows())
    top = [p.name for p in (ROOT / "search").glob("*.py") if p.stem != "__init__"]
    assert [name for name in top if name not in rows] == []


def test_every_row_names_a_path_that_exists() -> None:
    for first in layout_rows():
        assert (ROOT / first.split(",")[0].rstrip("/")).exists(), first
