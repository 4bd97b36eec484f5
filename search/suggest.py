"""Did-you-mean suggestions (placeholder until the suggestion work lands)."""

from __future__ import annotations

from typing import Any


def did_you_mean(searcher: Any, q: str, total: int) -> str | None:
    return None
