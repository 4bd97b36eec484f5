"""The JSON API under /api, plus /healthz.

Answers are the search core's own shapes, sent by responses.json_response; anything that goes
wrong is turned into the one error shape by the handlers in web/__init__.py.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request, url_for

from search.errors import InvalidParameter, NotFound
from web import export
from web.index import get_archive, index_version
from web.openapi import openapi_spec
from web.params import (
    canonical_query,
    facet_names,
    output_format,
    search_request,
    single,
    state_params,
)
from web.present import public_url
from web.responses import json_response, make_etag, not_modified
from web.settings import current_settings

bp = Blueprint("api", __name__, url_prefix="/api")
MAX_LIMIT = 20


def _etag(*parts: str) -> str:
    return make_etag(index_version(), request.path, *parts)


def _limit(default: int) -> int:
    raw = single(request.args, "limit")
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidParameter(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


@bp.get("/search")
def search() -> Response:
    """Search; json (the result shape of search.engine), or a csv/jsonl export."""
    fmt = output_format(request.args)
    wanted = facet_names(request.args)
    search_req = search_request(request.args, facets=bool(wanted) and fmt == "json")
    etag = _etag(canonical_query(request.args), fmt)
    unchanged = not_modified(etag)
    if unchanged:
        return unchanged
    if fmt != "json":
        return _export(search_req, fmt, etag)
    result = get_archive().search(search_req)
    result["facets"] = {name: facets for name, facets in result["facets"].items() if name in wanted}
    return json_response(result, etag=etag, headers=_paging_links(result))


def _paging_links(result: dict[str, Any]) -> list[tuple[str, str]]:
    """A Link header with rel=next/prev, as GitHub's API pages: relative, and built from the
    known parameters only (url_for reads some names, _anchor or _external, as orders)."""
    facets = single(request.args, "facets")
    reachable = min(result["total"], current_settings().max_result_window)
    links = []
    if result["page"] * result["per_page"] < reachable:
        links.append((result["page"] + 1, "next"))
    if result["page"] > 1:
        links.append((result["page"] - 1, "prev"))
    parts = []
    for number, rel in links:
        params = state_params(request.args, page=str(number), facets=facets or None)
        parts.append(f'<{url_for("api.search", **params)}>; rel="{rel}"')
    return [("Link", ", ".join(parts))] if parts else []


def _export(search_req: Any, fmt: str, etag: str) -> Response:
    limit = current_settings().export_limit
    result = get_archive().search(export.export_request(search_req, limit))
    records = export.rows(result)
    body = export.to_csv(records) if fmt == "csv" else export.to_jsonl(records)
    response = Response(body, mimetype=export.MIMETYPES[fmt])
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{export.filename(search_req.q, fmt)}"'
    )
    response.headers["X-Total-Count"] = str(result["total"])
    if result.get("partial"):
        response.headers["X-Partial"] = "true"  # the search hit its time budget
    response.headers["Cache-Control"] = "public, max-age=30"
    response.set_etag(etag)
    return response


def _article_or_404(article_id: str) -> dict[str, Any]:
    article = get_archive().article(article_id)
    if article is None:
        raise NotFound(f"no article with id {article_id!r}", "article_not_found")
    return article


@bp.get("/articles/<path:article_id>")
def article(article_id: str) -> Response:
    """One article, body included. It is looked up before the condition is (RFC 9110 13.1.2:
    If-None-Match: * matches only a representation that exists)."""
    found = _article_or_404(article_id)
    etag = _etag()
    return not_modified(etag) or json_response(found, etag=etag)


@bp.get("/articles/<path:article_id>/related")
def related(article_id: str) -> Response:
    """Articles about the same thing (more like this); a missing article is a 404 first."""
    limit = _limit(5)
    _article_or_404(article_id)
    etag = _etag(str(limit))
    unchanged = not_modified(etag)
    if unchanged:
        return unchanged
    hits = get_archive().related(article_id, limit)
    return json_response({"id": article_id, "hits": hits}, etag=etag)


@bp.get("/suggest")
def suggest() -> Response:
    """Completions of what was typed: {"suggestions": [...]}."""
    prefix = (single(request.args, "q") or "").strip()
    if len(prefix) > current_settings().max_query_chars:
        raise InvalidParameter("q is too long", "query_too_long")
    limit = _limit(8)
    etag = _etag(prefix, str(limit))
    unchanged = not_modified(etag)
    if unchanged:
        return unchanged
    suggestions = get_archive().suggest(prefix, limit) if prefix else []
    return json_response({"suggestions": suggestions}, etag=etag)


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of this API; its server is the public base URL, else "/"
    (relative to wherever the document was fetched from)."""
    return json_response(openapi_spec(public_url("/"), current_settings()))


def healthz() -> Response:
    """Up, with the index readable: its document count and generation (503 otherwise)."""
    body = {"status": "ok", **get_archive().health()}
    response = json_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response
