"""Fixtures and assertions shared by the web tests (import them explicitly from this module).

Fixture functions are named `*_fixture` and registered as `app` and `client`, so a test module
imports them (`from tests.test_web_support import app_fixture, client_fixture`) without the
names clashing with test parameters.

`app` and `client` are flaskr's fixtures over the demo corpus indexed by the real indexer
(`demo_index_dir` from conftest.py); `assert_error` is the one check of the API's error shape.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from web import CONTENT_SECURITY_POLICY, create_app
from web.serve import bind_socket

NEW_ARTICLE = {
    "id": "web/live-1?x=1 #2",
    "url": "https://baosonghau.example.vn/web-live-1.html",
    "title": "Hội thi đèn lồng xanhquyt ở phường Vĩnh Lợi",
    "summary": "Bài viết thử cho kiểm tra cập nhật trực tiếp.",
    "body": "Hội thi đèn lồng xanhquyt diễn ra tối thứ bảy.",
    "published": "2024-05-02T19:30:00+07:00",
    "source": "Báo Sông Hậu",
    "category": "Văn hóa",
    "author": "Lê Dương",
}


def make_app(index_dir: Path | str, **config: Any) -> Flask:
    return create_app({"INDEX_DIR": str(index_dir), "TESTING": True, **config})


@pytest.fixture(name="app")
def app_fixture(demo_index_dir: Path) -> Iterator[Flask]:
    """The app over the demo index."""
    application = make_app(demo_index_dir)
    yield application
    application.extensions["vnsearch_index"].close()


@pytest.fixture(name="client")
def client_fixture(app: Flask) -> FlaskClient:
    return app.test_client()


def assert_error(resp: TestResponse, status: int, code: str | None = None) -> dict[str, str]:
    """The canonical API error: JSON `{"error": {"code", "message"}}`, no stack text."""
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert list(body) == ["error"]
    assert sorted(body["error"]) == ["code", "message"]
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    assert "Traceback" not in resp.get_data(as_text=True)
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Cache-Control"] == "no-store"
    error: dict[str, str] = body["error"]
    return error


def assert_security_headers(resp: TestResponse) -> None:
    assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


@contextmanager
def running_server(index_dir: Path, log_path: Path, workers: int = 1) -> Iterator[ServerProcess]:
    """`vnsearch serve` on a free port of 127.0.0.1, stopped with SIGTERM afterwards."""
    command = [sys.executable, "-m", "cli", "serve", "--index-dir", str(index_dir)]
    command += ["--host", "127.0.0.1", "--port", "0", "--workers", str(workers), "--threads", "4"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(process, log_path)
    try:
        server.wait_for_log(r"serving .* on (http://\S+/)")
        yield server
    finally:
        server.stop()


class ServerProcess:
    """A running `vnsearch serve` and its log."""

    def __init__(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path
        self.url = ""

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log())
            if match:
                if not self.url and match.groups():
                    self.url = match.group(1)
                return match
            assert self.process.poll() is None, f"server exited:\n{self.log()}"
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not logged in {timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def socket_for_app_with_slow_page(
    monkeypatch: pytest.MonkeyPatch, seconds: float
) -> tuple[socket.socket, str]:
    """A listening socket on 127.0.0.1 and its URL, for servers started in this process
    (run_worker, Supervisor); they get the real app plus a /slow page that answers "done"
    after `seconds`: a request in progress, on demand."""
    import web

    real_create_app = web.create_app

    def slow() -> str:
        time.sleep(seconds)
        return "done"

    def with_slow_page(config: dict[str, Any]) -> Flask:
        app = real_create_app(config)
        app.add_url_rule("/slow", "slow", slow)
        return app

    monkeypatch.setattr(web, "create_app", with_slow_page)
    sock = bind_socket("127.0.0.1", 0)
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}/"
