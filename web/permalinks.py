"""Readable article permalinks, as newspapers have them: /bai-viet/<slug>-<id>.

The slug is the title transliterated to ASCII with Unidecode (Đà Nẵng -> da-nang); it is for
readers and search engines only: the id at the end identifies the article. Ids may hold '-'
themselves, so a permalink is resolved by trying every '-'-suffix as an id; a stale or
mistyped slug still finds the article, and the page answers with a redirect to its canonical
permalink.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from flask import url_for
from unidecode import unidecode

from indexer.validate import MAX_ID_CHARS

MAX_SLUG_CHARS = 80
EMPTY_SLUG = "bai-viet"  # a title with nothing to transliterate (emoji only, say)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def article_slug(title: str) -> str:
    """The title in lowercase ASCII words joined by '-', cut at a word boundary.

    >>> article_slug("Đà Nẵng hút khách miền Tây")
    'da-nang-hut-khach-mien-tay'
    """
    ascii_text = unidecode(unicodedata.normalize("NFC", title)).lower()
    slug = _NOT_SLUG.sub("-", ascii_text).strip("-")
    if len(slug) > MAX_SLUG_CHARS:
        cut = slug[: MAX_SLUG_CHARS + 1].rsplit("-", 1)[0]
        slug = cut if "-" in slug[: MAX_SLUG_CHARS + 1] else slug[:MAX_SLUG_CHARS]
    return slug or EMPTY_SLUG


def permalink_path(article: Mapping[str, Any]) -> str:
    """The canonical permalink of an article (or hit): its id percent-encoded as needed."""
    slug = article_slug(article.get("title") or "")
    return url_for("pages.article", permalink=f"{slug}-{article['id']}")


def _splits(permalink: str) -> Iterator[tuple[str, str]]:
    """(slug, id) for every '-' of the permalink, shortest id first, then the whole of it as
    an id; ids longer than any the indexer accepts are not looked up."""
    for at in range(len(permalink) - 1, -1, -1):
        if permalink[at] == "-":
            if len(permalink) - at - 1 > MAX_ID_CHARS:
                return
            yield permalink[:at], permalink[at + 1 :]
    if len(permalink) <= MAX_ID_CHARS:
        yield "", permalink


def resolve_permalink(
    lookup: Callable[[str], dict[str, Any] | None], permalink: str
) -> tuple[dict[str, Any] | None, bool]:
    """The article a permalink names and whether the permalink is its canonical one.

    The split whose slug is the article's own wins; failing that, the longest id that exists
    (a stale slug, or a bare id)."""
    fallback = None
    for slug, article_id in _splits(permalink):
        if not article_id:
            continue
        found = lookup(article_id)
        if found is None:
            continue
        if slug == article_slug(found["title"]):
            return found, True
        fallback = found
    return fallback, False
