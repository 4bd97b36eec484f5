"""A sharded archive searched on a Dask cluster, behind the same facade as one index.

Each shard is held by a `ShardActor` (search.cluster.shard) on a worker, one per shard, or
`replicas` of them on different workers. A search asks every shard for its facts
(search.execute.agreement): its counts, the accent restorer's counts it looked up and the
frequencies of the ranking query's terms as its own counts restore the words. The engine
agrees one plan on them and sums the counts (search.cluster.counts); then every shard runs
its part with the plan and the sums, in parallel, and the parts are merged
(search.cluster.merge). One call to each shard for browsing (no words), two for most
requests, three when the archive holds more candidates than one index scores (how to bound
them is agreed too: search.execute.narrowing). A shard is asked again, for a few requests,
when its part rests on a count another shard's share was missing from, or on its own count
where the archive's differs (it restored a word otherwise with the summed counts), or shows
a hit below the archive's rerank floor that one index would not have reranked. The answer
is the one index holding every article would give, but for where that index itself keeps
the first articles of equal score by the order they were indexed in (bench/README.md).

A shard whose every holder fails or misses the per-request timeout is left out: the answer is
a 200 with `partial: true` and `missing_shards`. Its actor is then made again on a live worker
(Dask's nanny restarts a killed worker process under a new address), in the background, and
the answers are whole again once it is up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from distributed import Client

from search.cluster.counts import (
    NOTHING_LACKING,
    counted_alike,
    scoring_counts,
    shard_search,
    summed_counts,
)
from search.cluster.holders import ShardHolders
from search.cluster.merge import (
    merge_completions,
    merge_results,
    promoted_alike,
    rerank_floor,
    within_floor,
)
from search.cluster.shard import ShardWarming
from search.engine import SearchRequest
from search.errors import NotFound, SearchError
from search.execute.agreement import (
    ArchiveView,
    ShardFacts,
    agreed_plan,
)
from search.execute.candidates import MAX_CANDIDATES
from search.execute.matchsets import MatchPlan
from search.execute.narrowing import NarrowingFacts, agreed_narrowing, group_order
from search.execute.ranking import RERANK_WINDOW
from search.features.related import candidates_wanted, pick_related
from search.index.caches import IndexCaches
from search.index.shard_layout import ShardLayout
from search.query.collection import CollectionStats
from search.query.parse import LEVELS, parse_query


@dataclass(frozen=True)
class ArchiveStats:
    """The archive's statistics at one tuple of shard generations."""

    generations: tuple[tuple[int, int], ...]  # (shard, generation)
    stats: CollectionStats
    newest: datetime | None


