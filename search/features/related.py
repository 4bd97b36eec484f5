"""More like this: articles about the same thing as a given one.

The article's key terms are folded syllable pairs and syllables of its title (weighted most),
summary and start of the body, scored by tf-idf; terms common to many articles are left out.
Pairs carry the topic ("gia_vang", "bao_lu") far better than single syllables, most of which
are halves of common words. Whoosh's `more_like` uses one field and no pairs, so the query is
built here. Near-duplicates (the same story republished under another id or URL) are not
"related": they are dropped, as is the article itself. Relevance decides, with the search's
mild preference for newer articles among near-equal scores.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from datetime import datetime
from typing import Any

from whoosh import query as wq
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from search.analysis.chains import folded_terms
from search.analysis.dates import iso_vietnam
from search.analysis.tokenizer import BIGRAM_SEPARATOR
from search.errors import NotFound
from search.features.highlight import MatchTerms, snippet
from search.index.caches import caches_of, generation
from search.index.documents import stored_fields
from search.query.weights import FIELD_WEIGHTS, with_recency

# How much each part of the article counts towards its key terms.
PART_WEIGHTS = {"title": 3.0, "summary": 1.5, "body": 1.0}
BODY_CHARS = 1000  # only the start of the body: the lead says what the story is about
KEY_SYLLABLES = 6
KEY_PAIRS = 10
# Largest share of documents a key syllable or pair may occur in (and a floor for small indexes).
SYLLABLE_DF = 0.002
PAIR_DF = 0.005
MIN_COMMON_DF = 50
# Titles sharing this share of their syllable pairs are the same story.
DUPLICATE_OVERLAP = 0.7
CANDIDATES_PER_RESULT = 4  # results fetched per one returned, to survive duplicate removal

_SYLLABLE_FIELDS = ("title_folded", "summary_folded", "body_folded")
_PAIR_FIELDS = ("title_bigram_folded", "summary_bigram_folded")


def related_articles(searcher: Searcher, article_id: str, limit: int = 5) -> list[dict[str, Any]]:
    """Articles about the same thing as `article_id`, without it and its near-duplicates.

    Cached per index generation: an article page is viewed many times, and the query behind
    it reads the postings of a dozen terms.

    :raise NotFound: no article has this id.
    """
    related = caches_of(searcher).related
    key = (generation(searcher), article_id, limit)
    hits: list[dict[str, Any]] | None = related.get(key)
    if hits is None:
        hits = _related(searcher, article_id, limit)
        related.put(key, hits)
    return [dict(hit) for hit in hits]


def _related(searcher: Searcher, article_id: str, limit: int) -> list[dict[str, Any]]:
    """Run the key-term query, then drop the article, its copies and copies of each other."""
    docnum = searcher.document_number(id=article_id)
    if docnum is None:
        raise NotFound(f"no article with id {article_id!r}")
    fields = stored_fields(searcher, docnum)
    query = similar_query(searcher.reader(), fields)
    if query is None or limit < 1:
        return []
    found = candidates_for(searcher, query, candidates_wanted(limit))
    return pick_related(fields, [(s, f) for s, f in found if f["id"] != article_id], limit)


def candidates_wanted(limit: int) -> int:
    """How many candidates a related-articles query fetches for `limit` results."""
    return limit * CANDIDATES_PER_RESULT + 10


def candidates_for(
    searcher: Searcher, query: wq.Query, count: int
) -> list[tuple[float, dict[str, Any]]]:
    """The best `count` articles for a related-articles query: (score, stored fields)."""
    results = searcher.search(query, limit=count, terms=False, optimize=False)
    return [(hit.score or 0.0, hit.fields()) for hit in results]


def pick_related(
    fields: dict[str, Any], candidates: list[tuple[float, dict[str, Any]]], limit: int
) -> list[dict[str, Any]]:
    """The best `limit` candidates (best first, nudged by date), without copies of the article
    or of each other."""
    kept: list[tuple[float, dict[str, Any]]] = []
    seen = [_fingerprint(fields)]
    for score, other in _by_relevance_then_date(candidates):
        mark = _fingerprint(other)
        if not any(_same_story(mark, earlier) for earlier in seen):
            seen.append(mark)
            kept.append((score, other))
        if len(kept) == limit:
            break
    return [_hit(other, score) for score, other in kept]


def similar_query(reader: IndexReader, fields: dict[str, Any]) -> wq.Query | None:
    """An OR of the article's key pairs and rare syllables, each boosted by its tf-idf."""
    syllables, pairs = _weighted_terms(fields)
    total = max(1, reader.doc_count_all())
    chosen = _key_terms(reader, syllables, _SYLLABLE_FIELDS[:2], KEY_SYLLABLES, total, SYLLABLE_DF)
    chosen_pairs = _key_terms(reader, pairs, _PAIR_FIELDS, KEY_PAIRS, total, PAIR_DF)
    subqueries = [
        wq.Term(name, term, boost=boost * FIELD_WEIGHTS[name.split("_")[0]])
        for term, boost in chosen
        for name in _SYLLABLE_FIELDS
    ] + [
        wq.Term(name, pair, boost=boost * FIELD_WEIGHTS[name.split("_")[0]])
        for pair, boost in chosen_pairs
        for name in _PAIR_FIELDS
    ]
    return wq.Or(subqueries) if subqueries else None


