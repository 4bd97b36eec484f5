"""`vnsearch serve` for real: waitress on a loopback port, live index updates, workers."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from web.serve import run_worker, serving_app

pytestmark = pytest.mark.serial


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def raw_request(url: str, method: str, headers: dict[str, str], body: bytes = b"") -> int:
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()  # type: ignore[union-attr]
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, "/api/search?q=x", body=body or None, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_waitress_serves_and_sees_new_articles_without_restart(
    demo_index_dir: Path,
    tmp_path: Path,
    new_article: dict[str, str],
    build_index: Any,
    running_server: Any,
    write_jsonl: Any,
) -> None:
    live = tmp_path / "index"
    shutil.copytree(demo_index_dir, live)
    with running_server(live, tmp_path / "serve.log") as server:
        status, headers, body = get(server.url + "healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, headers, body = get(server.url + "api/search?q=%C4%91%C3%A0+n%E1%BA%B5ng")
        assert status == 200 and json.loads(body)["total"] > 0
        assert headers["Server"] == "vnsearch"
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        # waitress's own limits answer before the app does
        assert raw_request(server.url, "GET", {"X-Big": "y" * 40_000}) == 431
        assert raw_request(server.url, "POST", {}, b"x" * 20_000) == 413

        build_index(live, [write_jsonl(tmp_path / "new.jsonl", [new_article])])
        committed, total = time.monotonic(), 0
        while time.monotonic() - committed < 5 and total == 0:
            total = json.loads(get(server.url + "api/search?q=xanhquyt")[2])["total"]
            time.sleep(0.05)
        assert total == 1, "a committed article is searchable within 5 s"
        article_path = "api/articles/" + urllib.request.quote(new_article["id"], safe="")
        status, _, body = get(server.url + article_path)
        assert status == 200 and json.loads(body)["id"] == new_article["id"]
    assert server.process.returncode == 0, server.log()


def test_workers_are_replaced_and_stop_gracefully(
    demo_index_dir: Path, tmp_path: Path, running_server: Any
) -> None:
    with running_server(demo_index_dir, tmp_path / "serve.log", workers=2) as server:
        server.wait_for_log(r"(?s)worker \d+ started.*worker \d+ started")
        first = int(re.findall(r"worker (\d+) started", server.log())[0])
        os.kill(first, signal.SIGKILL)
        server.wait_for_log(rf"worker {first} exited \(killed by signal 9\)")
        server.wait_for_log(r"(?s)starting another.*worker \d+ started")
        for _ in range(6):
            assert get(server.url + "api/search?q=da+nang")[0] == 200
        started = time.monotonic()
        assert server.stop() == 0
        assert time.monotonic() - started < 5
    assert "stopping 2 workers" in server.log()


def test_a_stopping_worker_finishes_requests_in_progress(
    demo_index_dir: Path, slow_page_socket: Any
) -> None:
    sock, url = slow_page_socket(0.8)
    stop = threading.Event()
    app = serving_app(str(demo_index_dir))
    worker = threading.Thread(target=run_worker, args=(sock, app, 2, stop))
    worker.start()
    answers: list[tuple[int, Any, Any]] = []
    client = threading.Thread(target=lambda: answers.append(get(url + "slow")))
    client.start()
    time.sleep(0.3)  # the request is in progress
    stop.set()
    client.join(5)
    worker.join(5)
    sock.close()
    assert not worker.is_alive()
    assert answers and answers[0][0] == 200 and answers[0][2] == b"done"
