"""The archive's counts a sharded search ranks with, agreed over the shards.

Ranking one index uses its own counts: the frequencies of the ranking query's terms and the
accent restorer's lexicon counts. Over shards these are sums, and a shard knows only its
own: each reports those it looked up with its facts (search.execute.agreement), the engine
sums them (`scoring_counts`), and a shard searches with the sums and says which counts it
used that another shard had not given (`late`) or that it had to take from itself
(`uncounted`). `counted_alike` then completes the sums and asks such a shard again, so that
every shard ranks with the counts one index holding every article would have used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from typing import Any, Protocol

from search.engine import SearchRequest
from search.execute.agreement import ArchiveView, ShardFacts, archive_words
from search.query.collection import CollectionStats

Key = tuple[str, str]  # (field, term)
Counts = dict[Key, int]
Lacking = tuple[tuple[Key, ...], tuple[Key, ...]]  # lexicon keys and terms a shard lacks
NOTHING_LACKING: Lacking = ((), ())
MAX_RECOUNTS = 2  # asking again with more counts: a shard whose reading changed twice


class FanOut(Protocol):
    """What the counting asks of the sharded engine: calls to shards, in parallel."""

    def each_shard(
        self, call: Callable[[Any], Any], deadline: float, shards: list[int] | None = None
    ) -> tuple[dict[int, Any], list[int]]: ...

    def ask_each(
        self, calls: Mapping[int, Callable[[Any], Any]], deadline: float
    ) -> tuple[dict[int, Any], list[int]]: ...


def shard_search(
    request: SearchRequest,
    view: ArchiveView,
    stats: CollectionStats,
    lacking: Lacking,
    actor: Any,
) -> Any:
    """A shard's part of the search (ShardActor.search), as a call for the fan-out."""
    return actor.search(request, view, stats, lacking)


def scoring_counts(
    told: dict[int, tuple[int, ShardFacts]], stats: CollectionStats
) -> tuple[CollectionStats, dict[int, Lacking]]:
    """The archive's counts for ranking this request, as far as the shards' facts give them:
    the accent restorer's, and the frequencies of the terms the ranking query holds, each
    summed over the shards that counted it; and by shard, the keys it did not count. Each
    shard counts those with its search (mostly none of them is there) and each counted the
    terms of its own reading of the words (mostly the archive's too): `counted_alike` asks
    again when either was not so."""
    shards = sorted(told)
    lexicon = {s: told[s][1].lexicon for s in shards}
    terms = {s: told[s][1].frequencies for s in shards}
    every_key = sorted({k for found in lexicon.values() for k in found})
    every_term = sorted({t for found in terms.values() for t in found})
    lacking = {
        s: (
            tuple(k for k in every_key if k not in lexicon[s]),
            tuple(t for t in every_term if t not in terms[s]),
        )
        for s in shards
    }
    spellings, known = archive_words(told[s][1] for s in shards)
    summed = stats.with_frequencies(summed_counts(terms), summed_counts(lexicon))
    return replace(summed, spellings=spellings, known_words=known), lacking


def counted_alike(
    fan_out: FanOut,
    request: SearchRequest,
    view: ArchiveView,
    stats: CollectionStats,
    parts: dict[int, dict[str, Any]],
    deadline: float,
) -> tuple[dict[int, dict[str, Any]], CollectionStats]:
    """The parts, and the counts they were searched with: a shard is asked again, with the
    counts summed anew, when a count it used lacked another shard's share (`late`), or was
    its own where the archive's differs (`uncounted`: rare, a shard reading a word otherwise
    with the archive's counts than with its own); at most MAX_RECOUNTS times."""
    for _ in range(MAX_RECOUNTS):
        own = {s: _given(parts[s], "uncounted") for s in parts}
        lexicon = {s: dict(own[s][0]) for s in parts}
        terms = {s: dict(own[s][1]) for s in parts}
        if any(lexicon.values()) or any(terms.values()):
            _complete(fan_out, lexicon, terms, deadline)
        late = {s: _given(parts[s], "late") for s in parts}
        late_lexicon = summed_counts({s: late[s][0] for s in parts})
        late_terms = summed_counts({s: late[s][1] for s in parts})
        summed = summed_counts(lexicon)
        again = [
            s
            for s in sorted(parts)
            if (set(late_lexicon) | set(late_terms)) & parts[s].get("used", set())
            or any(summed[key] != count for key, count in own[s][0].items())
            or own[s][1]  # scored with a scaled estimate
        ]
        stats = _with_more(stats, summed_counts(terms), summed)
        stats = _with_more(stats, late_terms, late_lexicon)
        if not again:
            break
        parts = {s: _without(parts[s], "late", "uncounted") for s in parts}  # summed
        search = partial(shard_search, request, view, stats, NOTHING_LACKING)
        redone, _ = fan_out.each_shard(search, deadline, again)
        parts = {**parts, **redone}
    return parts, stats


def _complete(
    fan_out: FanOut, lexicon: dict[int, Counts], terms: dict[int, Counts], deadline: float
) -> None:
    """Every key any shard counted, counted by every shard: those that did not count some
    are asked for them, in one call each, in parallel (only when some are missing)."""
    calls: dict[int, Callable[[Any], Any]] = {}
    all_keys = sorted({k for found in lexicon.values() for k in found})
    all_terms = sorted({k for found in terms.values() for k in found})
    for shard in lexicon:
        keys = [k for k in all_keys if k not in lexicon[shard]]
        wanted = [k for k in all_terms if k not in terms[shard]]
        if keys or wanted:
            calls[shard] = partial(_counts, keys=keys, terms=wanted)
    answers, _ = fan_out.ask_each(calls, deadline)
    for shard, (more_keys, more_terms) in answers.items():
        lexicon[shard] = {**lexicon[shard], **more_keys}
        terms[shard] = {**terms[shard], **more_terms}


def summed_counts(counts: Mapping[int, Mapping[Key, int]]) -> Counts:
    """Each key's count summed over the shards (by shard number) that gave one."""
    summed: Counts = {}
    for found in counts.values():
        for key, count in found.items():
            summed[key] = summed.get(key, 0) + count
    return summed


def _without(part: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in part.items() if name not in names}


def _given(part: dict[str, Any], kind: str) -> tuple[Counts, Counts]:
    """A part's counts of one kind ("late", "uncounted"): the lexicon's, the terms'."""
    given = part.get(kind, {})
    return given.get("lexicon", {}), given.get("terms", {})


def _with_more(stats: CollectionStats, frequencies: Counts, lexicon: Counts) -> CollectionStats:
    """The counts with more added: a key's counts from shards that had not given it."""
    return stats.with_frequencies(
        summed_counts({0: stats.frequencies, 1: frequencies}),
        summed_counts({0: stats.lexicon, 1: lexicon}),
    )


def _counts(actor: Any, keys: list[Key], terms: list[Key]) -> Any:
    return actor.counts(keys, terms)
