"""Dates the way Vietnamese newsrooms write them, kept in Vietnam time (UTC+7, no DST).

Whoosh's DATETIME drops tzinfo, so the index holds naive UTC; everything shown to people or API
clients is converted back to +07:00 here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")
MIN_YEAR, MAX_YEAR = 1800, 2200

_WEEKDAY = r"(?:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|bẩy|[2-7])|chủ\s+nhật|cn)"
_DMY = r"(?P<day>\d{1,2})[/.-](?P<month>\d{1,2})[/.-](?P<year>\d{4})"
_HM = r"(?P<hour>\d{1,2})\s*[:hg]\s*(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
_TZ_SUFFIX = r"(?:\s*\(?\s*(?:gmt|utc)\s*\+\s*0?7(?::?00)?\s*\)?)?"
_VIETNAMESE_FORMS = [
    # "Thứ Năm, ngày 24/10/2019 | 13:27", "24/10/2019 13:27", "24/10/2019"
    re.compile(rf"(?:{_WEEKDAY}\s*,?\s*)?(?:ngày\s+)?{_DMY}(?:\s*[|,-]?\s*{_HM})?{_TZ_SUFFIX}"),
    # "09:15 21/11/2024", "13:27, ngày 24/10/2019"
    re.compile(rf"{_HM}\s*[|,-]?\s*(?:{_WEEKDAY}\s*,?\s*)?(?:ngày\s+)?{_DMY}{_TZ_SUFFIX}"),
]


def parse_published(value: str) -> datetime:
    """Parse a publication time; naive times are Vietnam time. Raises ValueError with a reason.

    >>> parse_published("Thứ Năm, ngày 24/10/2019 | 13:27").isoformat()
    '2019-10-24T13:27:00+07:00'
    """
    text = " ".join(value.split()).lower()
    if not text:
        raise ValueError("empty date")
    parsed = _parse_iso(text) or _parse_vietnamese(text)
    if parsed is None:
        raise ValueError(f"unrecognised date {value[:60]!r}")
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"implausible year in date {value[:60]!r}")
    return parsed


def _parse_iso(text: str) -> datetime | None:
    if not re.match(r"\d{4}-\d{2}", text):
        return None
    try:
        parsed = datetime.fromisoformat(text.upper().replace(" ", "T", 1))
    except ValueError as error:
        raise ValueError(f"invalid ISO date {text[:40]!r}: {error}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=VIETNAM)


def _parse_vietnamese(text: str) -> datetime | None:
    for pattern in _VIETNAMESE_FORMS:
        match = pattern.fullmatch(text)
        if match:
            parts = match.groupdict()
            year, month, day, hour, minute, second = (
                int(parts[k] or 0) for k in ("year", "month", "day", "hour", "minute", "second")
            )
            try:
                return datetime(year, month, day, hour, minute, second, tzinfo=VIETNAM)
            except ValueError as error:
                raise ValueError(f"invalid date {text[:40]!r}: {error}") from None
    return None


def to_index_value(moment: datetime) -> datetime:
    """The naive-UTC value Whoosh's DATETIME field can hold without losing the offset."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_index_value(stored: datetime) -> datetime:
    """A stored naive-UTC value back in Vietnam time."""
    return stored.replace(tzinfo=UTC).astimezone(VIETNAM)


def iso_vietnam(stored: datetime | None) -> str | None:
    """ISO 8601 with +07:00 for a stored value, or None when undated."""
    return None if stored is None else from_index_value(stored).isoformat()


_PERIOD_FORMS = [
    (re.compile(r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"), "day"),
    (re.compile(r"(?P<day>\d{1,2})[/.-](?P<month>\d{1,2})[/.-](?P<year>\d{4})"), "day"),
    (re.compile(r"(?P<year>\d{4})-(?P<month>\d{1,2})"), "month"),
    (re.compile(r"(?:tháng\s+)?(?P<month>\d{1,2})[/-](?P<year>\d{4})"), "month"),
    (re.compile(r"(?:năm\s+)?(?P<year>\d{4})"), "year"),
]


def parse_period(value: str) -> tuple[datetime, datetime]:
    """The first and last instant (Vietnam time) of a day, month or year a user typed.

    Accepts "2019-10-24", "24/10/2019", "2019-10", "10/2019", "tháng 10/2019", "2019".
    Raises ValueError for anything else, and for impossible dates such as 31/02/2021.
    """
    text = " ".join(value.split()).lower()
    for pattern, unit in _PERIOD_FORMS:
        match = pattern.fullmatch(text)
        if match:
            return _period_bounds(match.groupdict(), unit, value)
    raise ValueError(f"unrecognised date {value[:40]!r} (use YYYY-MM-DD or d/m/yyyy)")


def _period_bounds(parts: dict[str, str], unit: str, value: str) -> tuple[datetime, datetime]:
    year, month, day = int(parts["year"]), int(parts.get("month") or 1), int(parts.get("day") or 1)
    try:
        start = datetime(year, month, day, tzinfo=VIETNAM)
    except ValueError as error:
        raise ValueError(f"invalid date {value[:40]!r}: {error}") from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"implausible year in {value[:40]!r}")
    if unit == "day":
        end = start + timedelta(days=1)
    elif unit == "month":
        end = start.replace(year=year + month // 12, month=month % 12 + 1)
    else:
        end = start.replace(year=year + 1)
    return start, end - timedelta(microseconds=1)
