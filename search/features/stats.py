"""What `vnsearch stats` reports about an index."""

from __future__ import annotations

import os
from typing import Any

from whoosh import query, sorting

from search.analysis.dates import iso_vietnam
from search.index.schema import UNDATED
from search.index.store import open_index, size_on_disk


def index_stats(index_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Document count (live documents only), date range, undated count, sources, size."""
    index = open_index(index_dir)
    dated = query.Not(query.Term("year", UNDATED))
    with index.searcher() as searcher:
        newest = searcher.search(dated, sortedby="published", reverse=True, limit=1)
        oldest = searcher.search(dated, sortedby="published", limit=1)
        by_source = searcher.search(
            query.Every(), groupedby=sorting.FieldFacet("source", maptype=sorting.Count), limit=1
        ).groups()
        undated = searcher.doc_frequency("year", UNDATED)
        return {
            "index_dir": str(index_dir),
            "documents": searcher.doc_count(),
            "newest": iso_vietnam(newest[0]["published"]) if newest else None,
            "oldest": iso_vietnam(oldest[0]["published"]) if oldest else None,
            "undated": undated,
            "sources": [
                {"value": value or "", "count": count}
                for value, count in sorted(by_source.items(), key=lambda kv: (-kv[1], kv[0] or ""))
            ],
            "size_bytes": size_on_disk(index_dir),
            "generation": index.latest_generation(),
        }
