"""CSV and JSONL export of a whole result set, capped at the export_limit setting.

Rows are plain text (no highlight markup). The CSV starts with a UTF-8 byte order mark so that
Excel, which staff open it with, reads Vietnamese correctly, and text cells starting with
= + - @ are prefixed with an apostrophe so a spreadsheet never runs them as formulas.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from search.engine import SearchRequest

EXPORT_FIELDS = ("id", "url", "title", "published", "source", "category", "author", "summary")
MIMETYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_request(request: SearchRequest, limit: int) -> SearchRequest:
    """The same search from its first result, up to `limit` rows, without facets, highlights
    or missing words (rows show none of them)."""
    return replace(request, page=1, per_page=limit, facets=False, highlight=False, missing=False)


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Export rows: the plain fields of each hit, plus its relevance score."""
    return [
        {**{f: hit.get(f) for f in EXPORT_FIELDS}, "score": hit.get("score")}
        for hit in result["hits"]
    ]


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def _csv_line(values: list[Any]) -> str:
    """One RFC 4180 record, every field quoted (newlines inside bodies stay in their cell)."""
    return ",".join('"' + str(v).replace('"', '""') + '"' for v in values) + "\r\n"


def to_csv(records: list[dict[str, Any]]) -> str:
    """A CSV document with a header row (id, url, title, ...)."""
    columns = (*EXPORT_FIELDS, "score")
    lines = ["\ufeff", _csv_line(list(columns))]
    lines += [_csv_line([_cell(record[c]) for c in columns]) for record in records]
    return "".join(lines)


def to_jsonl(records: list[dict[str, Any]]) -> str:
    """One JSON object per line, UTF-8."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def filename(query: str, fmt: str) -> str:
    """An ASCII file name from the query: vnsearch-da-nang.csv."""
    from search.analysis.chains import fold_term

    slug = re.sub(r"[^a-z0-9]+", "-", fold_term(query.lower()))[:60].strip("-")
    return f"vnsearch-{slug or 'all'}.{fmt}"
