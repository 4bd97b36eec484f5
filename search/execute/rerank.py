"""Reranking the best-scored window: rewards no index field can give.

Bodies have no syllable-pair fields, so typed pairs found side by side in a body are rewarded
here; so are titles that open with the typed words (a slug or a remembered headline). Both
are read off the words' decoded positions where a segment has them
(search.index.positions_sidecar), else off the stored text (search.analysis.textmatch).
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.searching import Searcher

from search.analysis.chains import fold_term
from search.analysis.textmatch import opens_with, pairs_side_by_side, runs, words_regex
from search.analysis.tokenizer import BIGRAM_SEPARATOR
from search.execute.doc_ranks import common_sorted
from search.execute.positions import positions_in
from search.execute.scoring import field_lengths
from search.index.caches import caches_of
from search.index.documents import stored_fields
from search.index.segment_positions import has_derived_positions
from search.query.parse import ParsedQuery
from search.query.weights import (
    BODY_PAIR_CHARS,
    BODY_PAIR_TOKENS,
    RECENCY_SHARE,
    TITLE_PREFIX_SHARE,
    body_pair_bonus,
)

Hits = list[tuple[int, float | None]]


def rerank_window(searcher: Searcher, ranked: Hits, parsed: ParsedQuery, need: int) -> Hits:
    """`ranked` with the rewards of their text, best first.

    Only the best `need` must come out exact. In a segment with decoded positions
    (search.index.positions_sidecar) the rewards come from the words' positions, for every
    document at once. Elsewhere a document whose score could not reach the best `need` even
    with every reward (and the recency nudge applied after) keeps its score unread: reading a
    stored document is most of the cost there.
    """
    return rerank_windows(searcher, parsed, [(ranked, need)])[0]


def rerank_windows(
    searcher: Searcher, parsed: ParsedQuery, windows: list[tuple[Hits, int]]
) -> list[Hits]:
    """`rerank_window` of each (ranked, need), their positions read in one pass."""
    typed = typed_words(searcher, parsed)
    if typed is None:
        return [ranked for ranked, _ in windows]
    scored = [d for ranked, _ in windows for d, s in ranked if s is not None]
    placed = positional_rewards(searcher, scored, typed)
    return [_reranked(searcher, ranked, need, typed, placed) for ranked, need in windows]


def _reranked(
    searcher: Searcher,
    ranked: Hits,
    need: int,
    typed: Typed,
    placed: dict[int, tuple[float, bool]],
) -> Hits:
    """`rerank_window` with the rewards read off positions given (`placed`)."""
    body_lengths = field_lengths(searcher, "body_folded")  # 1: no body (no pair in it either)
    most_for_body = body_pair_bonus(list(typed.idf.values()))
    best: list[float] = []  # the `need` best scores so far, a min-heap: a floor for the rest
    rewarded = []
    for docnum, score in ranked:
        if score is not None:
            known = placed.get(docnum)
            if known is not None:
                score = _with_rewards(score, *known)
            else:
                # the rewards of _rewarded at most: the body's pairs, then the title's share
                ceiling = score + most_for_body if body_lengths[docnum] > 1 else score
                ceiling *= 1.0 + TITLE_PREFIX_SHARE
                if len(best) < need or ceiling * (1.0 + RECENCY_SHARE) >= best[0]:
                    score = _rewarded(stored_fields(searcher, docnum), score, typed)
            if len(best) < need:
                heapq.heappush(best, score)
            elif score > best[0]:
                heapq.heapreplace(best, score)
        rewarded.append((docnum, score))
    return sorted(rewarded, key=lambda item: -(item[1] or 0.0))


@dataclass(frozen=True)
class Typed:
    """What the reranking looks for: the typed words, their pairs (with their rarity) and the
    regular expression that finds them in stored text."""

    words: list[str]
    pairs: set[tuple[str, str]]
    idf: dict[tuple[str, str], float]
    regex: re.Pattern[str]


def typed_words(searcher: Searcher, parsed: ParsedQuery) -> Typed | None:
    """What the rerank looks for, or None when fewer than two words were typed."""
    words = [fold_term(w) for w in parsed.words]
    pairs = set(zip(words, words[1:], strict=False))
    if not pairs:
        return None
    idf = {p: searcher.idf("summary_bigram_folded", BIGRAM_SEPARATOR.join(p)) for p in pairs}
    # the highlighter's regular expression too: compiled once
    return Typed(words, pairs, idf, words_regex(frozenset(words)))


def _rewarded(fields: dict[str, str], score: float, typed: Typed) -> float:
    """A score with the rewards of its stored text (see `rerank_window`)."""
    body = fields.get("body", "")[:BODY_PAIR_CHARS]
    found_pairs: set[tuple[str, str]] = set()
    if body:
        found_pairs = typed.pairs & pairs_side_by_side(runs(body, typed.regex))
    title = fields.get("title", "")
    opens = opens_with(title, runs(title, typed.regex), typed.words)
    return _with_rewards(score, sum(typed.idf[p] for p in sorted(found_pairs)), opens)


def _with_rewards(score: float, pair_idfs: float, opens: bool) -> float:
    """The score plus its body's pair bonus (the idfs of the typed pairs found there, summed
    in pair order), times the title's share when the title opens with the typed words."""
    score += body_pair_bonus([pair_idfs]) if pair_idfs else 0.0
    return score * (1.0 + TITLE_PREFIX_SHARE) if opens else score


