"""A sharded archive searched on a Dask cluster, behind the same facade as one index.

Each shard is held by a `ShardActor` (search.cluster.shard) on a worker, one per shard, or
`replicas` of them on different workers. A search asks every shard for its counts
(search.execute.agreement) and agrees one plan; for relevance it then sums the accent
restorer's counts and the frequencies of the ranking query's terms over every shard (asking a
shard for those it did not count itself); then every shard runs its part with them, in
parallel, and the parts are merged (search.cluster.merge): the answer one index holding every
article would give, but for the cuts where that index scores only part of its matches
(bench/README.md).

A shard whose every holder fails or misses the per-request timeout is left out: the answer is
a 200 with `partial: true` and `missing_shards`. Its actor is then made again on a live worker
(Dask's nanny restarts a killed worker process under a new address), in the background, and
the answers are whole again once it is up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from distributed import Client

from search.cluster.holders import ShardHolders
from search.cluster.merge import below_floor, merge_completions, merge_results, rerank_floor
from search.engine import SearchRequest
from search.errors import NotFound, SearchError
from search.execute.agreement import (
    ArchiveView,
    ShardFacts,
    agreed_plan,
)
from search.execute.matchsets import MatchPlan
from search.execute.retrieve import RERANK_WINDOW
from search.features.related import candidates_wanted, pick_related
from search.index.caches import IndexCaches
from search.index.shard_layout import ShardLayout
from search.index.sidecar import MIN_SIDECAR_DOCS
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
        sidecar_min_docs: int = MIN_SIDECAR_DOCS,
    ) -> None:
        self.layout = layout
        self.timeout_s = timeout_s
        self.holders = ShardHolders(client, layout, replicas, sidecar_min_docs)
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
        futures = {
            shard: self._pool.submit(self.holders.ask, shard, call, deadline) for shard in asked
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
        parsed = parse_query(request.q)
        ranked = request.sort == "relevance" and not parsed.is_empty
        told, missing = self.each_shard(lambda actor: actor.facts(request), deadline)
        facts: list[ShardFacts] = [told[s][1] for s in sorted(told)]
        window = request.page * request.per_page
        plan = agreed_plan(parsed, facts, ranked, window) if facts else MatchPlan("all")
        known = self.archive_stats({s: told[s][0] for s in told}, deadline)
        level = LEVELS.index(plan.level)
        total = sum(f.level_counts[level] for f in facts if level < len(f.level_counts))
        view = ArchiveView(plan, known.newest, total)
        stats = known.stats
        if ranked:
            stats = self._scoring_counts(request, told, known.stats, deadline)
        parts, lost = self.each_shard(
            lambda actor: actor.search(request, view, stats), deadline, sorted(told)
        )
        if ranked:
            parts = self._reranked_alike(request, view, stats, parts, deadline)
        missing = sorted(set(missing) | set(lost))
        result = merge_results(request, [parts[s] for s in sorted(parts)], missing)
        result["took_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return result

    def _reranked_alike(
        self,
        request: SearchRequest,
        view: ArchiveView,
        stats: CollectionStats,
        parts: dict[int, dict[str, Any]],
        deadline: float,
    ) -> dict[int, dict[str, Any]]:
        """The parts, those showing a hit one index would not have reranked asked again
        with the archive's floor (search.cluster.merge.rerank_floor): rare, one more call."""
        limit = max(request.page * request.per_page, RERANK_WINDOW)
        floor = rerank_floor([parts[s] for s in sorted(parts)], limit)
        if floor is None:
            return parts
        again = [s for s in sorted(parts) if below_floor(parts[s], floor)]
        if not again:
            return parts
        floored = replace(view, plan=replace(view.plan, rerank_floor=floor))
        redone, _ = self.each_shard(
            lambda actor: actor.search(request, floored, stats), deadline, again
        )
        return {**parts, **redone}

    def _scoring_counts(
        self,
        request: SearchRequest,
        told: dict[int, tuple[int, ShardFacts]],
        stats: CollectionStats,
        deadline: float,
    ) -> CollectionStats:
        """The archive's counts for ranking this request: first the accent restorer's (so
        that every shard restores the words alike), then the frequencies of the terms the
        ranking query holds with those readings; each summed over every shard, asking a
        shard for the counts it did not look up itself."""
        shards = sorted(told)
        looked_up = {s: told[s][1].lexicon for s in shards}
        lexicon = self._completed(looked_up, lambda a, keys: a.lexicon_counts(keys), deadline)
        terms, _ = self.each_shard(lambda a: a.terms(request, lexicon), deadline, shards)
        frequencies = self._completed(terms, lambda a, keys: a.term_counts(keys), deadline)
        return stats.with_frequencies(frequencies, lexicon)

    def _completed(
        self,
        counts: dict[int, dict[tuple[str, str], int]],
        ask: Callable[[Any, list[tuple[str, str]]], Any],
        deadline: float,
    ) -> dict[tuple[str, str], int]:
        """Every key any shard counted, summed over all the shards: those that did not count
        a key are asked for it (in parallel, only when some are missing)."""
        union = sorted({key for found in counts.values() for key in found})
        lacking = {s: [k for k in union if k not in found] for s, found in counts.items()}
        for shard in [s for s, keys in lacking.items() if keys]:
            wanted = lacking[shard]

            def asked(actor: Any, keys: list[tuple[str, str]] = wanted) -> Any:
                return ask(actor, keys)

            more, _ = self.each_shard(asked, deadline, [shard])
            counts[shard] = {**counts[shard], **more.get(shard, {})}
        summed: dict[tuple[str, str], int] = {}
        for found in counts.values():
            for key, count in found.items():
                summed[key] = summed.get(key, 0) + count
        return summed

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
        frequencies = self._completed({s: counted[s][1] for s in counted}, _no_ask, deadline)
        stats = known.stats.with_frequencies(frequencies)
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


def _no_ask(actor: Any, keys: list[tuple[str, str]]) -> Any:
    raise AssertionError("every shard counted the same terms")  # the same term list to all


def _text(text: str | bytes) -> str:
    return text.decode("utf-8") if isinstance(text, bytes) else text
