"""Single articles by id: the full stored article for the article page and the API."""

from __future__ import annotations

from typing import Any

from whoosh.searching import Searcher

from search.analysis.dates import iso_vietnam


def get_article(searcher: Searcher, article_id: str) -> dict[str, Any] | None:
    """The stored article with this id (body included), or None."""
    fields = searcher.document(id=article_id)
    if fields is None:
        return None
    return article_dict(fields)


def article_dict(fields: dict[str, Any]) -> dict[str, Any]:
    """Stored fields in the API's article shape (published as ISO 8601 with +07:00)."""
    return {
        "id": fields["id"],
        "url": fields.get("url"),
        "title": fields.get("title", ""),
        "summary": fields.get("summary", ""),
        "body": fields.get("body", ""),
        "published": iso_vietnam(fields.get("published")),
        "source": fields.get("source"),
        "category": fields.get("category"),
        "author": fields.get("author"),
    }