def positional_rewards(
    searcher: Searcher, docs: list[int], typed: Typed
) -> dict[int, tuple[float, bool]]:
    """For the documents in segments with decoded positions of bodies and titles: the idfs of
    the typed pairs side by side in the first BODY_PAIR_TOKENS words of the body (summed in
    pair order), and whether the title opens with the typed words. The analysis puts a
    dotted word ("TP.HCM", "50.000") and each of its groups at one place: two typed words at
    one place count as side by side, as the stored text reads them, whatever their order."""
    caches = caches_of(searcher)
    every = np.array(sorted(set(docs)), dtype=np.int64)
    found: dict[int, tuple[float, bool]] = {}
    for leaf, offset in searcher.reader().leaf_readers():
        local = every[(every >= offset) & (every < offset + leaf.doc_count_all())] - offset
        derived = all(
            has_derived_positions(caches, leaf, f) for f in ("body_folded", "title_folded")
        )
        if not len(local) or not derived:
            continue
        body = {
            w: _starts(caches, leaf, "body_folded", w, local, BODY_PAIR_TOKENS)
            for w in set(typed.words)
        }
        pair_idfs = np.zeros(len(local))
        for first, second in sorted(typed.pairs):
            side_by_side = common_sorted(body[first] + 1, body[second])
            if first != second:  # the groups of a dotted word share its place ("tp", "hcm")
                side_by_side = np.concatenate(
                    (side_by_side, common_sorted(body[first], body[second]))
                )
            holding = np.unique(side_by_side >> 32)
            pair_idfs[np.searchsorted(local, holding)] += typed.idf[(first, second)]
        opens = np.ones(len(local), dtype=bool)
        for place, word in enumerate(typed.words):  # only titles still opening so are asked
            asked = local[opens]
            if not len(asked):
                break
            held = _starts(caches, leaf, "title_folded", word, asked, len(typed.words))
            opens[opens] = np.isin(asked, held[(held & 0xFFFFFFFF) == place] >> 32)
        for doc, idfs, opening in zip(
            local.tolist(), pair_idfs.tolist(), opens.tolist(), strict=True
        ):
            found[doc + offset] = (idfs, opening)
    return found


def _starts(
    caches: Any, leaf: Any, fieldname: str, word: str, docs: npt.NDArray[np.int64], below: int
) -> npt.NDArray[np.int64]:
    """The word's places in the documents' field before position `below`, each as one number:
    (document << 32) + position."""
    held, positions = positions_in(caches, leaf, fieldname, word, docs)
    early = positions < below
    return (held[early] << 32) + positions[early]
