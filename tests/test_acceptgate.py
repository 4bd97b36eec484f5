"""The first idle worker takes the next connection: the gate's rule, its wake-ups, the count
kept by the WSGI wrapper, and two real workers forked by the real supervisor."""

from __future__ import annotations

import http.client
import os
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from web.acceptgate import ABSENT, WORKER_HEADER, AcceptGate
from web.serve import Supervisor, serving_app


def gate_with(busy: list[int], held: list[int], me: int) -> AcceptGate:
    """A gate whose slots have `busy` requests in progress and `held` open connections,
    seen from slot `me`."""
    gate = AcceptGate(len(busy))
    for slot in [s for s in range(len(busy)) if s != me] + [me]:
        gate.join(slot)
        gate.watch(lambda count=held[slot]: count)  # type: ignore[misc]
        gate.recount()
        for _ in range(busy[slot]):
            gate.started()
    return gate


@pytest.mark.parametrize(
    ("busy", "held", "me", "accepts"),
    [
        ([0, 0], [0, 0], 0, True),  # all idle, no connections: the first slot
        ([0, 0], [0, 0], 1, False),
        ([1, 0], [1, 0], 1, True),  # the first is busy: the next idle one
        ([1, 0], [1, 0], 0, False),
        ([0, 0], [1, 0], 1, True),  # idle, but holding a kept-alive connection
        ([0, 0], [1, 0], 0, False),
        ([1, 0], [0, 3], 1, True),  # idle before fewer connections
        ([1, 1], [2, 1], 1, True),  # none idle: the fewest connections
        ([1, 1], [2, 1], 0, False),
        ([1, 1], [1, 1], 0, True),  # a tie: the first slot
        ([1, 1], [1, 1], 1, False),
        ([2, 0, 0], [1, 0, 0], 2, False),
        ([1, 3, 0], [1, 3, 0], 2, True),
        ([0, 1, 0], [0, 1, 0], 2, False),
    ],
)
def test_the_chosen_worker_alone_accepts(
    busy: list[int], held: list[int], me: int, accepts: bool
) -> None:
    assert gate_with(busy, held, me).may_accept() is accepts


def woken(wake: int) -> bool:
    """Whether anything was written to a worker's wake-up pipe since last asked."""
    try:
        return bool(os.read(wake, 512))
    except BlockingIOError:
        return False


def test_turning_busy_or_idle_wakes_the_siblings() -> None:
    gate = AcceptGate(2)
    sibling_wake = gate.join(1)
    gate.join(0)
    assert woken(sibling_wake)  # slot 0 came: slot 1 must stop listening in its place
    gate.started()
    assert woken(sibling_wake)
    gate.started()  # busy already: nothing new to say
    assert not woken(sibling_wake)
    gate.finished()
    assert not woken(sibling_wake)
    gate.finished()
    assert woken(sibling_wake)


def test_opening_or_using_a_connection_wakes_the_siblings() -> None:
    gate = AcceptGate(2)
    sibling_wake = gate.join(1)
    gate.join(0)
    woken(sibling_wake)
    unused = [1]
    gate.watch(lambda: unused[0])
    gate.recount()
    assert woken(sibling_wake)
    gate.recount()  # no change: nothing to say
    assert not woken(sibling_wake)
    unused[0] = 0  # its request arrived
    gate.started()
    assert gate.in_progress(0) == 1 and woken(sibling_wake)


def test_a_slot_without_a_worker_is_not_waited_for() -> None:
    gate = AcceptGate(2)
    sibling_wake = gate.join(1)
    assert gate.may_accept()  # slot 0 not started yet
    gate.join(0)
    gate.join(1)
    assert not gate.may_accept()  # slot 0 idle: it takes the connections
    woken(sibling_wake)
    gate.vacate(0)  # died, or stopping
    assert gate.may_accept()
    assert woken(sibling_wake)
    gate.join(0)
    gate.started()
    gate.vacate(0)  # stopping while it finishes a request
    gate.finished()
    assert gate.in_progress(0) == ABSENT


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
def test_a_lone_client_stays_with_one_worker_until_it_is_busy_and_pools_spread(
    demo_index_dir: Path, slow_page_socket: Any
) -> None:
    sock, url = slow_page_socket(1.5)
    pool: list[http.client.HTTPConnection] = []  # kept open until the server stops
    supervisor = os.fork()
    if supervisor == 0:  # the real supervisor forks two real waitress workers
        try:
            Supervisor(sock, serving_app(str(demo_index_dir)), 1, 2).run()
        finally:
            os._exit(0)
    try:
        wait_for(url + "healthz")
        for _ in range(200):  # until the first worker has joined (it takes over then)
            if answering_worker(url + "healthz") == "0":
                break
            time.sleep(0.05)
        # each request on a new connection, one after the other: all to the same worker
        answered = [answering_worker(url + "api/search?q=da+nang") for _ in range(12)]
        first = set(answered)
        assert len(first) == 1, answered
        # that worker busy with a slow page: the next request goes to the other one
        finished: list[str] = []
        slow = threading.Thread(target=lambda: finished.append(answering_worker(url + "slow")))
        slow.start()
        time.sleep(0.5)  # the slow page is in progress
        quick = answering_worker(url + "healthz")
        finished.append(quick)
        slow.join(10)
        assert finished == [quick, *first] and quick not in first
        # a pool of kept-alive connections opened while the server is idle is spread
        assert sorted(workers_of_a_pool(url, pool, 4)) == ["0", "0", "1", "1"]
    finally:
        for connection in pool:
            connection.close()
        os.kill(supervisor, signal.SIGTERM)
        os.waitpid(supervisor, 0)
        sock.close()


def workers_of_a_pool(url: str, pool: list[http.client.HTTPConnection], size: int) -> list[str]:
    """Opens `size` connections into `pool`, then asks once on each (as a proxy filling its
    pool); they stay open."""
    host, port = url.split("/")[2].split(":")
    for _ in range(size):
        pool.append(http.client.HTTPConnection(host, int(port), timeout=10))
        pool[-1].connect()
        time.sleep(0.1)  # every worker has heard of it
    workers = []
    for connection in pool[-size:]:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        workers.append(str(response.headers[WORKER_HEADER]))
    return workers


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
