"""Did-you-mean and autocomplete (placeholders until the suggestion work lands)."""

from __future__ import annotations

from whoosh.searching import Searcher


def did_you_mean(searcher: Searcher, q: str, total: int) -> str | None:
    """A better spelling of `q` (accents restored, typos fixed), or None."""
    return None


def autocomplete(searcher: Searcher, prefix: str, limit: int = 8) -> list[str]:
    """Accent-insensitive completions of what was typed: "ha n" -> ["hà nội", "hà nam"]."""
    return []
