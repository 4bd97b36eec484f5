"""The facade web/ searches through: one index, or a sharded archive on a Dask cluster.

`Archive` is what both give: search (search.engine's result shape), articles, related
articles, completions and health. `SearcherArchive` is one index through a request's
searcher; search.cluster.engine.ShardedEngine is the sharded archive, with the same methods.
"""

from __future__ import annotations

from typing import Any, Protocol

from whoosh.searching import Searcher

from search.engine import SearchRequest, run_search
from search.features.articles import get_article
from search.features.related import related_articles
from search.features.suggest import autocomplete


class Archive(Protocol):
    """What the web app asks of the articles it serves."""

    def search(self, request: SearchRequest) -> dict[str, Any]: ...

    def article(self, article_id: str) -> dict[str, Any] | None: ...

    def related(self, article_id: str, limit: int) -> list[dict[str, Any]]: ...

    def suggest(self, prefix: str, limit: int) -> list[str]: ...

    def health(self) -> dict[str, Any]: ...


class SearcherArchive:
    """One index, through a searcher (a request's: web.index)."""

    def __init__(self, searcher: Searcher, generation: int | str) -> None:
        self.searcher = searcher
        self.generation = generation

    def search(self, request: SearchRequest) -> dict[str, Any]:
        return run_search(self.searcher, request)

    def article(self, article_id: str) -> dict[str, Any] | None:
        return get_article(self.searcher, article_id)

    def related(self, article_id: str, limit: int) -> list[dict[str, Any]]:
        return related_articles(self.searcher, article_id, limit)

    def suggest(self, prefix: str, limit: int) -> list[str]:
        return autocomplete(self.searcher, prefix, limit)

    def health(self) -> dict[str, Any]:
        return {"documents": self.searcher.doc_count(), "generation": self.generation}
