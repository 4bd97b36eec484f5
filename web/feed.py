"""An Atom feed of any search, newest first, so staff can subscribe to a topic.

Built with ElementTree, which escapes every text and attribute; characters XML 1.0 forbids
(control characters that may survive in old articles) are dropped first, or feed readers
would reject the whole feed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from search.features.highlight import strip_marks
from web.present import safe_href

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_MIMETYPE = "application/atom+xml"
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    """Text that XML 1.0 can carry (escaping is ElementTree's job)."""
    return _NOT_XML.sub("", "" if value is None else str(value))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(
        parent, f"{{{ATOM_NS}}}{tag}", {k: xml_text(v) for k, v in attrs.items()}
    )
    if text is not None:
        element.text = xml_text(text)
    return element


def _updated(hits: list[dict[str, Any]]) -> str:
    dated = [hit["published"] for hit in hits if hit.get("published")]
    return max(dated, key=datetime.fromisoformat) if dated else datetime.now(UTC).isoformat()


def atom_feed(
    result: dict[str, Any],
    title: str,
    feed_id: str,
    self_url: str,
    html_url: str,
    article_url: Callable[[dict[str, Any]], str],
    entry_id: Callable[[dict[str, Any]], str],
) -> bytes:
    """The feed document. Links may be relative (resolved against the feed's own URL); ids
    must be absolute URIs (web.present's public_url and stable_uri build both).

    :param feed_id: the feed's id: names the search, whatever URL fetched it.
    :param article_url: maps a hit to the URL of its page here (its permalink).
    :param entry_id: maps a hit to its entry's id, which must never change (Atom), so not the
        permalink, whose slug follows the title.
    """
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _sub(feed, "title", title)
    _sub(feed, "id", feed_id)
    _sub(feed, "updated", _updated(result["hits"]))
    _sub(feed, "link", rel="self", href=self_url, type=ATOM_MIMETYPE)
    _sub(feed, "link", rel="alternate", href=html_url, type="text/html")
    _sub(feed, "generator", "vnsearch")
    _sub(_sub(feed, "author"), "name", "vnsearch")  # Atom requires an author per entry or feed
    for hit in result["hits"]:
        _entry(feed, hit, article_url(hit), entry_id(hit))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _entry(feed: ET.Element, hit: dict[str, Any], local_url: str, entry_id: str) -> None:
    entry = _sub(feed, "entry")
    _sub(entry, "title", hit.get("title") or hit["id"], type="text")
    _sub(entry, "id", entry_id)
    _sub(entry, "link", rel="alternate", href=safe_href(hit.get("url")) or local_url)
    if hit.get("published"):
        _sub(entry, "published", hit["published"])
    _sub(entry, "updated", hit.get("published") or _updated([]))
    if hit.get("author"):
        _sub(_sub(entry, "author"), "name", hit["author"])
    elif hit.get("source"):
        _sub(_sub(entry, "author"), "name", hit["source"])
    if hit.get("category"):
        _sub(entry, "category", term=hit["category"])
    summary = hit.get("summary") or strip_marks(hit.get("snippet") or "")
    _sub(entry, "summary", summary, type="text")
