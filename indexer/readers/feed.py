"""RSS 2.0 / RSS 1.0 / Atom feeds, read with feedparser, one RawRecord per entry.

feedparser already sanitizes entry HTML and maps the feed dialects onto one vocabulary; this
module only picks the canonical fields out of it, turns markup into plain text, keeps only
http(s) links, and writes dates as ISO 8601 with their offset. The article `id` is left None
so the shared validator derives it from the URL, the same way for every source.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from time import struct_time
from typing import Any

import feedparser

from indexer.records import RawRecord
from indexer.textclean import html_to_text, normalize_whitespace, safe_url

SNIFF_BYTES = 2048
# Root elements of the feed dialects feedparser reads (RSS 0.9x/2.0, Atom, RSS 1.0 = rdf:RDF).
_ROOT_RE = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?(?:rss|feed|RDF)[\s>/]")
# What may precede the root: XML declaration, processing instructions, comments, DOCTYPE.
_PROLOG_RE = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)", re.DOTALL | re.IGNORECASE)
# "GMT+7" / "UTC+07:00", common in Vietnamese feeds, which email.utils reads as "no zone".
_GMT_OFFSET_RE = re.compile(r"\b(?:GMT|UTC)\s*([+-])(\d{1,2})(?::?(\d{2}))?\s*$", re.IGNORECASE)


def sniff_feed(head: bytes) -> bool:
    """True when the first bytes are XML whose root element is rss, feed or rdf:RDF.

    Only the root element counts, so an HTML page that mentions "<rss" in its text, or a
    JSON file, is not taken for a feed.
    """
    text = _decode_head(head[:SNIFF_BYTES])
    pos = 0
    while match := _PROLOG_RE.match(text, pos):
        pos = match.end()
    return _ROOT_RE.match(text[pos:].lstrip()) is not None


def _decode_head(head: bytes) -> str:
    """Decode enough of the head to see the markup, whatever the declared encoding."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore")
    return head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")


def read_feed(path: str, data: bytes) -> Iterator[RawRecord]:
    """One RawRecord per feed entry (`line` = its 1-based position), or one error record.

    The bytes go in as a stream: given bytes, feedparser would first try them as a file name.
    A malformed feed that still yielded entries (bozo, e.g. a wrong declared encoding, or a
    truncated file) is read; an entry it left empty becomes an error record.
    """
    parsed = feedparser.parse(io.BytesIO(data))
    entries = parsed.entries
    if not entries and (parsed.bozo or not parsed.get("version")):
        reason = parsed.get("bozo_exception") or "no RSS or Atom root element"
        yield RawRecord(path, 1, error=f"not a readable RSS/Atom feed: {reason}")
        return
    source = _text_field(parsed.feed, "title")
    for number, entry in enumerate(entries, start=1):
        article = entry_to_data(entry, source)
        if parsed.bozo and not any(article[k] for k in ("title", "url", "summary", "body")):
            # What a truncated feed leaves of its last entry: say why, not "missing title".
            reason = parsed.get("bozo_exception")
            yield RawRecord(path, number, error=f"unreadable entry in a malformed feed: {reason}")
        else:
            yield RawRecord(path, number, data=article, plain_text=True)


def entry_to_data(entry: Mapping[str, Any], source: str | None) -> dict[str, Any]:
    """The canonical article fields of one feedparser entry."""
    summary, body = _summary_and_body(entry)
    return {
        "id": None,
        "url": safe_url(_get(entry, "link")),
        "title": _text_field(entry, "title") or "",
        "summary": summary,
        "body": body,
        "published": _published(entry),
        "source": source,
        "category": _category(entry),
        "author": _author(entry),
    }


def _get(entry: Mapping[str, Any], key: str) -> Any:
    """Raw lookup that skips FeedParserDict's key aliases (its `updated` alias warns)."""
    return dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)


def _text_field(entry: Mapping[str, Any], key: str) -> str | None:
    """Plain text of a text construct: markup stripped only if feedparser says it is HTML."""
    value = _get(entry, key)
    if not isinstance(value, str):
        return None
    detail = _get(entry, f"{key}_detail") or {}
    kind = str(detail.get("type") or "text/html")
    text = html_to_text(value) if "html" in kind else normalize_whitespace(value)
    return text or None


def _summary_and_body(entry: Mapping[str, Any]) -> tuple[str, str]:
    """(summary, body): description as summary, the longer full content as body.

    feedparser copies the content into `summary` when an entry has no description; then the
    first paragraph is the summary and the whole text the body, as on article pages.
    """
    summary = _text_field(entry, "summary") or ""
    contents = [_content_text(c) for c in _get(entry, "content") or []]
    content = max(contents, key=len, default="")
    if content and content == summary:
        lead = summary.split("\n\n", 1)[0]
        return lead, content if lead != content else ""
    return summary, content if len(content) > len(summary) else ""


def _content_text(content: Mapping[str, Any]) -> str:
    """Plain text of one content element (content:encoded, Atom content)."""
    value = str(content.get("value") or "")
    kind = str(content.get("type") or "text/html")
    return html_to_text(value) if "html" in kind else normalize_whitespace(value)


def _published(entry: Mapping[str, Any]) -> str | None:
    """ISO 8601: the raw date with its own offset, else feedparser's UTC reading of it.

    A raw ISO date without a zone stays naive: the shared validator reads naive times as
    Vietnam time, the project's rule for every source.
    """
    for key in ("published", "updated"):
        raw = _get(entry, key)
        when = parse_feed_date(raw) if isinstance(raw, str) else None
        if when is None:
            when = _from_struct(_get(entry, f"{key}_parsed"))
        if when is not None:
            return when.isoformat()
    return None


def parse_feed_date(raw: str) -> datetime | None:
    """A datetime from an RFC 822 or ISO 8601 date; None when unreadable or of unknown zone.

    RFC 822 dates must carry a zone ("+0700", "GMT", "GMT+7"); ISO dates may be naive.

    >>> parse_feed_date("Tue, 15 Oct 2024 08:30:00 GMT+7").isoformat()
    '2024-10-15T08:30:00+07:00'
    """
    raw = _GMT_OFFSET_RE.sub(_numeric_offset, raw.strip())
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            return None
    if when.tzinfo is None and raw.endswith("-0000"):  # RFC 5322: UTC, local zone unknown
        return when.replace(tzinfo=UTC)
    return when if when.tzinfo is not None else None


def _numeric_offset(match: re.Match[str]) -> str:
    """'GMT+7' -> '+0700'."""
    sign, hours, minutes = match.group(1), int(match.group(2)), match.group(3) or "00"
    return f"{sign}{hours:02d}{minutes}"


def _from_struct(value: Any) -> datetime | None:
    """feedparser's *_parsed struct_time, which it always gives in UTC."""
    if not isinstance(value, struct_time):
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _category(entry: Mapping[str, Any]) -> str | None:
    """The first tag's term (RSS <category>, Atom category/@term)."""
    for tag in _get(entry, "tags") or []:
        term = normalize_whitespace(html_to_text(str(tag.get("term") or "")))
        if term:
            return term
    return None


def _author(entry: Mapping[str, Any]) -> str | None:
    """The author's name: Atom author/name, dc:creator, or RSS "email (Name)"."""
    detail = _get(entry, "author_detail") or {}
    name = detail.get("name") or _get(entry, "author")
    if not isinstance(name, str):
        return None
    return html_to_text(name) or None
