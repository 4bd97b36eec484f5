"""`vnsearch serve`: the app under waitress, in one process or in N worker processes.

Searching is CPU-bound and the GIL serialises threads, so one slow query would hold up every
request of a process. With workers > 1 the parent binds the socket
once and forks N waitress processes that all accept on it: a slow query occupies one worker,
not the site. The parent makes the app once and warms the caches of the index it serves
from, then forks: every worker starts with them (copy-on-write). The parent replaces a worker
that dies, and on SIGTERM or Ctrl-C asks each worker to stop accepting, finish its requests
in progress (up to GRACE_SECONDS) and exit.
Which worker takes a new connection is chosen (web/acceptgate.py): a lone client stays with
one worker and its warm caches, and a slow query's worker hands the next one over at once.

waitress's defaults are generous (1 GB bodies, 256 KB headers, 120 s idle channels); the
limits below are the contract, and tests assert them.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from typing import Any

from flask import Flask
from waitress.channel import HTTPChannel
from waitress.task import ErrorTask

from web import API_HEADERS, HTTP_CODES, SECURITY_HEADERS, settings_of
from web.acceptgate import AcceptGate
from web.index import index_handle
from web.responses import JSON_MIMETYPE, error_body, success_body

log = logging.getLogger("vnsearch.serve")

WAITRESS_LIMITS: dict[str, Any] = {
    "max_request_body_size": 16384,
    "max_request_header_size": 32768,
    "channel_timeout": 30,
    "ident": "vnsearch",
    "clear_untrusted_proxy_headers": True,
}
GRACE_SECONDS = 20.0  # longest a stopping worker waits for requests in progress
RESPAWN_PAUSE = 1.0  # a worker that died this young is restarted after a pause


def server_options(threads: int) -> dict[str, Any]:
    """Keyword arguments for waitress: the limits plus the thread count."""
    return {**WAITRESS_LIMITS, "threads": max(1, threads)}


class JsonErrorTask(ErrorTask):
    """waitress's answer to a request it refuses itself, before the app runs (over its
    limits, or unparseable), with its status kept and the API's JSON error as the body: the
    request may be for /api, whose answers are all JSON, and past the header limit waitress
    no longer knows the path. The headers every response carries come along."""

    def execute(self) -> None:
        error = self.request.error
        code = HTTP_CODES.get(error.code) or error.reason.lower().replace(" ", "_")
        body = success_body(error_body(code, f"{error.reason}: {error.body}")).encode("utf-8")
        self.status = f"{error.code} {error.reason}"
        self.response_headers += [
            ("Content-Type", f"{JSON_MIMETYPE}; charset=utf-8"),
            ("Cache-Control", "no-store"),
            *SECURITY_HEADERS.items(),
            *API_HEADERS.items(),
        ]
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):
    """waitress's connection, answering what it refuses with JsonErrorTask."""

    error_task_class = JsonErrorTask


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")


def serve(
    index_dir: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    threads: int = 1,
    workers: int = 1,
    warm_terms: int = 0,
) -> None:
    """Serve the pages and API until stopped; logs the URL it listens on (port 0: any free).

    :param workers: processes sharing the socket; 0 means one per CPU core.
    :param warm_terms: most frequent terms per field read into the caches first (search.warmup),
        before the workers are forked so that all of them start warm.
    """
    _configure_logging()
    workers = workers if workers > 0 else (os.cpu_count() or 1)
    sock = bind_socket(host, port)
    address = sock.getsockname()
    shown_host = f"[{address[0]}]" if ":" in address[0] else address[0]
    url = f"http://{shown_host}:{address[1]}/"
    log.info(
        "vnsearch serving %s on %s (index %s)", _plural(workers), url, os.path.abspath(index_dir)
    )
    app = serving_app(index_dir, warm_terms)
    if workers == 1:
        _install_stop_handlers(stop := threading.Event())
        run_worker(sock, app, threads, stop)
    else:
        Supervisor(sock, app, threads, workers).run()
    sock.close()


def serving_app(index_dir: str, warm_terms: int = 0) -> Flask:
    """The app every worker serves, made once before any fork. With `warm_terms`, the caches
    of the very index it serves from are warmed first (search.warmup): the workers inherit
    them. A server without an index yet, or a failed warm-up, serves cold."""
    from search.index.store import index_exists
    from search.warmup import warm_caches
    from web import create_app

    app = create_app({"INDEX_DIR": index_dir})
    if warm_terms > 0 and index_exists(index_dir):
        try:
            settings = settings_of(app)
            warm_caches(
                index_handle(app).index(),
                warm_terms,
                settings.serve_sidecar_min_docs,
                settings.serve_preload_percent,
            )
        except Exception:  # noqa: BLE001 - warming is an optimisation, never a reason not to serve
            log.exception("warming the caches failed; serving cold")
    return app


def _plural(workers: int) -> str:
    return "1 worker" if workers == 1 else f"{workers} workers"


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket, bound before any worker starts so all of them share it."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(1024)
    return sock


