"""Merging the shards' answers to one request into the answer one index would give.

Every shard returns its best `page * per_page` hits in its own order, all its facet values
with their counts, and its total; totals and counts add up exactly (each article lives on one
shard), and the requested page is cut from the hits merged in the request's order.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from search.engine import SearchRequest
from search.features.facets import FACETS, facet_list

# How many hits a shard returns is all a page needs; equal keys keep the shards' own order,
# shard by shard (as one index keeps the order of indexing among equal scores or dates).


def hit_key(sort: str, browsing: bool) -> Any:
    """The merge key of a hit for a request's order: score for relevance; publication time
    for date sorts (and browsing), undated articles last either way."""
    if sort == "relevance" and not browsing:
        return lambda hit: -(hit["score"] or 0.0)
    newest_first = sort != "oldest"

    def by_date(hit: dict[str, Any]) -> tuple[int, str]:
        published = hit["published"]
        if published is None:
            return (1, "")
        return (0, _inverted(published) if newest_first else published)

    return by_date


def _inverted(text: str) -> str:
    """A string that sorts in the reverse order of `text` among same-shaped ISO times."""
    return "".join(chr(0x10FFFF - ord(c)) for c in text)


def merge_results(
    request: SearchRequest, parts: list[dict[str, Any]], missing: list[int]
) -> dict[str, Any]:
    """One result from the shards' parts (each in the API's result shape, from the shards
    that answered); `missing` names the shards that did not."""
    browsing = not request.q.strip()
    key = hit_key(request.sort, browsing)
    merged = list(heapq.merge(*(part["hits"] for part in parts), key=key))
    first = (request.page - 1) * request.per_page
    timed_out = any(part["partial"] for part in parts)
    facets = merge_facets(request, [part["facets"] for part in parts])
    return {
        "query": request.q,
        "total": sum(part["total"] for part in parts),
        "page": request.page,
        "per_page": request.per_page,
        "took_ms": max((part["took_ms"] for part in parts), default=0.0),
        "hits": merged[first : first + request.per_page],
        "facets": {} if timed_out else facets,
        "suggestion": majority(part["suggestion"] for part in parts),
        "partial": timed_out or bool(missing),
        "missing_shards": sorted(missing),
    }


def promoted_alike(parts: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The parts with every remembered run's holder scored with the archive's bonus: twice
    the best score over every shard, where each shard gave its own holders twice its own
    best (search.execute.passages.holders_first). The same operations as one index's:
    (score + bonus), times the recency factor, rounded as the API rounds."""
    told = [part["promotion"] for part in parts.values() if part.get("promotion")]
    if not told:
        return parts
    bonus = 2.0 * max(promotion["best"] for promotion in told)
    key = hit_key("relevance", False)
    alike = {}
    for shard, part in parts.items():
        holders = (part.get("promotion") or {}).get("holders", {})
        hits = [_promoted(hit, holders.get(hit["id"]), bonus) for hit in part["hits"]]
        alike[shard] = {**part, "hits": sorted(hits, key=key)}
        alike[shard].pop("promotion", None)
    return alike


def _promoted(hit: dict[str, Any], held: list[Any] | None, bonus: float) -> dict[str, Any]:
    if held is None:
        return hit
    score, factor = held
    promoted = score + bonus
    return {**hit, "score": round(promoted if factor is None else promoted * factor, 4)}


def rerank_floor(parts: list[dict[str, Any]], limit: int) -> float | None:
    """The `limit`-th best score before the stored-text rewards over the shards' parts: one
    index reranks only its best `limit` by that score, each shard its own best `limit`, so
    only those scoring at least this much may stay (None: all of them may, or a shard did not
    say, as for a remembered passage)."""
    if not parts or any(part.get("before_rerank") is None for part in parts):
        return None
    reranked = (part["before_rerank"]["reranked"] for part in parts)
    scores = sorted((score for listed in reranked for score in listed), reverse=True)
    return scores[limit - 1] if len(scores) > limit else None


def within_floor(
    parts: dict[int, dict[str, Any]], floor: float, window: int
) -> tuple[dict[int, dict[str, Any]], list[int]]:
    """The parts without their hits below the rerank floor, and the shards to ask again
    with it: those that left one out and showed a whole window, whose last hit scores as
    much as the window-th of the hits kept (a hit it did not show could reach the window)."""
    kept = {}
    for shard, part in parts.items():
        before = part["before_rerank"]["hits"]
        hits = [hit for hit, score in zip(part["hits"], before, strict=True) if score >= floor]
        kept[shard] = {**part, "hits": hits}
    scores = sorted((_score(hit) for part in kept.values() for hit in part["hits"]), reverse=True)
    lowest = scores[window - 1] if len(scores) >= window else -math.inf
    again = [
        shard
        for shard in sorted(parts)
        if len(kept[shard]["hits"]) < len(parts[shard]["hits"]) >= window
        and _score(parts[shard]["hits"][-1]) >= lowest
    ]
    return kept, again


def _score(hit: dict[str, Any]) -> float:
    return float(hit["score"] or 0.0)


def merge_facets(request: SearchRequest, shard_facets: list[dict[str, Any]]) -> dict[str, Any]:
    """Each facet's counts summed over the shards, listed as one index lists them."""
    if not request.facets or not shard_facets or any(not f for f in shard_facets):
        return {}
    merged: dict[str, Any] = {}
    for facet in FACETS:
        counts: Counter[str] = Counter()
        chosen: set[str] = set()
        for facets in shard_facets:
            for entry in facets.get(facet.name, []):
                counts[entry["value"]] += entry["count"]
                if entry["selected"]:
                    chosen.add(entry["value"])
        by_date = facet.kind == "date"
        limit = None if by_date else request.facet_size
        merged[facet.name] = facet_list(counts, chosen.__contains__, limit, by_date)
    return merged


def majority(suggestions: Iterable[str | None]) -> str | None:
    """The suggestion more than half of the shards make, else None. A shard's lexicon is a
    sample of the archive's: a reading only some of them find dominant may not be."""
    given = list(suggestions)
    counted = Counter(s for s in given if s)
    if not counted:
        return None
    best, votes = counted.most_common(1)[0]
    return best if votes * 2 > len(given) else None


def merge_completions(lists: list[list[str]], limit: int) -> list[str]:
    """Completions from every shard, each shard's best first, taken in turns, once each."""
    merged: dict[str, None] = {}
    for rank in range(max((len(found) for found in lists), default=0)):
        for found in lists:
            if rank < len(found):
                merged.setdefault(found[rank])
    return list(merged)[:limit]
