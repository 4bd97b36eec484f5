"""What the shards of one archive must agree on before they match and score a request.

One index matches at the strictest level any article reaches (every word, all but one, any),
lets near-miss titles join when few articles hold every word, scores only its champions when
the matches are many, restores accents from its syllable counts and weighs terms by their
document frequency. A shard deciding these alone would answer another question than one
index: a shard without any article holding every word would fall back to looser matches
that the single index never shows. So each shard first reports its `ShardFacts` (how many
articles match at each level, the near-miss counts, the first title keys of each champion
tier, the accent restorer's counts it looked up, and the frequencies of the terms its ranking
query reads, `scored_terms`, with the words restored from its own counts); the engine adds
them up and decides one `MatchPlan` for all, and sends the plan and the summed counts
(search.query.collection) with the search. The champions are cut at one title key over all
shards (`last_kept`): a key of the article's own, so one index and the shards keep the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from whoosh.searching import Searcher

from search.analysis.chains import fold_term
from search.analysis.tokenizer import BIGRAM_SEPARATOR
from search.execute.bitmaps import DocSet
from search.execute.candidates import (
    CHAMPION_MIN_MATCHES,
    LONG_NEAR_MISS_WORDS,
    MAX_SCORED,
    TitleKey,
    champion_tiers,
    group_docs,
    shortest_title_keys,
)
from search.execute.docsets import expansions, query_docs, term_docs, titles_holding
from search.execute.matchsets import (
    FEW_MATCHES,
    ChampionCut,
    MatchPlan,
    MatchSets,
    matching_docs,
)
from search.execute.ranking import RERANK_WINDOW, ranking_query
from search.execute.scoring import CompoundNode, Node, TermNode, compile_query
from search.index.lexicon import get_lexicon
from search.index.schema import FOLDED
from search.query.parse import LEVELS, ParsedQuery


@dataclass(frozen=True)
class ArchiveView:
    """What a shard is told of its whole archive when it runs its part of a request: the
    plan, the newest publication time (recency's origin) and the archive's match count (for
    did-you-mean, which speaks up more freely when nothing matched)."""

    plan: MatchPlan
    newest: datetime | None
    total: int


@dataclass(frozen=True)
class ShardFacts:
    """One shard's counts for a request, to be summed over the shards."""

    level_counts: tuple[int, ...]  # matches at each of LEVELS, up to the first with any
    strict_titles: int = 0  # strict matches whose title holds every word
    # champion tiers among the matches at that level: their sizes and first title keys
    tier_sizes: tuple[int, ...] = ()
    tier_keys: tuple[list[TitleKey], ...] = ()
    lexicon: dict[tuple[str, str], int] = field(default_factory=dict)  # accent restoring
    # the frequency here of each term ranking reads, the words restored with this shard's
    # counts: mostly those the archive's restore to (search.cluster.engine checks)
    frequencies: dict[tuple[str, str], int] = field(default_factory=dict)
    # the typed words (folded) as this shard knows them: their spellings in its titles and
    # summaries, and those its titles, summaries or bodies hold (search.query.collection)
    spellings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    known_words: frozenset[str] = frozenset()
    # for bounding too many candidates (search.execute.narrowing): the documents holding
    # each word group, and the strict matches with the near-miss titles joined
    group_sizes: tuple[int, ...] = ()
    widened: int = 0


def shard_facts(
    searcher: Searcher,
    parsed: ParsedQuery,
    by_filter: dict[str, DocSet],
    ranked: bool,
    window: int = 0,
) -> ShardFacts:
    """This shard's counts for the request (`ranked`: relevance order, terms are scored;
    `window`: hits it asks for)."""
    levels = LEVELS if len(parsed.groups) > 1 else LEVELS[:1]
    counts, strict, strict_sets = [], None, None
    for level in levels:
        docs = query_docs(searcher, parsed, level)
        sets = MatchSets(docs if docs is not None else matching_docs(searcher, None), by_filter)
        narrowed = sets.narrowed()
        counts.append(len(narrowed))
        if strict is None:
            strict, strict_sets = narrowed, sets
        if counts[-1]:  # the archive matches at this level or a stricter one: stop here
            break
    strict_titles, widened = 0, 0
    group_sizes: tuple[int, ...] = ()
    if ranked and strict is not None and strict_sets is not None and not parsed.is_empty:
        strict_titles = len(titles_holding(searcher, parsed, missing=0) & strict)
        near = titles_holding(searcher, parsed, missing=1)
        widened = len(MatchSets(strict_sets.base | near, by_filter).narrowed())
        group_sizes = tuple(len(docs) for docs in group_docs(searcher, parsed))
    frequencies = {}
    spellings: dict[str, tuple[str, ...]] = {}
    known: frozenset[str] = frozenset()
    if ranked and not parsed.is_empty:  # the restorer's counts are noted by its lexicon
        count = searcher.doc_frequency  # through the index's cached term infos
        frequencies = {key: count(*key) for key in scored_terms(searcher, parsed)}
        spellings, known = typed_words_here(searcher, parsed)
    tiers: list[DocSet] = []
    if ranked and strict and not parsed.is_empty:
        tiers = champion_tiers(searcher, parsed, strict)
    keep = max(window, RERANK_WINDOW, MAX_SCORED)
    return ShardFacts(
        tuple(counts),
        strict_titles,
        tuple(len(tier) for tier in tiers),
        tuple(shortest_title_keys(searcher, tier, keep) for tier in tiers),
        frequencies=frequencies,
        spellings=spellings,
        known_words=known,
        group_sizes=group_sizes,
        widened=widened,
    )


def typed_words_here(
    searcher: Searcher, parsed: ParsedQuery
) -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """The typed words (folded) as this shard knows them: the spellings of those its titles
    and summaries hold, and those its titles, summaries or live bodies hold."""
    lexicon = get_lexicon(searcher)
    words = {fold_term(word) for word in parsed.words}
    spellings = {word: lexicon.spellings(word) for word in sorted(words) if word in lexicon}
    in_bodies = {word for word in words if term_docs(searcher, "body" + FOLDED, word)}
    return spellings, frozenset(spellings) | frozenset(in_bodies)


def archive_words(facts: Iterable[ShardFacts]) -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """The typed words as the archive knows them: every shard's spellings of each, and the
    words some shard holds."""
    spellings: dict[str, set[str]] = {}
    known: set[str] = set()
    for found in facts:
        for word, spelled in found.spellings.items():
            spellings.setdefault(word, set()).update(spelled)
        known |= found.known_words
    return {word: tuple(sorted(s)) for word, s in sorted(spellings.items())}, frozenset(known)


def agreed_plan(
    parsed: ParsedQuery, facts: Iterable[ShardFacts], ranked: bool, window: int = 0
) -> MatchPlan:
    """The plan one index holding every shard's articles would follow."""
    facts = list(facts)
    width = max((len(f.level_counts) for f in facts), default=1)
    totals = [
        sum(f.level_counts[i] for f in facts if i < len(f.level_counts)) for i in range(width)
    ]
    chosen = next((i for i, total in enumerate(totals[:-1]) if total), width - 1)
    level = LEVELS[chosen]
    if not ranked or parsed.is_empty:
        return MatchPlan(level)
    cut = agreed_champions([f for f in facts if len(f.level_counts) == chosen + 1], window)
    if chosen != 0 or not totals[0]:
        return MatchPlan(level, champions=cut)
    if totals[0] >= FEW_MATCHES:
        enough = FEW_MATCHES if len(parsed.groups) >= LONG_NEAR_MISS_WORDS else 1
        if sum(f.strict_titles for f in facts) >= enough:
            return MatchPlan(level, champions=cut)
    return MatchPlan(level, near_misses=True, champions=cut)


def agreed_champions(facts: list[ShardFacts], window: int) -> ChampionCut:
    """The champions one index would score, from the shards matching at the agreed level:
    the first tier that fills the window over all of them, cut at the `keep`-th title key
    over all of them (search.execute.candidates.TitleKey: titles tied with it all stay, on
    one index as on the shards)."""
    needed = max(window, RERANK_WINDOW)
    if sum(f.level_counts[-1] for f in facts) < CHAMPION_MIN_MATCHES:
        return ChampionCut(None)
    for tier in range(2):
        sizes = [f.tier_sizes[tier] for f in facts if len(f.tier_sizes) > tier]
        if sum(sizes) < needed:
            continue
        listed = [f.tier_keys[tier] for f in facts if len(f.tier_keys) > tier]
        return ChampionCut(tier, last_kept(listed, sum(sizes), max(needed, MAX_SCORED)))
    return ChampionCut(None)


def last_kept(listed: list[list[TitleKey]], size: int, keep: int) -> TitleKey | None:
    """The `keep`-th title key over the shards' lists of their first `keep` (`size` titles
    in all), as search.execute.candidates.shortest_titles cuts one index; None: all stay."""
    if size <= keep:
        return None
    return sorted(key for keys in listed for key in keys)[keep - 1]


def scored_terms(searcher: Searcher, parsed: ParsedQuery) -> set[tuple[str, str]]:
    """The (field, term) pairs whose frequencies ranking this request reads: the ranking
    query's terms (a prefix or fuzzy word's expansions), and the typed pairs the rerank weighs."""
    query = ranking_query(searcher, parsed)
    tree = compile_query(query, lambda multiterm: expansions(searcher, multiterm))
    found: set[tuple[str, str]] = set()
    if tree is None:
        found.update((name, _text(text)) for name, text in query.iter_all_terms(phrases=True))
    else:
        _collect(tree, found)
    words = [fold_term(word) for word in parsed.words]
    for pair in zip(words, words[1:], strict=False):
        found.add(("summary_bigram_folded", BIGRAM_SEPARATOR.join(pair)))
    return found


def _text(text: str | bytes) -> str:
    return text.decode("utf-8") if isinstance(text, bytes) else text


def _collect(node: Node, found: set[tuple[str, str]]) -> None:
    if isinstance(node, TermNode):
        found.add((node.fieldname, node.text))
    elif isinstance(node, CompoundNode):
        for child in node.children:
            _collect(child, found)
