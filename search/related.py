"""More like this (placeholder until the related-articles work lands)."""

from __future__ import annotations

from typing import Any

from whoosh.searching import Searcher


def related_articles(searcher: Searcher, article_id: str, limit: int = 5) -> list[dict[str, Any]]:
    """Articles about the same thing as `article_id`, without it and its near-duplicates."""
    return []