class ShardedEngine:
    """Search, articles, related articles and completions over the shards of `layout`."""

    def __init__(
        self,
        layout: ShardLayout,
        client: Client,
        timeout_s: float,
        replicas: int = 1,
        warming: ShardWarming | None = None,
    ) -> None:
        self.layout = layout
        self.timeout_s = timeout_s
        self.holders = ShardHolders(client, layout, replicas, warming)
        self.caches = IndexCaches()  # `archive_stats`: one generation tuple at a time
        # a thread per shard per request in flight (it waits on the shard's answer)
        self._pool = ThreadPoolExecutor(max_workers=8 * layout.shards)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.holders.close()

    # The fan-out: every shard at once, each within the request's time.

    def each_shard(
        self, call: Callable[[Any], Any], deadline: float, shards: list[int] | None = None
    ) -> tuple[dict[int, Any], list[int]]:
        """`call(actor)` on every shard (or those listed) in parallel: the answers by shard,
        and the shards that gave none (every holder failed, or the deadline passed)."""
        asked = range(self.layout.shards) if shards is None else shards
        return self.ask_each({shard: call for shard in asked}, deadline)

    def ask_each(
        self, calls: Mapping[int, Callable[[Any], Any]], deadline: float
    ) -> tuple[dict[int, Any], list[int]]:
        """Each shard's own call, in parallel (see `each_shard`)."""
        futures = {
            shard: self._pool.submit(self.holders.ask, shard, call, deadline)
            for shard, call in calls.items()
        }
        answers, missing = {}, []
        for shard, future in futures.items():
            try:
                answers[shard] = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except SearchError:  # the request is at fault: its 400, as from one index
                raise
            except Exception:  # lost worker, lost shard, timeout: the shard is missing
                missing.append(shard)
        return answers, missing

    def _deadline(self) -> float:
        return time.monotonic() + self.timeout_s

    def archive_stats(self, generations: dict[int, int], deadline: float) -> ArchiveStats:
        """The summed statistics of the shards at these generations (by shard: all of them,
        or those that answered when some are missing), cached until a generation changes."""
        key = tuple(sorted(generations.items()))
        cache = self.caches.archive_stats
        known: ArchiveStats | None = cache.get(key)
        if known is not None:
            return known
        shards = sorted(generations)
        answers, missing = self.each_shard(lambda actor: actor.statistics(), deadline, shards)
        parts = [answers[shard] for shard in sorted(answers)]
        summed = _summed_stats([stats for _, stats, _ in parts])
        dated = [newest for _, _, newest in parts if newest is not None]
        found = ArchiveStats(key, summed, max(dated, default=None))
        if not missing and all(answers[s][0] == generations[s] for s in answers):
            cache.put(key, found)  # a commit landed meanwhile: ask again next time
        return found

    # The facade: what web/ calls, as it calls search.engine on one index.

    def search(self, request: SearchRequest) -> dict[str, Any]:
        """The request over every shard, merged (see the module docstring)."""
        started = time.perf_counter()
        deadline = self._deadline()
        if not request.q.strip():
            return self._browsed(request, started, deadline)
        parsed = parse_query(request.q)
        ranked = request.sort == "relevance" and not parsed.is_empty
        told, missing = self.each_shard(lambda actor: actor.facts(request), deadline)
        facts: list[ShardFacts] = [told[s][1] for s in sorted(told)]
        window = request.page * request.per_page
        plan = agreed_plan(parsed, facts, ranked, window) if facts else MatchPlan("all")
        known = self.archive_stats({s: told[s][0] for s in told}, deadline)
        level = LEVELS.index(plan.level)
        total = sum(f.level_counts[level] for f in facts if level < len(f.level_counts))
        if ranked:
            plan = self._narrowed(request, plan, facts, total, sorted(told), deadline)
        view = ArchiveView(plan, known.newest, total)
        stats, lacking = known.stats, {s: NOTHING_LACKING for s in told}
        if ranked:
            stats, lacking = scoring_counts(told, known.stats)
        searches = {
            s: partial(shard_search, request, view, stats, lacking[s]) for s in sorted(told)
        }
        parts, lost = self.ask_each(searches, deadline)
        if ranked:
            parts, stats = counted_alike(self, request, view, stats, parts, deadline)
            parts = self._reranked_alike(request, view, stats, parts, deadline)
            parts = promoted_alike(parts)
        missing = sorted(set(missing) | set(lost))
        result = merge_results(request, [parts[s] for s in sorted(parts)], missing)
        result["took_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return result

    def _browsed(self, request: SearchRequest, started: float, deadline: float) -> dict[str, Any]:
        """A request without words (browsing, filters only): every shard matches all its
        articles in date order, so there is no plan to agree and nothing to count first,
        and one call to each shard answers it."""
        view = ArchiveView(MatchPlan("all"), None, 0)  # no recency, no did-you-mean here
        search = partial(shard_search, request, view, CollectionStats(0), NOTHING_LACKING)
        parts, missing = self.each_shard(search, deadline)
        result = merge_results(request, [parts[s] for s in sorted(parts)], missing)
        result["took_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return result

    def _narrowed(
        self,
        request: SearchRequest,
        plan: MatchPlan,
        facts: list[ShardFacts],
        total: int,
        shards: list[int],
        deadline: float,
    ) -> MatchPlan:
        """The plan with the bound one index would put on too many candidates
        (search.execute.narrowing), when the facts show more than the bound: one more call
        to each shard, or a few when a word group is too rare to narrow by."""
        if plan.champions is not None and plan.champions.tier is not None:
            return plan  # a champion tier is cut short already
        if plan.near_misses:
            total = max(total, sum(f.widened for f in facts))
        if total <= MAX_CANDIDATES:
            return plan

        def ask(order: list[int]) -> list[NarrowingFacts] | None:
            answers, missing = self.each_shard(
                partial(_narrowing, request, plan, order), deadline, shards
            )
            # a shard missing is left out of the search too; the others bound theirs alone
            return None if missing else [answers[s] for s in sorted(answers)]

        order = group_order([f.group_sizes for f in facts])
        needed = max(request.page * request.per_page, RERANK_WINDOW)
        decided = agreed_narrowing(ask, order, needed)
        return plan if decided is None else replace(plan, narrowing=decided)

    def _reranked_alike(
        self,
        request: SearchRequest,
        view: ArchiveView,
        stats: CollectionStats,
        parts: dict[int, dict[str, Any]],
        deadline: float,
    ) -> dict[int, dict[str, Any]]:
        """The parts without the hits one index would not have reranked (below the archive's
        floor, search.cluster.merge.rerank_floor); a shard that left one out is asked again
        with the floor when its hits it did not show could reach the page (rare)."""
        window = request.page * request.per_page
        floor = rerank_floor([parts[s] for s in sorted(parts)], max(window, RERANK_WINDOW))
        if floor is None:
            return parts
        kept, again = within_floor(parts, floor, window)
        if again:
            floored = replace(view, plan=replace(view.plan, rerank_floor=floor))
            search = partial(shard_search, request, floored, stats, NOTHING_LACKING)
            redone, _ = self.each_shard(search, deadline, again)
            kept.update(redone)
        return kept

    def article(self, article_id: str) -> dict[str, Any] | None:
        answers, _ = self.each_shard(lambda actor: actor.article(article_id), self._deadline())
        found = [answers[s] for s in sorted(answers) if answers[s] is not None]
        return found[0] if found else None

    def related(self, article_id: str, limit: int) -> list[dict[str, Any]]:
        """Articles like this one from every shard: the key-term query of the shard holding
        it, run on every shard with the archive's frequencies of its terms.

        :raise NotFound: no shard that answered holds the article.
        """
        deadline = self._deadline()
        answers, _ = self.each_shard(lambda actor: actor.similar(article_id), deadline)
        held = [answers[s] for s in sorted(answers) if answers[s] is not None]
        if not held:
            raise NotFound(f"no article with id {article_id!r}")
        fields, query = held[0]
        if query is None or limit < 1:
            return []
        terms = sorted({(name, _text(text)) for name, text in query.iter_all_terms()})
        counted, _ = self.each_shard(lambda actor: actor.frequencies(terms), deadline)
        known = self.archive_stats({s: counted[s][0] for s in counted}, deadline)
        stats = known.stats.with_frequencies(summed_counts({s: counted[s][1] for s in counted}))
        wanted = candidates_wanted(limit)
        found, _ = self.each_shard(
            lambda actor: actor.related_candidates(query, stats, wanted), deadline
        )
        candidates = sorted(
            (c for s in sorted(found) for c in found[s] if c[1]["id"] != article_id),
            key=lambda item: -item[0],
        )
        return pick_related(fields, candidates[:wanted], limit)

    def suggest(self, prefix: str, limit: int) -> list[str]:
        answers, _ = self.each_shard(
            lambda actor: actor.completions(prefix, limit), self._deadline()
        )
        return merge_completions([answers[s] for s in sorted(answers)], limit)

    def health(self) -> dict[str, Any]:
        """Documents and generations of the shards that answer, and those that do not."""
        answers, missing = self.each_shard(lambda actor: actor.ping(), self._deadline())
        return {
            "documents": sum(a["documents"] for a in answers.values()),
            "generation": "-".join(str(answers[s]["generation"]) for s in sorted(answers)),
            "shards": self.layout.shards,
            "missing_shards": missing,
        }


def _summed_stats(parts: list[CollectionStats]) -> CollectionStats:
    lengths: dict[str, int] = {}
    for part in parts:
        for name, length in part.field_lengths.items():
            lengths[name] = lengths.get(name, 0) + length
    return CollectionStats(sum(part.documents for part in parts), lengths)


def _narrowing(request: SearchRequest, plan: MatchPlan, order: list[int], actor: Any) -> Any:
    return actor.narrowing(request, plan, order)


def _text(text: str | bytes) -> str:
    return text.decode("utf-8") if isinstance(text, bytes) else text
