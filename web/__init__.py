"""The vnsearch web application: reader pages and a JSON API over a read-only index.

`create_app` is a flaskr-style factory (`waitress-serve --call web:create_app`). The app never
writes to the index. Security headers go on every response, errors included; under /api and on
/healthz every error is JSON in the one error shape, elsewhere a Vietnamese HTML page (errors
waitress answers itself, before the app: web.serve.JsonErrorTask). No absolute URL is built
from the request's Host header (web.present.public_url); redirects are relative.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, render_template, request
from flask import redirect as redirect_to
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from search.errors import SearchError
from web import settings
from web.responses import error_response, json_response
from web.settings import current_settings as current_settings
from web.settings import settings_of as settings_of

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
API_HEADERS = {  # CORS for the read-only API
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "If-None-Match",
    "Access-Control-Expose-Headers": "ETag, Link, X-Total-Count, X-Partial",
}
MAX_URL_CHARS = 8192
MAX_HEADER_BYTES = 16384
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    414: "uri_too_long",
    431: "headers_too_large",
    500: "internal_error",
    503: "index_unavailable",
}
ERROR_TITLES = {
    400: "Yêu cầu không hợp lệ",
    404: "Không tìm thấy trang",
    405: "Phương thức không được hỗ trợ",
    413: "Yêu cầu quá lớn",
    414: "Địa chỉ quá dài",
    431: "Tiêu đề yêu cầu quá lớn",
    500: "Đã có lỗi xảy ra",
    503: "Kho bài tạm thời không truy cập được",
}


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. Its Settings are resolved once: defaults, then VNSEARCH_* variables, then
    instance/config.py or test_config (uppercase names); `settings_of(app)` returns them.

    :raise search.settings.SettingError: for a value a setting cannot take, naming its origin.
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(DEBUG=False, MAX_CONTENT_LENGTH=16 * 1024, JSON_SORT_KEYS=False)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    settings.init_app(app)

    from web import api, index, pages

    index.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.add_url_rule("/healthz", "healthz", api.healthz)
    app.before_request(_relative_redirect)
    app.before_request(_check_request_size)
    app.after_request(_add_headers)
    app.register_error_handler(SearchError, _search_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def wants_json() -> bool:
    """JSON errors for API clients: everything under /api, and /healthz (leading slashes
    merged, as Werkzeug routes //api/search to the API)."""
    path = "/" + request.path.lstrip("/")
    return path == "/api" or path.startswith("/api/") or path == "/healthz"


def _relative_redirect() -> Any:
    """Werkzeug's redirect of a path it can route only with slashes merged (/api//search),
    answered here: its own is absolute, from the request's Host, and an HTML page under /api."""
    redirect = request.routing_exception
    if not isinstance(redirect, RequestRedirect):
        return None
    target = urlsplit(redirect.new_url)
    location = urlunsplit(("", "", "/" + target.path.lstrip("/"), target.query, ""))
    if not wants_json():
        return redirect_to(location, redirect.code)
    response = json_response({"location": location}, status=redirect.code)
    response.headers["Location"] = location
    return response


def _check_request_size() -> None:
    """Refuse oversized requests before any work (waitress has the outer limits)."""
    from werkzeug.exceptions import (
        RequestEntityTooLarge,
        RequestHeaderFieldsTooLarge,
        RequestURITooLarge,
    )

    if len(request.full_path) > MAX_URL_CHARS:
        raise RequestURITooLarge()
    if sum(len(k) + len(v) + 4 for k, v in request.headers.items()) > MAX_HEADER_BYTES:
        raise RequestHeaderFieldsTooLarge()
    if (request.content_length or 0) > (request.max_content_length or 0):
        raise RequestEntityTooLarge()


def _add_headers(response: Response) -> Response:
    """Security headers everywhere; CORS for the read-only API."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if wants_json():
        response.headers.update(API_HEADERS)
    return response


def _error(
    status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None
) -> Any:
    """Route every error to the one JSON builder or the one HTML error page."""
    if wants_json():
        return error_response(status, code, message, headers or [])
    page = render_template(
        "error.html",
        status=status,
        title=ERROR_TITLES.get(status, "Lỗi"),
        message=message,
        q=request.args.get("q", ""),
    )
    response = Response(page, status=status, mimetype="text/html")
    for name, value in headers or []:
        response.headers[name] = value
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


def _search_error(error: SearchError) -> Any:
    return _error(error.status, error.code, error.message)


def _http_error(error: HTTPException) -> Any:
    status = error.code or 500
    code = HTTP_CODES.get(status) or (error.name or "error").lower().replace(" ", "_")
    allow = [(k, v) for k, v in error.get_headers() if k.lower() == "allow"]
    return _error(status, code, error.description or error.name, allow)


def _unexpected_error(error: Exception) -> Any:
    """Log the traceback for us; the client only learns that something failed."""
    log.exception("unhandled error on %s %s", request.method, request.path, exc_info=error)
    return _error(500, "internal_error", "the server could not answer this request")
