"""Ranking knobs in one place: field weights, accent and adjacency rewards, recency.

Tuned with `bench/relevance.py` (known-item search on the public corpus); change them there
first and keep the numbers in the closing note of the change.
"""

from __future__ import annotations

import math
from datetime import datetime

from whoosh import scoring

# Title above summary above body.
FIELD_WEIGHTS = {"title": 3.0, "summary": 1.5, "body": 1.0}
# The URL slug's words that the title lacks (search.index.schema): the headline as first published.
SLUG_WEIGHT = 9.0
# A match on the accented form counts this much more than an accent-free one.
EXACT_BOOST = 2.0
# When the reader typed accents, a document that matches only without them ("Dương" for
# "đường") is most likely another word: its match counts this much of a normal one.
ACCENTED_FOLDED_WEIGHT = 0.25
# Words typed without accents: the reading the index makes dominant (search.execute.accents.restore)
# is rewarded like a typed accent, times this (it is a guess).
RESTORED_WEIGHT = 0.5
# Weight of a typed word pair found side by side, relative to a single syllable.
BIGRAM_WEIGHT = 3.0
# Bodies have no pair fields. A typed pair found side by side in the first BODY_PAIR_CHARS of
# a body adds BODY_PAIR_WEIGHT times the pair's rarity (its idf among summary pairs), like a
# pair term would. Whoosh's phrase matcher was the alternative, but it walks the positions of
# every body holding both syllables.
BODY_PAIR_WEIGHT = 12.0
# A title that starts with the typed words (as a slug or a remembered headline does) scores
# this share more.
TITLE_PREFIX_SHARE = 0.3
BODY_PAIR_CHARS = 4000
# The same share of a body counted in words, where the pairs are found from decoded positions
# (search.index.positions_sidecar): a Vietnamese syllable and its space are about 4.5 characters.
BODY_PAIR_TOKENS = 900
# At most this share of extra score for the newest articles (among near-equal scores).
RECENCY_SHARE = 0.04
# Age, in days, at which the recency reward has halved.
RECENCY_HALF_LIFE_DAYS = 365.0


# BM25F; titles are short, so their length normalisation is softened.
BM25F_PARAMETERS = {
    "B": 0.75,
    "K1": 1.2,
    "title_B": 0.5,
    "title_folded_B": 0.5,
    "slug_folded_B": 0.0,
}


def weighting() -> scoring.WeightingModel:
    """BM25F with the parameters above, over the searcher's own statistics."""
    return scoring.BM25F(**BM25F_PARAMETERS)


def with_recency(score: float, published: datetime | None, newest: datetime | None) -> float:
    """A score nudged up for articles close to the newest one in the index."""
    factor = recency_factor(published, newest)
    return score if factor is None else score * factor


def recency_factor(published: datetime | None, newest: datetime | None) -> float | None:
    """What `with_recency` multiplies a score by (None: undated, left as it is)."""
    if published is None or newest is None:
        return None
    age_days = max(0.0, (newest - published).total_seconds() / 86400.0)
    return 1.0 + RECENCY_SHARE * math.pow(0.5, age_days / RECENCY_HALF_LIFE_DAYS)


def body_pair_bonus(pair_idfs: list[float]) -> float:
    """What the typed pairs found side by side in a body add to its score."""
    return BODY_PAIR_WEIGHT * sum(pair_idfs)