def _weighted_terms(fields: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Folded syllables and syllable pairs of the article, weighted by where they occur."""
    syllables: defaultdict[str, float] = defaultdict(float)
    pairs: defaultdict[str, float] = defaultdict(float)
    for part, weight in PART_WEIGHTS.items():
        terms = folded_terms((fields.get(part) or "")[:BODY_CHARS])
        for term in terms:
            if term.isalpha():
                syllables[term] += weight
        if part != "body":
            for first, second in zip(terms, terms[1:], strict=False):
                if first.isalpha() and second.isalpha():
                    pairs[first + BIGRAM_SEPARATOR + second] += weight
    return syllables, pairs


def _key_terms(
    reader: IndexReader,
    weights: dict[str, float],
    df_fields: tuple[str, ...],
    count: int,
    total: int,
    max_share: float,
) -> list[tuple[str, float]]:
    """The `count` terms with the highest weight x idf, with boosts scaled to at most 1.

    Terms in more than `max_share` of the documents are left out: they say little about the
    story, and reading their long posting lists would cost more than all the others.
    """
    most = max(MIN_COMMON_DF, total * max_share)
    scored = []
    for term, weight in weights.items():
        df = sum(reader.doc_frequency(name, term) for name in df_fields)
        if 1 < df <= most:  # df 1: only this article, or a typo
            scored.append((weight * math.log(1 + total / df), term))
    top = sorted(scored, reverse=True)[:count]
    return [(term, score / top[0][0]) for score, term in top]


def _by_relevance_then_date(
    candidates: list[tuple[float, dict[str, Any]]],
) -> list[tuple[float, dict[str, Any]]]:
    """Relevance first; newer articles win near-ties (the search's mild recency nudge)."""
    dates = [f["published"] for _, f in candidates if isinstance(f.get("published"), datetime)]
    newest = max(dates, default=None)
    nudged = [(with_recency(s, f.get("published"), newest), f) for s, f in candidates]
    return sorted(nudged, key=lambda item: -item[0])


def _fingerprint(fields: dict[str, Any]) -> tuple[str, str, frozenset[str]]:
    """What identifies a story: URL, folded title, and its title's folded syllable pairs."""
    terms = folded_terms(fields.get("title") or "")
    pairs = frozenset(map(BIGRAM_SEPARATOR.join, zip(terms, terms[1:], strict=False)))
    return (fields.get("url") or "", " ".join(terms), pairs)


def _same_story(a: tuple[str, str, frozenset[str]], b: tuple[str, str, frozenset[str]]) -> bool:
    if (a[0] and a[0] == b[0]) or (a[1] and a[1] == b[1]):
        return True
    if not a[2] or not b[2]:
        return False
    return len(a[2] & b[2]) / len(a[2] | b[2]) >= DUPLICATE_OVERLAP


def _hit(fields: dict[str, Any], score: float) -> dict[str, Any]:
    """The shape of a search hit, without match marks (there is no query to mark)."""
    title = fields.get("title", "")
    text = fields.get("summary") or fields.get("body") or title
    return {
        "id": fields["id"],
        "url": fields.get("url"),
        "title": title,
        "title_highlight": html.escape(title),
        "summary": fields.get("summary", ""),
        "snippet": snippet(text, MatchTerms()),
        "published": iso_vietnam(fields.get("published")),
        "source": fields.get("source"),
        "category": fields.get("category"),
        "author": fields.get("author"),
        "score": round(score, 4),
        "missing": [],  # no typed words
    }
