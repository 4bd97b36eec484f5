"""Turn a raw record from any reader into an Article, or a rejection with a reason.

Every record is checked here before it reaches Whoosh: a document that fails inside
add_document poisons its whole batch, so nothing unchecked goes in.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from indexer.records import RawRecord
from indexer.textclean import html_to_text, safe_url
from search.analysis.chains import folded_terms
from search.analysis.dates import parse_published
from search.analysis.tokenizer import normalize_text
from search.index.schema import Article

MAX_ID_CHARS = 512
MAX_TITLE_CHARS = 2_000
MAX_META_CHARS = 300
# C0/C1 controls other than tab and newline, the BOM, and the bidi embedding, override and
# isolate controls (U+202E can make a title display backwards): never meaningful in news text.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\u202a-\u202e\u2066-\u2069]")


# An id must be reachable at /api/articles/<id>, /api/articles/<id>/related and in the article's
# permalink, where it is percent-encoded but keeps its '/'. No URL carries these: the router
# stops at a line break; clients and proxies resolve '.' and '..' segments and drop the empty
# one a leading '/' makes; and a last segment "related" is the related-articles route.
_UNREACHABLE_ID = (
    (re.compile(r"\n"), "a line break"),
    (re.compile(r"^/"), "a leading '/'"),
    (re.compile(r"(?:^|/)\.{1,2}(?:/|$)"), "a '.' or '..' path segment"),
    (re.compile(r"/related$"), "a last path segment 'related'"),
)


class RecordError(ValueError):
    """Why a record cannot be indexed (the message ends up after FILE:LINE)."""


@dataclass(frozen=True)
class Checked:
    article: Article
    warnings: tuple[str, ...] = ()


def check_record(raw: RawRecord, max_text_chars: int = 1_000_000) -> Checked:
    """Validate and normalize one record. Raises RecordError with a one-line reason."""
    if raw.error is not None:
        raise RecordError(raw.error)
    data = raw.data
    if not isinstance(data, dict):
        raise RecordError("record is not a JSON object")
    warnings: list[str] = []
    markup = not raw.plain_text
    title = _clean(data, "title", MAX_TITLE_CHARS, warnings, markup)
    if not title:
        raise RecordError("record has no title")
    published = _published(data.get("published"))
    summary = _clean(data, "summary", max_text_chars, warnings, markup)
    body = _clean(data, "body", max_text_chars, warnings, markup)
    source, category, author = (
        _clean(data, name, MAX_META_CHARS, warnings, markup) or None
        for name in ("source", "category", "author")
    )
    url = safe_url(_string(data, "url"))
    article_id = _given_id(data.get("id")) or derive_id(url, title, published)
    article = Article(
        id=article_id,
        title=title,
        url=url,
        published=published,
        summary=summary,
        body=body,
        source=source,
        category=category,
        author=author,
    )
    return Checked(article, tuple(warnings))


def derive_id(url: str | None, title: str, published: Any) -> str:
    """A stable id for a record without one: from its url, else from its title and time.

    The title is compared folded and the time as an instant, so a listing stub ("09:15
    21/11/2024") and the full page of the same article ("Thứ Năm, ngày 21/11/2024 | 09:15")
    get the same id and the later import replaces the stub.
    """
    if url:
        key = "url:" + url
    else:
        when = published.isoformat() if published is not None else "undated"
        key = "title:" + " ".join(folded_terms(title)) + "|" + when
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:20]


def _string(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"field {name!r} must be a string, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError(f"field {name!r} holds invalid Unicode (a lone surrogate)") from None
    return value


def _clean(data: dict[str, Any], name: str, limit: int, warnings: list[str], markup: bool) -> str:
    """Plain NFC text: HTML and entities become text, controls go, whitespace is tidied."""
    value = _string(data, name)
    if not value:
        return ""
    text = _CONTROL.sub("", value)
    text = normalize_text(html_to_text(text) if markup else text)
    if len(text) > limit:
        warnings.append(f"field {name!r} truncated from {len(text):,} to {limit:,} characters")
        text = text[:limit]
    if name not in ("summary", "body"):
        text = " ".join(text.split())
    return text.strip()


def _given_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RecordError(f"field 'id' must be a string, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError("field 'id' holds invalid Unicode (a lone surrogate)") from None
    value = value.strip()
    if not value or len(value) > MAX_ID_CHARS or _CONTROL.search(value):
        raise RecordError("field 'id' is empty, too long or holds control characters")
    for pattern, what in _UNREACHABLE_ID:
        if pattern.search(value):
            raise RecordError(f"field 'id' holds {what}: no URL could reach the article")
    return value


def _published(value: Any) -> Any:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RecordError(f"field 'published' must be a string, not {type(value).__name__}")
    try:
        return parse_published(value)
    except ValueError as error:
        raise RecordError(f"bad 'published': {error}") from None