def _install_stop_handlers(stop: threading.Event) -> None:
    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def run_worker(
    sock: socket.socket,
    app: Flask,
    threads: int,
    stop: threading.Event,
    gate: tuple[AcceptGate, int] | None = None,
) -> None:
    """Serve `app` on `sock` until `stop` is set, then drain requests in progress and return.

    :param gate: the workers' shared gate and this worker's slot, when there are several.
    """
    import waitress
    from waitress import wasyncore

    served = gate[0].counted(app) if gate else app
    server: Any = waitress.create_server(served, sockets=[sock], **server_options(threads))
    server.channel_class = JsonErrorChannel  # connections are made later, in the loop
    if gate:
        _listen_when_chosen(server, *gate)
    use_poll = server.adj.asyncore_use_poll
    try:
        while not stop.is_set():
            wasyncore.loop(timeout=0.5, map=server._map, use_poll=use_poll, count=1)
        server.accepting = False  # siblings take new connections from the shared socket
        if gate:
            gate[0].vacate(gate[1])
        deadline = time.monotonic() + GRACE_SECONDS
        while server.active_channels and time.monotonic() < deadline:
            # Idle keep-alive connections are closed now; busy ones finish their request.
            server.maintenance(time.time() + server.adj.channel_timeout + 1)
            wasyncore.loop(timeout=0.2, map=server._map, use_poll=use_poll, count=1)
    finally:
        server.task_dispatcher.shutdown(timeout=GRACE_SECONDS)
        wasyncore.close_all(server._map)
        index_handle(app).close()


def _listen_when_chosen(server: Any, gate: AcceptGate, slot: int) -> None:
    """Join the gate as worker `slot`, then take connections only while the gate says so; a
    sibling whose requests in progress or unused connections change wakes the loop (through
    the slot's pipe) to ask the gate again."""
    from waitress import wasyncore

    class Waker(wasyncore.file_dispatcher):
        def writable(self) -> bool:
            return False

        def handle_read(self) -> None:
            self.recv(512)  # the bytes say nothing: being woken is the message

    Waker(gate.join(slot), map=server._map)
    listening = server.readable  # waitress's own test also runs its channel maintenance
    accept = server.handle_accept

    def unused() -> int:
        # Opened and not yet sent anything: a pool's fresh connections count; one that has
        # carried a request does not (a lone client's, closing as its next one opens).
        channels = list(server.active_channels.values())  # also read from request threads
        return sum(1 for c in channels if c.last_activity == c.creation_time)

    def readable() -> bool:  # asked once per turn of the loop, before it waits
        waitress_would = listening()
        gate.recount()
        return bool(waitress_would) and gate.may_accept()

    def accept_if_chosen() -> None:
        # asked again: this loop may have started listening before another worker was free
        if gate.may_accept():
            accept()
            gate.recount()

    gate.watch(unused)

    server.readable = readable
    server.handle_accept = accept_if_chosen


class Supervisor:
    """Forks the workers, replaces any that die, stops them all on SIGTERM or SIGINT."""

    def __init__(self, sock: socket.socket, app: Flask, threads: int, workers: int) -> None:
        self.sock, self.app, self.threads, self.workers = sock, app, threads, workers
        self.gate = AcceptGate(workers)
        self.children: dict[int, tuple[float, int]] = {}  # pid -> (monotonic start, slot)
        self.stopping = threading.Event()

    def run(self) -> None:
        """Keep `workers` processes alive until asked to stop, then stop them gracefully."""
        _install_stop_handlers(self.stopping)
        for slot in range(self.workers):
            self._spawn(slot)
        while not self.stopping.is_set():
            pid, status = self._reap()
            if pid:
                self._replace(pid, status)
            else:
                self.stopping.wait(0.2)
        self._stop_all()

    def _spawn(self, slot: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                stop = threading.Event()
                _install_stop_handlers(stop)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent too
                run_worker(self.sock, self.app, self.threads, stop, (self.gate, slot))
            except BaseException:
                log.exception("worker %d failed", os.getpid())
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        self.children[pid] = (time.monotonic(), slot)
        log.info("worker %d started", pid)

    def _reap(self) -> tuple[int, int]:
        try:
            return os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return 0, 0

    def _replace(self, pid: int, status: int) -> None:
        child = self.children.pop(pid, None)
        if child is None:
            return
        started, slot = child
        self.gate.vacate(slot)  # until its replacement joins, the others take its share
        log.warning("worker %d exited (%s); starting another", pid, _describe(status))
        if time.monotonic() - started < RESPAWN_PAUSE:
            self.stopping.wait(RESPAWN_PAUSE)  # do not spin on a worker that cannot start
        if not self.stopping.is_set():
            self._spawn(slot)

    def _stop_all(self) -> None:
        log.info("stopping %s", _plural(len(self.children)))
        for pid in self.children:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS + 5
        while self.children and time.monotonic() < deadline:
            pid, _ = self._reap()
            if pid:
                self.children.pop(pid, None)
            else:
                time.sleep(0.05)
        for pid in self.children:
            log.warning("worker %d did not stop in time; killing it", pid)
            _signal(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        self.children.clear()


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
