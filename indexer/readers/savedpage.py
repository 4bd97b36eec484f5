"""News pages saved as plain text: one full article plus the listings of other articles.

A saved page (see ../shared/samples/README.md) is a title line, a date line such as
"Thứ Năm, ngày 24/10/2019 | 13:27", a lead paragraph, body paragraphs and photo captions, a
byline ("Tin, ảnh: NAME"), then page furniture ("Viết bình luận mới", "Xem thêm", a weather box)
mixed with listings of other articles: a title line, a "HH:MM DD/MM/YYYY" line and a lead.

The full article and every listing become records. Dates stay raw strings: the shared
validator parses them (and derives ids), so every source is held to the same rules.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from indexer.records import RawRecord
from indexer.textclean import html_to_text, safe_url

# Lines that belong to the page, not to any article (compared case-insensitively, after
# dropping trailing ":", "»", "›" and arrows). The first one after the article text ends it.
FURNITURE_LINES = frozenset(
    {
        "viết bình luận mới",
        "gửi bình luận",
        "bình luận",
        "ý kiến bạn đọc",
        "xem thêm",
        "tin liên quan",
        "bài liên quan",
        "tin cùng chuyên mục",
        "tin khác",
        "các tin khác",
        "chia sẻ",
        "in bài",
        "bản in",
        "gửi bài viết",
        "gửi bài",
        "trở lại",
        "quay lại",
        "lên đầu trang",
        "về đầu trang",
    }
)
# Headings of boxes that run to the next blank line (weather, temperatures).
BOX_HEADINGS = frozenset({"thông tin cần biết", "thời tiết"})
# How many lines after the title may come before the date line (a URL, share buttons).
HEADER_LINES = 4
# How many non-empty lines `sniff_saved_page` looks at for a date line / a listing.
SNIFF_DATE_LINES = 15
SNIFF_LISTING_LINES = 500

_WEEKDAY = r"(?:thứ\s+(?:hai|ba|tư|năm|sáu|bảy)|chủ\s+nhật)"
_DATE_LINE_RE = re.compile(
    rf"{_WEEKDAY}\s*,?\s*(?:ngày\s+)?(?P<date>\d{{1,2}}/\d{{1,2}}/\d{{4}})"
    r"(?:\s*[|,–-]?\s*(?P<time>\d{1,2}:\d{2}(?::\d{2})?))?"
    r"(?:\s*\(?\s*GMT\s*[+-]\s*\d{1,2}\s*\)?)?",
    re.IGNORECASE,
)
_LISTING_TIME_RE = re.compile(
    r"\d{1,2}:\d{2}\s+\d{1,2}/\d{1,2}/\d{4}|\d{1,2}/\d{1,2}/\d{4}\s+\d{1,2}:\d{2}"
)
_BYLINE_ROLE = r"(?:tin|bài|ảnh|video|clip)"
_BYLINE_RE = re.compile(
    rf"{_BYLINE_ROLE}(?:\s*(?:,|-|/|&|và)\s*{_BYLINE_ROLE})*\s*:\s*(?P<name>\S.{{0,79}})",
    re.IGNORECASE,
)
_SINGLE_DIGIT_RE = re.compile(r"(?<!\d)(\d)(?!\d)")
_LINE_END_RE = re.compile(r"\r\n|\r|\n")
_FURNITURE_TRIM = " :»›>←↑→"


def sniff_saved_page(text: str) -> bool:
    """True for a saved page: a Vietnamese date line near the top, or article listings.

    JSON and XML are ruled out by their first character, before any line is looked at.
    """
    if text.lstrip("\ufeff \t\r\n")[:1] in ("{", "[", "<"):
        return False
    head = _LINE_END_RE.split(text, maxsplit=SNIFF_LISTING_LINES)[:SNIFF_LISTING_LINES]
    content = [line for line in _page_lines("\n".join(head), clean=False) if line]
    if any(is_date_line(line) for line in content[:SNIFF_DATE_LINES]):
        return True
    return any(
        _is_listing_time(line) and not _is_listing_time(prev)
        for prev, line in zip(content, content[1:], strict=False)
    )


def read_saved_page(path: str, text: str) -> Iterator[RawRecord]:
    """The page's article, then one stub record per listed article (each at its title line).

    A page without a date line is still an article (published None); a page without a
    title line is one error record.
    """
    lines = _page_lines(text)
    title_at = _find_title(lines)
    if title_at is None:
        first = next((i for i, t in enumerate(lines) if t and not _is_furniture(t)), 0)
        yield RawRecord(path, first + 1, error="no title line found")
        return
    url, published, start = _read_header(lines, title_at)
    paragraphs, author, end = _read_article_text(lines, start)
    title = lines[title_at]
    article = _record_data(title, published, paragraphs[:1], paragraphs[1:], author, url)
    yield RawRecord(path, title_at + 1, data=article, plain_text=True)
    for at, data in _read_listings(lines, end):
        if data["title"].casefold() != title.casefold():  # the page's own article again
            yield RawRecord(path, at + 1, data=data, plain_text=True)


def is_date_line(line: str) -> bool:
    """Whether `line` is a date line: "Thứ Năm, ngày 24/10/2019 | 13:27", any case."""
    return _DATE_LINE_RE.fullmatch(line) is not None


def _page_lines(text: str, clean: bool = True) -> list[str]:
    """The file's lines (index i = line i + 1), NFC, stripped, blank lines kept as "".

    Only CR/LF split lines, so numbers match what an editor shows; non-breaking spaces and
    trailing spaces go; `clean` also turns each line's markup and entities into text.
    """
    text = unicodedata.normalize("NFC", text.removeprefix("\ufeff"))
    lines = [" ".join(line.split()) for line in _LINE_END_RE.split(text)]
    return [html_to_text(line) for line in lines] if clean else lines


def _find_title(lines: list[str]) -> int | None:
    """Index of the first line that can be a title (skipping leading furniture)."""
    for i, line in enumerate(lines):
        if not line or _is_furniture(line):
            continue
        if is_date_line(line) or _is_listing_time(line) or _is_url_line(line):
            return None
        return i
    return None


def _read_header(lines: list[str], title_at: int) -> tuple[str | None, str | None, int]:
    """(url, published, index where the article text starts) from the lines under the title.

    The date line may follow a URL line or share buttons, and may also be the short
    "HH:MM DD/MM/YYYY" form right under the title; without a date line the text starts right
    under the title (or under a URL line there).
    """
    first = _next_content(lines, title_at + 1)
    if first is not None and _is_listing_time(lines[first]):
        return None, _pad_numbers(lines[first]), first + 1
    url: str | None = None
    seen = 0
    for i in range(title_at + 1, len(lines)):
        line = lines[i]
        if not line:
            continue
        match = _DATE_LINE_RE.fullmatch(line)
        if match:
            return url, _date_string(match["date"], match["time"]), i + 1
        if _is_url_line(line) and url is None:
            url = safe_url(line)
        seen += 1
        if seen >= HEADER_LINES:
            break
    if first is not None and _is_url_line(lines[first]):
        return safe_url(lines[first]), None, first + 1
    return None, None, title_at + 1


def _date_string(date: str, time: str | None) -> str:
    """ "24/10/2019 13:27" (or "24/10/2019"): a form the validator parses, to the minute.

    Seconds are dropped so the article gets the same derived id as its listing stubs, which
    only show hours and minutes.
    """
    when = f"{date} {':'.join(time.split(':')[:2])}" if time else date
    return _pad_numbers(when)


def _pad_numbers(when: str) -> str:
    """Two-digit days, months, hours: "9:05 5/7/2025" -> "09:05 05/07/2025"."""
    return _SINGLE_DIGIT_RE.sub(r"0\1", when)


def _read_article_text(lines: list[str], start: int) -> tuple[list[str], str | None, int]:
    """(paragraphs, author, index where the article ended).

    The article ends after its byline, or, without one, at the first furniture line, box or
    listing. Furniture before the first paragraph (share buttons) is skipped, as is a byline
    placed above the lead.
    """
    paragraphs: list[str] = []
    author: str | None = None
    i = start
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        if _starts_listing(lines, i) or _is_listing_time(line):
            return paragraphs, author, i
        byline = _BYLINE_RE.fullmatch(line)
        if byline:
            author = byline["name"].strip()
            if paragraphs:
                return paragraphs, author, i + 1
        elif _is_box_heading(line) or _is_furniture(line):
            if paragraphs:
                return paragraphs, author, i
            i = _box_end(lines, i) if _is_box_heading(line) else i + 1
            continue
        else:
            paragraphs.append(line)
        i += 1
    return paragraphs, author, i


def _read_listings(lines: list[str], start: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """(title index, data) for each "title / HH:MM DD/MM/YYYY / lead" after the article.

    Anything else there (furniture, boxes, stray headings) is skipped; a listing without a
    lead gets an empty summary.
    """
    i = start
    while i < len(lines):
        if _is_box_heading(lines[i]):
            i = _box_end(lines, i)
            continue
        if not _starts_listing(lines, i):
            i += 1
            continue
        time_at = _next_content(lines, i + 1)
        if time_at is None:  # cannot happen: _starts_listing found it
            break
        lead_at = _next_content(lines, time_at + 1)
        lead: list[str] = []
        after = time_at + 1
        if lead_at is not None and _can_be_lead(lines, lead_at):
            lead, after = [lines[lead_at]], lead_at + 1
        yield i, _record_data(lines[i], _pad_numbers(lines[time_at]), lead, [], None, None)
        i = after


def _record_data(
    title: str,
    published: str | None,
    lead: list[str],
    body: list[str],
    author: str | None,
    url: str | None,
) -> dict[str, Any]:
    """The canonical fields; id, source and category are left to the validator and the CLI."""
    return {
        "id": None,
        "url": url,
        "title": title,
        "summary": "\n\n".join(lead),
        "body": "\n\n".join(body),
        "published": published,
        "source": None,
        "category": None,
        "author": author,
    }


def _starts_listing(lines: list[str], i: int) -> bool:
    """A listing title: a text line whose next non-empty line is "HH:MM DD/MM/YYYY"."""
    line = lines[i]
    if not line or _is_listing_time(line) or _is_furniture(line) or _is_box_heading(line):
        return False
    time_at = _next_content(lines, i + 1)
    return time_at is not None and _is_listing_time(lines[time_at])


def _can_be_lead(lines: list[str], i: int) -> bool:
    """Whether line i is a listing's lead rather than the next listing or page furniture."""
    line = lines[i]
    return not (
        _is_listing_time(line)
        or _is_furniture(line)
        or _is_box_heading(line)
        or _starts_listing(lines, i)
    )


def _box_end(lines: list[str], heading_at: int) -> int:
    """Index after a box (heading plus its lines up to a blank line, furniture or listing)."""
    i = heading_at + 1
    while i < len(lines) and lines[i]:
        if _is_furniture(lines[i]) or _is_box_heading(lines[i]) or _starts_listing(lines, i):
            break
        i += 1
    return i


def _next_content(lines: list[str], i: int) -> int | None:
    """Index of the first non-empty line at or after i."""
    return next((j for j in range(i, len(lines)) if lines[j]), None)


def _is_listing_time(line: str) -> bool:
    return _LISTING_TIME_RE.fullmatch(line) is not None


def _is_url_line(line: str) -> bool:
    return safe_url(line) is not None


def _is_furniture(line: str) -> bool:
    return len(line) < 40 and line.strip(_FURNITURE_TRIM).casefold() in FURNITURE_LINES


def _is_box_heading(line: str) -> bool:
    return len(line) < 40 and line.strip(_FURNITURE_TRIM).casefold() in BOX_HEADINGS
