"""Facets, active filters and the timeline as the results page shows them, each with its links.

The sidebar lists the declared facets (search.features.facets.FACETS) in their order, under
their labels. A facet link toggles its filter (a year sets `from`/`to` to that year's first
and last day, choosing it again removes it), so every state is a plain GET URL that works
without JavaScript.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from search.analysis.dates import VIETNAM, parse_period
from search.engine import SearchRequest
from search.features.facets import FACETS, VALUE_FACETS, Facet
from search.features.filters import DateWindow
from search.index.schema import UNDATED
from web.params import distinct_values
from web.present import UNDATED_LABEL, month_label, view_url, vn_date, vn_number

MAX_FILLED_YEARS = 40  # wider spans show only the years that have articles
SLOT, BAR, CHART_HEIGHT, LABEL_HEIGHT, MIN_WIDTH = 40, 28, 110, 34, 480


def single_year(dates: DateWindow) -> int | None:
    """The year a date window lies in, when it lies in one (the timeline then shows months)."""
    if dates.start and dates.end:
        start, end = dates.start.astimezone(VIETNAM), dates.end.astimezone(VIETNAM)
        if start.year == end.year:
            return start.year
    return None


def year_params(year: int) -> dict[str, str]:
    return {"from_": f"{year:04d}-01-01", "to": f"{year:04d}-12-31"}


def month_params(year: int, month: int) -> dict[str, str]:
    last = calendar.monthrange(year, month)[1]
    return {"from_": f"{year:04d}-{month:02d}-01", "to": f"{year:04d}-{month:02d}-{last:02d}"}


def _toggle_url(facet: Facet, value: str, selected: bool, args: MultiDict[str, str]) -> str | None:
    if value == UNDATED:
        return None  # there is no filter for undated articles
    if facet.kind == "date" and not facet.within_year:
        changes: dict[str, Any] = (
            {"from_": None, "to": None} if selected else year_params(int(value))
        )
    elif facet.kind == "date":  # a month: choosing it again goes back to its year
        year, month = (int(part) for part in value.split("-"))
        changes = year_params(year) if selected else month_params(year, month)
    else:
        current = distinct_values(args.getlist(facet.name))
        chosen = [v for v in current if v != value] if selected else [*current, value]
        changes = {facet.name: chosen}
    return view_url("pages.search", args, **changes)


def _value_label(facet: Facet, value: str) -> str:
    if value == UNDATED:
        return UNDATED_LABEL
    return month_label(value) if facet.within_year else value


def facet_groups(
    result: dict[str, Any], request: SearchRequest, args: MultiDict[str, str]
) -> list[dict[str, Any]]:
    """The sidebar: one group per facet with a label, count and toggle link per value."""
    groups = []
    for facet in FACETS:
        if facet.within_year and single_year(request.dates) is None:
            continue  # months of every year at once would be a long, useless list
        items = [
            {
                "label": _value_label(facet, entry["value"]),
                "count": vn_number(entry["count"]),
                "selected": entry["selected"],
                "url": _toggle_url(facet, entry["value"], entry["selected"], args),
            }
            for entry in result["facets"].get(facet.name) or []
        ]
        if items:
            groups.append({"name": facet.name, "label": facet.label, "items": items})
    return groups


def period_label(dates: DateWindow) -> str:
    """ "Năm 2019", "Tháng 10/2019", "Ngày 24/10/2019" or "Từ 01/02/2019 đến 03/04/2020"."""
    start, end = dates.start, dates.end
    if start and end:
        local = start.astimezone(VIETNAM)
        for text, label in (
            (f"{local.year:04d}", f"Năm {local.year}"),
            (f"{local.year:04d}-{local.month:02d}", f"Tháng {local.month}/{local.year}"),
            (f"{local:%Y-%m-%d}", f"Ngày {vn_date(start)}"),
        ):
            if parse_period(text) == (start, end):
                return label
        return f"Từ {vn_date(start)} đến {vn_date(end)}"
    return f"Từ {vn_date(start)}" if start else f"Đến {vn_date(end)}" if end else ""


def active_filters(request: SearchRequest, args: MultiDict[str, str]) -> list[dict[str, str]]:
    """Each filter in force, with a link that removes just it."""
    active = []
    if request.dates:
        active.append(
            {
                "label": period_label(request.dates),
                "url": view_url("pages.search", args, from_=None, to=None),
            }
        )
    for facet in VALUE_FACETS:
        chosen = request.chosen(facet)
        for value in chosen:
            rest = [v for v in chosen if v != value]
            active.append(
                {
                    "label": f"{facet.label}: {value}",
                    "url": view_url("pages.search", args, **{facet.name: rest}),
                }
            )
    return active


@dataclass(frozen=True)
class _Period:
    label: str
    title: str
    count: int
    params: dict[str, str]
    selected: bool


def _periods(
    result: dict[str, Any], year: int | None
) -> tuple[list[_Period], str] | tuple[None, str]:
    facets = result["facets"]
    if year is None:
        counts = {int(e["value"]): e for e in facets.get("year") or [] if e["value"].isdigit()}
        if not counts:
            return None, ""
        years = sorted(counts)
        if years[-1] - years[0] < MAX_FILLED_YEARS:
            years = list(range(years[0], years[-1] + 1))
        periods = []
        for y in years:
            entry = counts.get(y, {"count": 0, "selected": False})
            periods.append(
                _Period(str(y), f"Năm {y}", entry["count"], year_params(y), entry["selected"])
            )
        return periods, "Số bài theo năm"
    months = {e["value"]: e for e in facets.get("month") or []}
    periods = []
    for m in range(1, 13):
        entry = months.get(f"{year:04d}-{m:02d}", {"count": 0, "selected": False})
        periods.append(
            _Period(
                f"T{m}",
                f"Tháng {m}/{year}",
                entry["count"],
                month_params(year, m),
                entry["selected"],
            )
        )
    return periods, f"Số bài theo tháng, năm {year}"


def timeline(
    result: dict[str, Any], request: SearchRequest, args: MultiDict[str, str]
) -> dict[str, Any] | None:
    """Bars of hits per year (per month once one year is chosen), each a link to its period."""
    year = single_year(request.dates)
    periods, caption = _periods(result, year)
    if not periods or not any(p.count for p in periods):
        return None
    tallest = max(p.count for p in periods)
    every = max(1, len(periods) // 16)  # label every n-th bar when there are many
    width = max(len(periods) * SLOT, MIN_WIDTH)
    offset = (width - len(periods) * SLOT) // 2
    bars = []
    for i, period in enumerate(periods):
        height = round(CHART_HEIGHT * period.count / tallest) if period.count else 0
        bars.append(
            {
                "x": offset + i * SLOT + (SLOT - BAR) // 2,
                "center": offset + i * SLOT + SLOT // 2,
                "y": LABEL_HEIGHT // 2 + CHART_HEIGHT - height,
                "height": max(height, 1),
                "label": period.label if i % every == 0 else "",
                "count": vn_number(period.count) if period.count and len(periods) <= 20 else "",
                "title": f"{period.title}: {vn_number(period.count)} bài",
                "url": view_url("pages.search", args, **period.params) if period.count else None,
                "selected": period.selected,
            }
        )
    return {
        "caption": caption,
        "bars": bars,
        "bar_width": BAR,
        "width": width,
        "height": CHART_HEIGHT + LABEL_HEIGHT + 4,
        "baseline": LABEL_HEIGHT // 2 + CHART_HEIGHT,
        "all_years_url": view_url("pages.search", args, from_=None, to=None) if year else None,
    }
