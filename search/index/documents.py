"""Stored articles read through the index's caches.

One search reads the same article several times: the rerank reads its best-scored window,
the remembered-run check reads much of that window again, and the page's hits read their
articles once more for the snippets. Reading one (decompressing and unpickling a whole
article, body included) costs more than searching its text, so each read is kept for the
generation (search.index.caches: `stored`), bounded by the size of the texts held.
"""

from __future__ import annotations

from typing import Any

from whoosh.searching import Searcher

from search.index.caches import caches_of, generation


def stored_fields(searcher: Searcher, docnum: int) -> dict[str, Any]:
    """The document's stored fields (shared with the cache: never change the dict)."""
    stored = caches_of(searcher).stored
    key = (generation(searcher), docnum)
    fields: dict[str, Any] | None = stored.get(key)
    if fields is None:
        fields = searcher.stored_fields(docnum)
        stored.put(key, fields)
    return fields
