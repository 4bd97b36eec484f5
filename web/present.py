"""How results read in Vietnamese: dates, numbers, safe links, paging and sort links.

Pure helpers (plus `url_for` and the app's settings), so templates only place values and
never build URLs or decide what is safe to link to.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import url_for
from werkzeug.datastructures import MultiDict

from search.analysis.dates import VIETNAM
from web.params import state_params
from web.permalinks import permalink_path
from web.settings import current_settings

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
SORT_LABELS = {"relevance": "Liên quan nhất", "newest": "Mới nhất", "oldest": "Cũ nhất"}
UNDATED_LABEL = "Không rõ ngày"


def vn_datetime(iso: str | None) -> str:
    """ "2019-10-24T13:27:00+07:00" -> "Thứ Năm, 24/10/2019 13:27" (Vietnam time).

    >>> vn_datetime("2019-10-24T06:27:00+00:00")
    'Thứ Năm, 24/10/2019 13:27'
    """
    if not iso:
        return UNDATED_LABEL
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return UNDATED_LABEL
    if moment.tzinfo is not None:
        moment = moment.astimezone(VIETNAM)
    day = f"{WEEKDAYS[moment.weekday()]}, {moment:%d/%m/%Y}"
    # Sources that give only the day are stored at local midnight: no made-up "00:00".
    return (
        day if (moment.hour, moment.minute, moment.second) == (0, 0, 0) else f"{day} {moment:%H:%M}"
    )


def vn_date(moment: datetime) -> str:
    """A day as Vietnamese newsrooms write it: 24/10/2019."""
    return f"{moment.astimezone(VIETNAM):%d/%m/%Y}"


def vn_number(value: int) -> str:
    """Thousands separated with dots, as in Vietnamese: 12.345."""
    return f"{value:,}".replace(",", ".")


def month_label(value: str) -> str:
    """ "2019-10" -> "Tháng 10/2019"."""
    year, _, month = value.partition("-")
    return f"Tháng {int(month)}/{year}" if month.isdigit() else value


def safe_href(url: str | None) -> str | None:
    """The url if it is an absolute http(s) link, else None (no javascript:, data:, ...)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url.strip()
    return None


# No absolute URL is built from the request's Host header: a client chooses it, and answers
# are cached (the Atom feed publicly), so later readers would be sent wherever it chose.
# Links stay relative where the format allows; where it requires an absolute URI (an Atom
# id), the public_base_url setting starts it, or without one a name that needs no host.


def public_url(path: str) -> str:
    """`path` (absolute, from url_for) under the public base URL, or left relative."""
    base = current_settings().public_base_url.rstrip("/")
    return base + path if base else path


def stable_uri(path: str) -> str:
    """An absolute URI naming `path` for good: the public URL, or without a base URL a
    urn:uuid derived from the path alone (as RFC 4287's own examples name entries)."""
    base = current_settings().public_base_url.rstrip("/")
    if base:
        return base + path
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'vnsearch:' + path)}"


def article_href(hit: dict[str, Any]) -> str:
    """Where a result's title links: the original article, else our copy of it."""
    return safe_href(hit.get("url")) or permalink_path(hit)


def view_url(endpoint: str, args: MultiDict[str, str], **changes: Any) -> str:
    """The URL of the current view with some parameters changed (see params.state_params)."""
    return url_for(endpoint, **state_params(args, **changes))


def pagination(result: dict[str, Any], args: MultiDict[str, str]) -> dict[str, Any] | None:
    """Previous/next and a window of page numbers, never past the deepest reachable page."""
    per_page, page = result["per_page"], result["page"]
    reachable = min(result["total"], current_settings().max_result_window)
    last = max(1, math.ceil(reachable / per_page))
    if last == 1 and page == 1:
        return None

    def link(number: int) -> str:
        return view_url("pages.search", args, page=str(number) if number > 1 else None)

    numbers = sorted({1, last, *range(max(1, page - 2), min(last, page + 2) + 1)})
    pages: list[dict[str, Any]] = []
    for number in numbers:
        if pages and number - pages[-1]["number"] > 1:
            pages.append({"number": number - 1, "gap": True})
        pages.append({"number": number, "url": link(number), "current": number == page})
    return {
        "prev": link(min(page - 1, last)) if page > 1 else None,
        "next": link(page + 1) if page < last else None,
        "pages": pages,
        "last": last,
    }


def sort_links(sort: str, args: MultiDict[str, str], has_query: bool) -> list[dict[str, Any]]:
    """One link per sort order; browsing without words has no relevance order."""
    current = sort if has_query or sort != "relevance" else "newest"
    return [
        {
            "label": label,
            "url": view_url("pages.search", args, sort=name),
            "current": name == current,
        }
        for name, label in SORT_LABELS.items()
        if has_query or name != "relevance"
    ]


def paragraphs(text: str) -> list[str]:
    """Body text split into paragraphs at blank lines (single newlines too)."""
    return [part.strip() for part in text.replace("\r\n", "\n").split("\n") if part.strip()]


def result_range(result: dict[str, Any]) -> tuple[int, int]:
    """First and last rank shown on this page (1-based)."""
    first = (result["page"] - 1) * result["per_page"] + 1
    return first, first + len(result["hits"]) - 1
