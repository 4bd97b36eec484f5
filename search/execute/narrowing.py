"""Bounding too many candidates over an archive's shards as one index bounds them.

One index scores at most MAX_CANDIDATES of its champions (search.execute.candidates.
bound_candidates): it intersects them with the query's word groups, rarest first, skipping
a group that would leave fewer than the window, until few enough are left; past the last
group it keeps the newest. Each step rests on a count over the whole archive, so a shard
deciding alone would keep another set (and score twice as many between two shards).

So when the archive's facts show more candidates than the bound (search.execute.agreement:
`ShardFacts.group_sizes`, `widened`), the engine asks each shard for its `NarrowingFacts`
along the archive's order of the groups: its candidates, their count after each step, and
the publication times of the newest left at the end. `agreed_narrowing` sums them and
decides the `Narrowing` one index would take (search.execute.matchsets); every shard then
bounds its candidates with it (search.execute.candidates.agreed_candidates). A group too rare
to narrow by makes the shards' later counts wrong (they did not skip it): the engine asks
again without that group, as one index goes on without it.

Left as they fall: articles published at the very second of the cut all stay, and undated
articles (kept only when fewer dated ones than the bound are left) are the first ones of
each shard, where one index keeps its first ones over all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from whoosh.searching import Searcher

from search.execute.bitmaps import DocSet
from search.execute.candidates import MAX_CANDIDATES, champions, group_docs, rarest_first
from search.execute.date_order import first_by_date
from search.execute.matchsets import MatchPlan, Narrowing
from search.execute.ranking import RERANK_WINDOW
from search.execute.retrieve import match_planned
from search.index.columns import NO_DATE, date_values
from search.query.parse import ParsedQuery


@dataclass(frozen=True)
class NarrowingFacts:
    """One shard's counts for bounding its candidates along the archive's order of groups."""

    candidates: int  # the champions the plan gives this shard
    steps: tuple[int, ...]  # the candidates left after each group of the order, none skipped
    # publication times of the newest left at the end (undated ones aside), newest first
    newest: npt.NDArray[np.int64]


def narrowing_facts(
    searcher: Searcher,
    parsed: ParsedQuery,
    by_filter: dict[str, DocSet],
    plan: MatchPlan,
    order: list[int],
) -> NarrowingFacts:
    """This shard's counts for the plan's champions, intersected with the groups in `order`."""
    matches = match_planned(searcher, parsed, by_filter, True, plan)
    candidates = champions(searcher, parsed, matches.docs, RERANK_WINDOW, plan.champions)
    return candidate_facts(searcher, parsed, candidates, order)


def candidate_facts(
    searcher: Searcher,
    parsed: ParsedQuery,
    candidates: DocSet,
    order: list[int],
    most: int | None = None,
) -> NarrowingFacts:
    """The counts of these candidates along `order` (`most`: MAX_CANDIDATES unless given)."""
    most = MAX_CANDIDATES if most is None else most
    counted = len(candidates)
    groups = group_docs(searcher, parsed)
    steps = []
    for i in order:
        candidates = candidates & groups[i]
        steps.append(len(candidates))
    newest = date_values(searcher)[first_by_date(searcher, candidates, most, True)]
    return NarrowingFacts(counted, tuple(steps), newest[newest != NO_DATE])


def group_order(group_sizes: list[tuple[int, ...]]) -> list[int]:
    """The archive's order of the word groups, rarest first, from each shard's group sizes."""
    width = max((len(sizes) for sizes in group_sizes), default=0)
    summed = [sum(sizes[i] for sizes in group_sizes if i < len(sizes)) for i in range(width)]
    return rarest_first(summed)


@dataclass(frozen=True)
class SkipGroup:
    """The group at this place of the order is too rare to narrow by: ask again without it."""

    place: int


def agreed_narrowing(
    ask: Callable[[list[int]], list[NarrowingFacts] | None],
    order: list[int],
    needed: int,
    most: int | None = None,
) -> Narrowing | None:
    """The bound one index would put on the shards' candidates all together (None: none, or
    a shard did not answer). `ask(order)` gives every shard's facts along the order; a group
    too rare to narrow by is left out of the order and the shards are asked again."""
    most = MAX_CANDIDATES if most is None else most
    while True:
        facts = ask(order)
        if facts is None:
            return None
        decided = _decided(facts, order, needed, most)
        if not isinstance(decided, SkipGroup):
            return decided
        order = order[: decided.place] + order[decided.place + 1 :]


def _decided(
    facts: list[NarrowingFacts], order: list[int], needed: int, most: int
) -> Narrowing | SkipGroup | None:
    """bound_candidates' steps on the summed counts."""
    if sum(f.candidates for f in facts) <= most:
        return None
    applied: list[int] = []
    for place, group in enumerate(order):
        left = sum(f.steps[place] for f in facts)
        if left < needed:
            return SkipGroup(place)
        applied.append(group)
        if left <= most:
            return Narrowing(tuple(applied))
    newest = np.sort(np.concatenate([f.newest for f in facts] or [np.zeros(0, np.int64)]))[::-1]
    if len(newest) >= most:
        return Narrowing(tuple(applied), dated_from=int(newest[most - 1]), undated=0)
    return Narrowing(tuple(applied), undated=most - len(newest))
