"""The JSON envelopes of the API: one builder for success bodies, one for error bodies.

Every JSON answer leaves through `json_response`, every error through `error_body`, so the
shapes cannot drift apart (the tests assert them with one helper). Conditional requests live
here too: an ETag names the index generation and the canonical request, so a client polling
the same search gets a 304 until a commit changes the answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from flask import Response, request

API_CACHE_CONTROL = "public, max-age=30"
RETRY_AFTER_SECONDS = 5
JSON_MIMETYPE = "application/json"


def success_body(data: dict[str, Any]) -> str:
    """The one serialisation of a success body: UTF-8 text, key order kept.

    The body is the payload itself (the search result shape of search.engine, an article,
    ``{"suggestions": [...]}``), never wrapped, so the API equals what the CLI prints.
    """
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def error_body(code: str, message: str) -> dict[str, Any]:
    """The one error shape of the API: ``{"error": {"code": str, "message": str}}``."""
    return {"error": {"code": code, "message": message}}


def json_response(
    data: dict[str, Any],
    status: int = 200,
    etag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> Response:
    """A JSON response; success answers are cacheable for a short while, errors never.

    :param etag: set on success answers so clients can revalidate with If-None-Match.
    """
    response = Response(success_body(data), status=status, mimetype=JSON_MIMETYPE)
    for name, value in headers:
        response.headers[name] = value
    if status < 400:
        response.headers["Cache-Control"] = API_CACHE_CONTROL
        if etag:
            response.set_etag(etag)
    else:
        response.headers["Cache-Control"] = "no-store"
    return response


def error_response(
    status: int, code: str, message: str, headers: Iterable[tuple[str, str]] = ()
) -> Response:
    """An error answer in the canonical shape; 503s say when to retry."""
    extra = list(headers)
    if status == 503:
        extra.append(("Retry-After", str(RETRY_AFTER_SECONDS)))
    return json_response(error_body(code, message), status=status, headers=extra)


def make_etag(index_version: str, *parts: str) -> str:
    """A strong validator from the index version and whatever identifies the answer."""
    digest = hashlib.sha256("\x00".join((index_version, *parts)).encode("utf-8"))
    return digest.hexdigest()[:32]


def not_modified(etag: str) -> Response | None:
    """A 304 when the client already holds this answer (weak comparison, RFC 9110 13.1.2)."""
    if not request.if_none_match.contains_weak(etag):
        return None
    response = Response(status=304)
    response.set_etag(etag)
    response.headers["Cache-Control"] = API_CACHE_CONTROL
    return response
