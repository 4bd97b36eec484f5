"""The first idle worker takes the next connection: the gate's rule, its wake-ups, the count
kept by the WSGI wrapper, and two real workers forked by the real supervisor."""

from __future__ import annotations

import os
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_web_support import use_app_with_slow_page
from web.acceptgate import WORKER_HEADER, AcceptGate
from web.serve import Supervisor, bind_socket


def gate_with(busy: list[int], me: int) -> AcceptGate:
    """A gate whose slots have `busy` requests in progress, seen from slot `me`."""
    gate = AcceptGate(len(busy))
    for slot in [s for s in range(len(busy)) if s != me] + [me]:
        gate.join(slot)
        for _ in range(busy[slot]):
            gate.started()
    return gate


@pytest.mark.parametrize(
    ("busy", "me", "accepts"),
    [
        ([0, 0], 0, True),  # all idle: the first slot takes it
        ([0, 0], 1, False),
        ([1, 0], 1, True),  # the first is busy: the next idle one
        ([1, 0], 0, False),  # busy while another is idle
        ([1, 1], 0, True),  # none idle: anyone
        ([1, 1], 1, True),
        ([2, 0, 0], 2, False),
        ([1, 3, 0], 2, True),
        ([0, 1, 0], 2, False),
    ],
)
def test_only_the_first_idle_worker_accepts(busy: list[int], me: int, accepts: bool) -> None:
    assert gate_with(busy, me).may_accept() is accepts


def test_turning_busy_or_idle_wakes_the_siblings() -> None:
    gate = AcceptGate(2)
    sibling_wake = gate.join(1)
    gate.join(0)
    gate.started()
    assert os.read(sibling_wake, 16) == b"!"
    gate.started()  # busy already: nothing new to say
    with pytest.raises(BlockingIOError):
        os.read(sibling_wake, 16)
    gate.finished()
    gate.finished()
    assert os.read(sibling_wake, 16) == b"!"


def test_a_slot_without_a_worker_is_not_waited_for() -> None:
    gate = AcceptGate(2)
    sibling_wake = gate.join(1)
    assert gate.may_accept()  # slot 0 not started yet
    gate.join(0)
    gate.join(1)
    assert not gate.may_accept()  # slot 0 idle: it takes the connections
    gate.vacate(0)  # died, or stopping
    assert gate.may_accept()
    assert os.read(sibling_wake, 16) == b"!"


def test_a_request_counts_until_its_last_chunk_or_its_close() -> None:
    gate = AcceptGate(2)
    gate.join(0)
    seen: list[tuple[str, bool]] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        for chunk in (b"a", b"b", b"c"):
            seen.append((chunk.decode(), gate.in_progress(0) > 0))
            yield chunk

    headers: list[tuple[str, str]] = []
    body = gate.counted(app)({}, lambda status, h, *rest: headers.extend(h))
    sent = []
    for chunk in body:  # the server: each chunk goes out as it comes
        sent.append((chunk.decode(), gate.in_progress(0) > 0))
    body.close()  # type: ignore[attr-defined]
    # busy while the chunks are made; free before the last one goes out
    assert seen == [("a", True), ("b", True), ("c", True)]
    assert sent == [("a", True), ("b", True), ("c", False)]
    assert (WORKER_HEADER, "0") in headers
    # a body closed before it was read through (a client gone) ends the request too
    body = gate.counted(app)({}, lambda *args: None)
    assert gate.in_progress(0) > 0
    body.close()  # type: ignore[attr-defined]
    assert not gate.in_progress(0) > 0


@pytest.mark.serial
def test_a_lone_client_stays_with_one_worker_until_it_is_busy(
    demo_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_app_with_slow_page(monkeypatch, 1.5)
    sock = bind_socket("127.0.0.1", 0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    supervisor = os.fork()
    if supervisor == 0:  # the real supervisor forks two real waitress workers
        try:
            Supervisor(sock, str(demo_index_dir), 1, 2).run()
        finally:
            os._exit(0)
    try:
        wait_for(url + "healthz")
        # each request on a new connection, one after the other: all to the same worker
        first = {answering_worker(url + "api/search?q=da+nang") for _ in range(12)}
        assert len(first) == 1
        # that worker busy with a slow page: the next request goes to the other one
        finished: list[str] = []
        slow = threading.Thread(target=lambda: finished.append(answering_worker(url + "slow")))
        slow.start()
        time.sleep(0.5)  # the slow page is in progress
        quick = answering_worker(url + "healthz")
        finished.append(quick)
        slow.join(10)
        assert finished == [quick, *first] and quick not in first
    finally:
        os.kill(supervisor, signal.SIGTERM)
        os.waitpid(supervisor, 0)
        sock.close()


def answering_worker(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        response.read()
        return str(response.headers[WORKER_HEADER])


def wait_for(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
