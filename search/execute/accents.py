"""Restoring accents to accent-free words from the index's own syllable and pair counts."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from whoosh.reading import IndexReader

from search.index.lexicon import (
    Lexicon,
    quick_fold,
    telex_decode,
    typo_candidates,
)

# A spelling is suggested when its evidence is at least this many times the runner-up's.
DOMINANCE = 3.0
# Pseudo-count added to pair frequencies, so that "seen once" beats "never seen" by 1.3/0.3.
PAIR_SMOOTHING = 0.3
# Weight of single-syllable frequency, used only where no pair of spellings was ever seen:
# with 0.5, frequency alone must dominate 9x (3 squared).
UNIGRAM_WEIGHT = 0.5
# Without pair evidence, a spelling also needs this many titles/summaries to be suggested.
MIN_UNIGRAM_DOCS = 5
# Spellings considered per syllable (the most frequent ones).
MAX_OPTIONS = 12
# Accented pairs looked up between two neighbouring words, at most.
MAX_PAIR_LOOKUPS = 32
# Pair lookups stop once all but this share of the folded pair's documents are explained.
UNEXPLAINED_SHARE = 0.05


@dataclass
class _Slot:
    """The spellings considered for one query word, with their frequencies and log-evidence."""

    typed: str
    options: list[str]
    freqs: list[int]
    local: list[float]
    telex: str | None = None  # the reading of an unknown word as Telex, if one of the options

    @property
    def folds(self) -> set[str]:
        return {quick_fold(option) for option in self.options}


def restore(
    reader: IndexReader, lexicon: Lexicon, terms: list[str], free: bool = False
) -> list[str]:
    """The confident reading of a run of exact terms; unsure syllables stay as typed.

    :param free: accented syllables may be re-accented too (the query found nothing).
    """
    slots = [_slot(reader, lexicon, term, free) for term in terms]
    pairs = [_pair_counts(reader, lexicon, a, b) for a, b in zip(slots, slots[1:], strict=False)]
    for i, slot in enumerate(slots):
        if (i > 0 and pairs[i - 1] is not None) or (i < len(pairs) and pairs[i] is not None):
            slot.local = [0.0] * len(slot.options)  # pairs decide; frequency alone would not
    links = [_log_links(p) for p in pairs]
    marginals = _max_marginals(slots, links)
    return [_decide(slot, marginals[i], _pair_support(pairs, i)) for i, slot in enumerate(slots)]


def _slot(reader: IndexReader, lexicon: Lexicon, term: str, free: bool = False) -> _Slot:
    """Candidate spellings for one word, most frequent first."""
    folded = quick_fold(term)
    if not term.isalpha() or (term != folded and not free and lexicon.has_spelling(term)):
        return _Slot(term, [term], [1], [0.0])
    if folded in lexicon:
        return _ranked_slot(reader, lexicon, term, lexicon.spellings(folded))
    folds = typo_candidates(reader, lexicon, folded)  # the neighbours decide among them
    slot = _ranked_slot(reader, lexicon, term, [s for f in folds for s in lexicon.spellings(f)])
    decoded = telex_decode(term) if term.isascii() else None
    if decoded is None or not lexicon.has_spelling(decoded):
        return slot
    if not folds:
        return _Slot(term, [decoded], [1], [0.0])
    # "tarn" is Telex for "tản" and a slip for "trần": the Telex reading counts as the most
    # frequent spelling, and only the neighbours' pairs ("quốc hội trần") can overrule it.
    kept = [i for i, option in enumerate(slot.options) if option != decoded]
    return _Slot(
        term,
        [slot.options[i] for i in kept] + [decoded],
        [slot.freqs[i] for i in kept] + [lexicon.syllable_frequency(reader, decoded)],
        [slot.local[i] for i in kept] + [max(slot.local)],
        telex=decoded,
    )


def _ranked_slot(
    reader: IndexReader, lexicon: Lexicon, typed: str, spellings: Iterable[str]
) -> _Slot:
    """A slot of the most frequent spellings, with their log share as local evidence."""
    counted = [(lexicon.syllable_frequency(reader, spelling), spelling) for spelling in spellings]
    ranked = sorted(counted, reverse=True)[:MAX_OPTIONS]
    if not ranked:
        return _Slot(typed, [typed], [1], [0.0])
    total = max(1, sum(freq for freq, _ in ranked))
    local = [UNIGRAM_WEIGHT * math.log(max(freq, 1) / total) for freq, _ in ranked]
    return _Slot(typed, [s for _, s in ranked], [f for f, _ in ranked], local)


def _pair_counts(
    reader: IndexReader, lexicon: Lexicon, left: _Slot, right: _Slot
) -> list[list[int]] | None:
    """How often each left spelling precedes each right one; None when no folded pair of the
    two slots was ever seen (then no accented pair exists, and nothing needs looking up).

    Each lookup costs a hash probe per segment and field, so pairs are looked up most likely
    first (by the product of the two spellings' frequencies) and only until the folded pair's
    documents are accounted for: the accented pairs split the folded pair's count (a document
    rarely holds two spellings of one folded pair), so the pairs left over have none.
    """
    if len(left.options) == 1 and len(right.options) == 1:
        return None  # nothing to choose between
    unexplained = {
        (a, b): count
        for a in left.folds
        for b in right.folds
        if (count := lexicon.folded_pair_frequency(reader, a, b))
    }
    if not unexplained:
        return None
    slack = {folds: count * UNEXPLAINED_SHARE for folds, count in unexplained.items()}
    counts = [[0] * len(right.options) for _ in left.options]
    order = sorted(
        ((fa * fb, k, m) for k, fa in enumerate(left.freqs) for m, fb in enumerate(right.freqs)),
        reverse=True,
    )
    for _, k, m in order[:MAX_PAIR_LOOKUPS]:
        a, b = left.options[k], right.options[m]
        folds = (quick_fold(a), quick_fold(b))
        if unexplained.get(folds, 0) > slack.get(folds, 0):
            counts[k][m] = lexicon.pair_frequency(reader, a, b)
            unexplained[folds] -= counts[k][m]
    return counts


def _log_links(counts: list[list[int]] | None) -> list[list[float]] | None:
    if counts is None:
        return None
    return [[math.log(c + PAIR_SMOOTHING) for c in row] for row in counts]


def _max_marginals(slots: list[_Slot], links: list[list[list[float]] | None]) -> list[list[float]]:
    """For every slot and spelling, the score of the best reading using that spelling.

    Viterbi forwards and backwards over the chain of slots; the score of a reading is the sum
    of its weighted log unigram shares and its log pair frequencies.
    """

    def link(i: int, k: int, m: int) -> float:
        table = links[i]
        return 0.0 if table is None else table[k][m]

    forward = [list(slots[0].local)]
    for i in range(1, len(slots)):
        prev = forward[-1]
        forward.append(
            [
                local + max(prev[k] + link(i - 1, k, m) for k in range(len(prev)))
                for m, local in enumerate(slots[i].local)
            ]
        )
    backward = [[0.0] * len(slots[-1].options)]
    for i in range(len(slots) - 2, -1, -1):
        after, right = backward[0], slots[i + 1].local
        backward.insert(
            0,
            [
                max(link(i, k, m) + right[m] + after[m] for m in range(len(after)))
                for k in range(len(slots[i].options))
            ],
        )
    return [
        [f + b for f, b in zip(fw, bw, strict=True)]
        for fw, bw in zip(forward, backward, strict=True)
    ]


def _pair_support(pairs: list[list[list[int]] | None], i: int) -> list[int]:
    """For each spelling of slot i, its largest pair frequency with a neighbour's spelling."""
    support: list[int] = []
    left = pairs[i - 1] if i > 0 else None
    right = pairs[i] if i < len(pairs) else None
    width = len(left[0]) if left else len(right) if right else 0
    for k in range(width):
        best = max((row[k] for row in left), default=0) if left else 0
        if right:
            best = max(best, max(right[k], default=0))
        support.append(best)
    return support


def _decide(slot: _Slot, marginals: list[float], support: list[int]) -> str:
    """The dominant spelling of a slot, or what was typed when none dominates."""
    order = sorted(range(len(marginals)), key=lambda k: -marginals[k])
    best = order[0]
    if slot.telex is not None:
        telex = slot.options.index(slot.telex)
        overruled = marginals[best] - marginals[telex] >= math.log(DOMINANCE)
        return slot.options[best] if overruled and support and support[best] > 0 else slot.telex
    if len(order) > 1 and marginals[best] - marginals[order[1]] < math.log(DOMINANCE):
        return slot.typed
    paired = bool(support) and support[best] > 0
    if not paired and len(order) > 1 and slot.freqs[best] < MIN_UNIGRAM_DOCS:
        return slot.typed
    return slot.options[best]


def slot_options(reader: IndexReader, lexicon: Lexicon, term: str) -> list[str]:
    """The spellings considered for one typed word, most frequent first."""
    return _slot(reader, lexicon, term).options
