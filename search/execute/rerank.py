"""Reranking the best-scored window from stored text: rewards no index field can give.

Bodies have no syllable-pair fields, so typed pairs found side by side in a body are rewarded
here, off the stored text; so are titles that open with the typed words (a slug or a
remembered headline).
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass

from whoosh.searching import Searcher

from search.analysis.chains import fold_term
from search.analysis.textmatch import opens_with, pairs_side_by_side, runs, words_regex
from search.analysis.tokenizer import BIGRAM_SEPARATOR
from search.execute.scoring import field_lengths
from search.index.documents import stored_fields
from search.query.parse import ParsedQuery
from search.query.weights import BODY_PAIR_CHARS, RECENCY_SHARE, TITLE_PREFIX_SHARE, body_pair_bonus


def rerank_window(
    searcher: Searcher, ranked: list[tuple[int, float | None]], parsed: ParsedQuery, need: int
) -> list[tuple[int, float | None]]:
    """`ranked` with the rewards of their stored text, best first.

    Only the best `need` must come out exact. A document whose score could not reach them
    even with every reward (and the recency nudge applied after) keeps its score unread:
    reading a stored document is most of the cost here.
    """
    words = [fold_term(w) for w in parsed.words]
    pairs = set(zip(words, words[1:], strict=False))
    if not pairs:
        return ranked
    idf = {p: searcher.idf("summary_bigram_folded", BIGRAM_SEPARATOR.join(p)) for p in pairs}
    # the highlighter's regular expression too: compiled once
    typed = _Typed(words, pairs, idf, words_regex(frozenset(words)))
    body_lengths = field_lengths(searcher, "body_folded")  # 1: no body (no pair in it either)
    most_for_body = body_pair_bonus(list(idf.values()))
    best: list[float] = []  # the `need` best scores so far, a min-heap: a floor for the rest
    rewarded = []
    for docnum, score in ranked:
        if score is not None:
            # the rewards of _rewarded at most: the body's pairs, then the title's share of all
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
class _Typed:
    """What the reranking looks for in stored text: the typed words, their pairs (with their
    rarity) and the regular expression that finds them."""

    words: list[str]
    pairs: set[tuple[str, str]]
    idf: dict[tuple[str, str], float]
    regex: re.Pattern[str]


def _rewarded(fields: dict[str, str], score: float, typed: _Typed) -> float:
    """A score with the rewards of its stored text (see `rerank_window`)."""
    body = fields.get("body", "")[:BODY_PAIR_CHARS]
    if body:
        found_pairs = typed.pairs & pairs_side_by_side(runs(body, typed.regex))
        score += body_pair_bonus([typed.idf[p] for p in found_pairs])
    title = fields.get("title", "")
    if opens_with(title, runs(title, typed.regex), typed.words):
        score *= 1.0 + TITLE_PREFIX_SHARE
    return score
