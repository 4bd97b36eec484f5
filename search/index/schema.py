"""The index schema, declared once.

Every text field is indexed as exact syllables and folded syllables (with positions, for
phrases); title and summary also as adjacent syllable pairs in both forms. Body pairs are left
out on purpose: nearly every pair in a long body is a term of its own, and Whoosh pays per term
(indexing dantri bodies ran 4x slower with them); adjacency in bodies is checked with phrase
queries on positions instead. Only the plain field is stored; its twins receive the same text
and differ by analyzer. Dates are naive UTC (Whoosh drops offsets) plus local
`year`/`month` keys for the date facets, computed in Vietnam time.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from whoosh.fields import DATETIME, ID, STORED, TEXT, SchemaClass

from search.analysis.chains import (
    ExactAnalyzer,
    ExactBigramAnalyzer,
    FoldedAnalyzer,
    FoldedBigramAnalyzer,
    fold_term,
    folded_terms,
)
from search.analysis.dates import VIETNAM, to_index_value

TEXT_FIELDS = ("title", "summary", "body")
BIGRAM_FIELDS = ("title", "summary")  # text fields that also have syllable-pair twins
FACET_FIELDS = ("source", "category", "author")
UNDATED = "undated"
# Suffixes of the analysed twins of each text field.
EXACT, FOLDED, BIGRAM, FOLDED_BIGRAM = "", "_folded", "_bigram", "_bigram_folded"
SLUG_FIELD = "slug_folded"
_SLUG_END = re.compile(r"(-\d+)?(\.\w+)?$")  # "-20210421124941144.htm", "-4925476.html"
_SLUG_WORD = re.compile(r"[^\W_]+")


def _exact(stored: bool = False) -> TEXT:
    return TEXT(analyzer=ExactAnalyzer(), stored=stored, phrase=False)


def _folded() -> TEXT:
    return TEXT(analyzer=FoldedAnalyzer(), phrase=True)


def _bigram() -> TEXT:
    return TEXT(analyzer=ExactBigramAnalyzer(), phrase=False)


def _folded_bigram() -> TEXT:
    return TEXT(analyzer=FoldedBigramAnalyzer(), phrase=False)


DATE_SHIFT_STEP = 16


def _published() -> DATETIME:
    """The publication time: stored, a sortable column, and indexed for Whoosh's own date
    ranges with a term every DATE_SHIFT_STEP bits of precision. DATETIME's 8 gives each
    document eight terms, four of them its own (an archive's largest field by terms); 16
    gives four, two of them its own. Searches here filter dates on the column
    (search/features/filters.py); a range query takes the step from the index's own schema."""
    field = DATETIME(stored=True, sortable=True)
    field.shift_step = DATE_SHIFT_STEP
    return field


class ArticleSchema(SchemaClass):
    """One news article."""

    id = ID(stored=True, unique=True)
    url = STORED()
    published = _published()
    year = ID(sortable=True)  # "2019" in Vietnam time, or "undated"
    month = ID(sortable=True)  # "2019-10" in Vietnam time, or "undated"

    title = _exact(stored=True)
    title_folded = _folded()
    title_bigram = _bigram()
    title_bigram_folded = _folded_bigram()

    summary = _exact(stored=True)
    summary_folded = _folded()
    summary_bigram = _bigram()
    summary_bigram_folded = _folded_bigram()

    body = _exact(stored=True)
    body_folded = _folded()

    # The words of the URL slug that the title lacks: a slug keeps the headline as first
    # published, before an edit or a caption replaced it (one Dân Trí title in ten is the
    # photo's caption). Matched and scored for plain words, never for phrases.
    slug_folded = TEXT(analyzer=FoldedAnalyzer(), phrase=False)

    # Exact values for filters and facets; folded text for accent-insensitive `author:` queries.
    source = ID(stored=True, sortable=True)
    category = ID(stored=True, sortable=True)
    author = ID(stored=True, sortable=True)
    source_folded = _folded()
    category_folded = _folded()
    author_folded = _folded()


@dataclass(frozen=True)
class Article:
    """A validated article, ready for the index. Text is NFC plain text."""

    id: str
    title: str
    url: str | None = None
    summary: str = ""
    body: str = ""
    published: datetime | None = None  # timezone-aware
    source: str | None = None
    category: str | None = None
    author: str | None = None


def to_document(article: Article, fields: Container[str] | None = None) -> dict[str, Any]:
    """The keyword arguments of `writer.add_document` for one article; with `fields` (the
    index's own schema), without the fields an index built by an older version lacks."""
    doc: dict[str, Any] = {"id": article.id}
    if article.url:
        doc["url"] = article.url
        extra = slug_extra_words(article.url, article.title)
        if extra:
            doc[SLUG_FIELD] = extra
    for name in TEXT_FIELDS:
        text = getattr(article, name)
        if text:
            doc[name] = doc[name + FOLDED] = text
            if name in BIGRAM_FIELDS:
                doc[name + BIGRAM] = doc[name + FOLDED_BIGRAM] = text
    for name in FACET_FIELDS:
        value = getattr(article, name)
        if value:
            doc[name] = value
            doc[name + "_folded"] = value
    doc.update(date_fields(article.published))
    if fields is not None:
        doc = {name: value for name, value in doc.items() if name in fields}
    return doc


def slug_extra_words(url: str, title: str) -> str:
    """The words of the URL's slug (its last path segment, percent-decoded, without the id
    and extension news sites append) that the title does not hold, folded, in slug order."""
    segments = [s for s in unquote(urlsplit(url).path).split("/") if s]
    if not segments:
        return ""
    slug = _SLUG_END.sub("", segments[-1])
    in_title = set(folded_terms(title))
    words = (fold_term(word) for word in _SLUG_WORD.findall(slug.lower()))
    return " ".join(word for word in words if word not in in_title)


def date_fields(published: datetime | None) -> dict[str, Any]:
    """The stored instant and the local year/month keys of a publication time."""
    if published is None:
        return {"year": UNDATED, "month": UNDATED}
    local = published.astimezone(VIETNAM)
    return {
        "published": to_index_value(published),
        "year": f"{local.year:04d}",
        "month": f"{local.year:04d}-{local.month:02d}",
    }
