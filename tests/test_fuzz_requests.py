"""The request fuzzer's bounded slice: whole hostile requests (tests/hostile_requests.py) through
Flask's test client and, for its size limits, a real waitress, each answer judged by
tests/hostile_checks.py; `bench/hostile.py --long` runs the same strategies many more times
against a live server.

Deterministic (derandomize=True) and modest, so that `make test` stays quick and CI stable.
Timing is measured but bounded generously (the budget plus SLACK_S), never tightly.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import RequestRedirect

from search.errors import QueryTooExpensive
from search.query.parse import MAX_CLAUSES, parse_query
from tests.hostile_checks import Answer, check, send_http
from tests.hostile_requests import HostileRequest, hostile_requests, importer_ids, queries
from web import settings_of
from web.permalinks import permalink_path

BOUNDED = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def fuzz_app(demo_index_dir: Path, make_app: Any) -> Iterator[Flask]:
    """One app for every example (function-scoped fixtures are not reset per example)."""
    application = make_app(demo_index_dir)
    yield application
    application.extensions["vnsearch_index"].close()


def via_test_client(client: FlaskClient, request: HostileRequest) -> Answer:
    """The request through Flask's test client, its path exactly as sent (PATH_INFO set
    directly: the client would read a leading "//" as a host)."""
    path_info = urllib.parse.unquote_to_bytes(request.path).decode("latin-1")
    started = time.perf_counter()
    with client.open(
        "/",
        method=request.method,
        query_string=request.query,
        headers=list(request.headers),
        data=request.body or None,
        environ_overrides={"PATH_INFO": path_info},
    ) as resp:
        body = resp.get_data()
    headers = {name.lower(): value for name, value in resp.headers.items()}
    return Answer(resp.status_code, headers, body, time.perf_counter() - started)


@BOUNDED
@given(request=hostile_requests())
def test_every_answer_keeps_the_properties(fuzz_app: Flask, request: HostileRequest) -> None:
    client = fuzz_app.test_client()
    budget_ms = settings_of(fuzz_app).search_time_limit_ms
    problems = check(request, lambda r: via_test_client(client, r), budget_ms)
    assert not problems, f"{request.method} {request.target[:500]} {request.headers}: {problems}"


@settings(BOUNDED, max_examples=300)
@given(article_id=importer_ids())
def test_every_id_the_importer_accepts_has_urls_that_reach_it(
    fuzz_app: Flask, article_id: str
) -> None:
    """Each URL naming the article routes back to its id, after a client or proxy resolves
    '.' and '..' segments (RFC 3986 5.2.4) as browsers and curl do."""
    adapter = fuzz_app.url_map.bind("localhost")
    with fuzz_app.test_request_context():
        from flask import url_for

        urls = {
            "api.article": url_for("api.article", article_id=article_id),
            "api.related": url_for("api.related", article_id=article_id),
            "pages.article_by_id": url_for("pages.article_by_id", article_id=article_id),
            "pages.article": permalink_path({"id": article_id, "title": "Tin"}),
        }
    for endpoint, url in urls.items():
        path = urllib.parse.unquote(remove_dot_segments(url))
        try:
            matched, values = adapter.match(path)
        except RequestRedirect as redirect:
            raise AssertionError(f"{url} redirects to {redirect.new_url}") from None
        assert matched == endpoint, url
        named = values.get("article_id") or values["permalink"].removeprefix("tin-")
        assert named == article_id, url


def remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4, which clients apply before sending a path."""
    output: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/".join(output)


@settings(BOUNDED, max_examples=300)
@given(text=queries())
def test_the_parser_makes_at_most_max_clauses(text: str) -> None:
    try:
        parsed = parse_query(text)
    except QueryTooExpensive:
        return
    clauses = sum(len(group) for group in parsed.groups) + len(parsed.excluded)
    assert clauses <= MAX_CLAUSES


# --- a real waitress: the limits it enforces before the app runs ---------------------------


@pytest.fixture(scope="module")
def live_server(
    demo_index_dir: Path, tmp_path_factory: pytest.TempPathFactory, running_server: Any
) -> Iterator[Any]:
    with running_server(demo_index_dir, tmp_path_factory.mktemp("fuzz") / "serve.log") as server:
        yield server


def _oversized(request: HostileRequest, what: str, size: int) -> HostileRequest:
    if what == "body":
        return HostileRequest("POST", request.path, request.query, request.headers, b"x" * size)
    return HostileRequest(
        request.method, request.path, request.query, (*request.headers, ("X-Big", "y" * size))
    )


@pytest.mark.serial
@settings(BOUNDED, max_examples=12)
@given(
    request=hostile_requests(),
    what=st.sampled_from(["body", "headers"]),
    size=st.integers(33_000, 60_000),
)
def test_what_waitress_refuses_keeps_the_properties(
    live_server: Any, request: HostileRequest, what: str, size: int
) -> None:
    host, port = urllib.parse.urlsplit(live_server.url).netloc.split(":")
    big = _oversized(request, what, size)
    answer = send_http(host, int(port), big)
    assert answer.status == (413 if what == "body" else 431)
    problems = check(big, lambda _: answer, 2000, base_bytes=4096)
    assert not problems and answer.headers["content-type"].startswith("application/json")
