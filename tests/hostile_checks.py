"""What every answer to a hostile request (tests/hostile_requests.py) must satisfy.

`check` sends a request and lists the properties its answer breaks:
  - never a 5xx;
  - under /api every answer with a body is JSON, and an error is the one error shape;
  - the body is at most `max_body_bytes(request)`: BASE_BYTES plus LINKS times the request's
    size (a page repeats the request's state once per link: per hit, facet value, timeline
    bar, page, sort order), except exports, bounded by the export_limit rows instead;
  - the answer comes within the search budget plus SLACK_S, and a search's own took_ms too;
  - no URL is built from the Host or forwarding headers a client sent (their marker host
    never shows in a body or a header);
  - a 304 only where the same request without its conditions is a 200.
`send_http` sends a request to a live server (`via_test_client` in the tests, to the app).
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from tests.hostile_requests import HOST_MARKER, HostileRequest

LINKS = 256  # the most times a page may repeat the request's state
BASE_BYTES = 256 * 1024  # the largest answer to a small request, on the demo index
SLACK_S = 2.0


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    seconds: float


def max_body_bytes(request: HostileRequest, base_bytes: int = BASE_BYTES) -> int | None:
    """The largest body allowed for `request`; None for exports (bounded by their rows)."""
    query = urllib.parse.parse_qs(request.query)
    if {"csv", "jsonl"} & {v.strip().lower() for v in query.get("format", [])}:
        return None
    return base_bytes + LINKS * request.size


def check(
    request: HostileRequest,
    send: Callable[[HostileRequest], Answer],
    budget_ms: int,
    base_bytes: int = BASE_BYTES,
) -> list[str]:
    """Send `request` and say what about its answer breaks the properties (none: [])."""
    answer = send(request)
    problems = _status_and_shape(request, answer)
    limit = max_body_bytes(request, base_bytes)
    if limit is not None and len(answer.body) > limit:
        problems.append(f"{len(answer.body)} bytes for a {request.size}-byte request")
    problems += _timing(answer, budget_ms)
    problems += _host_leaks(request, answer)
    if answer.status == 304:
        plain = send(request.without_conditions())
        if plain.status != 200:
            problems.append(f"304, where the request without its conditions is {plain.status}")
    return problems


def _status_and_shape(request: HostileRequest, answer: Answer) -> list[str]:
    problems = [f"status {answer.status}"] if answer.status >= 500 else []
    if not request.under_api or not answer.body:
        return problems
    if not answer.headers.get("content-type", "").startswith("application/json"):
        problems.append(f"content type {answer.headers.get('content-type')!r} under /api")
        return problems
    try:
        data = json.loads(answer.body)
    except ValueError:
        return [*problems, "a body under /api that is not JSON"]
    if answer.status >= 400 and not _is_error_shape(data):
        problems.append(f"a {answer.status} not in the error shape: {answer.body[:200]!r}")
    return problems


def _is_error_shape(data: object) -> bool:
    if not isinstance(data, dict) or list(data) != ["error"]:
        return False
    error = data["error"]
    return (
        isinstance(error, dict)
        and sorted(error) == ["code", "message"]
        and all(isinstance(v, str) and v for v in error.values())
    )


def _timing(answer: Answer, budget_ms: int) -> list[str]:
    problems = []
    if answer.seconds > budget_ms / 1000 + SLACK_S:
        problems.append(f"answered in {answer.seconds:.2f} s (budget {budget_ms} ms)")
    if answer.headers.get("content-type", "").startswith("application/json"):
        try:
            took = json.loads(answer.body).get("took_ms")
        except (ValueError, AttributeError):
            took = None
        if isinstance(took, int | float) and took > budget_ms + SLACK_S * 1000:
            problems.append(f"took_ms {took} (budget {budget_ms} ms)")
    return problems


def _host_leaks(request: HostileRequest, answer: Answer) -> list[str]:
    if HOST_MARKER in urllib.parse.unquote(request.target):
        return []  # the query itself named it: an echo, not a URL built from a header
    places = [name for name, value in answer.headers.items() if HOST_MARKER in value]
    if HOST_MARKER.encode() in answer.body:
        places.append("the body")
    return [f"the client's Host in {', '.join(places)}"] if places else []


def send_http(host: str, port: int, request: HostileRequest, timeout: float = 30.0) -> Answer:
    """Send `request` as written (its own Host header, if any) to a live server."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    started = time.perf_counter()
    try:
        names = {name.lower() for name, _ in request.headers}
        conn.putrequest(
            request.method, request.target, skip_host="host" in names, skip_accept_encoding=True
        )
        for name, value in request.headers:
            conn.putheader(name, value)
        if request.body:
            conn.putheader("Content-Length", str(len(request.body)))
        try:
            conn.endheaders(request.body or None)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the whole request was read: the answer says why
        response = conn.getresponse()
        body = response.read()
        headers: dict[str, str] = {}
        for name, value in response.getheaders():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return Answer(response.status, headers, body, time.perf_counter() - started)
    finally:
        conn.close()
