"""`vnsearch serve` started, watched and stopped by the benchmarks (load.py, hostile.py,
scale.py)."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import REPO_DIR

VNSEARCH = REPO_DIR / ".venv" / "bin" / "vnsearch"
REQUEST_TIMEOUT = 30.0
STARTUP_TIMEOUT = 180.0
STOP_TIMEOUT = 45.0  # serve's grace period is 20 s


class Server:
    """`vnsearch serve` in a subprocess (its own process group) on a free port of 127.0.0.1.

    The port is chosen by the server (--port 0) and read from its log, so no other process can
    take it between choosing and binding. Use as a context manager: stopped with SIGTERM, then
    after STOP_TIMEOUT its process group gets SIGKILL.
    """

    def __init__(
        self,
        index_dir: Path,
        workers: int | None,
        threads: int | None,
        log_path: Path,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        """workers and threads None: serve's own defaults. startup_timeout covers the cache
        warm-up that serve runs before it answers (longer on a larger index)."""
        self.index_dir, self.workers, self.threads = index_dir, workers, threads
        self.log_path, self.startup_timeout = log_path, startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.log_offset = 0

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> Server:
        command = [
            str(VNSEARCH),
            "serve",
            "--index-dir",
            str(self.index_dir),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ]
        if self.workers is not None:
            command += ["--workers", str(self.workers)]
        if self.threads:
            command += ["--threads", str(self.threads)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.port = 0
        with self.log_path.open("ab") as log:  # appended: a restarted server keeps one log
            self.log_offset = log.tell()
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=str(REPO_DIR),
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        pattern = re.compile(r"on http://127\.0\.0\.1:(\d+)/")
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"vnsearch serve exited ({self.process.returncode}); see {self.log_path}"
                )
            if not self.port:
                with self.log_path.open("rb") as log:
                    log.seek(self.log_offset)
                    found = pattern.search(log.read().decode(errors="replace"))
                if found:
                    self.port = int(found.group(1))
            if self.port:
                try:
                    status, _ = get(self.host, self.port, "/healthz", timeout=5)
                    if status == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.3)
        raise RuntimeError(f"vnsearch serve did not answer /healthz in time; see {self.log_path}")

    def health(self) -> dict[str, Any]:
        status, body = get(self.host, self.port, "/healthz", timeout=10)
        if status != 200:
            raise RuntimeError(f"/healthz answered {status}")
        answer: dict[str, Any] = json.loads(body)
        return answer

    def memory_mb(self) -> dict[str, int]:
        """Memory (MB) of the server's processes (its process group: the supervisor and its
        workers), from /proc: PSS (shared pages such as the mmapped index split between the
        processes that map them: what the processes really cost) and the peak RSS."""
        pss = peak = count = 0
        if self.process is None:
            return {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[2]) != self.process.pid:
                    continue
                status = (entry / "status").read_text()
                rollup = (entry / "smaps_rollup").read_text()
            except (OSError, ValueError, IndexError):
                continue
            peak += _kb(status, "VmHWM:") // 1024
            pss += _kb(rollup, "Pss:") // 1024
            count += 1
        return {"processes": count, "pss_mb": pss, "peak_rss_mb": peak}

    def stop(self) -> int | None:
        """SIGTERM, wait; SIGKILL the process group if it has not exited. The exit status."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                print(f"  server {process.pid} did not stop in time: SIGKILL", file=sys.stderr)
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=STOP_TIMEOUT)
        # Workers are forked into the server's process group: none may outlive it.
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            pass
        else:
            time.sleep(1.0)
            try:
                os.killpg(process.pid, signal.SIGKILL)
                print(f"  leftover workers of {process.pid} killed", file=sys.stderr)
            except ProcessLookupError:
                pass
        return process.returncode


def exit_on_sigterm() -> None:
    """SIGTERM (`timeout`, a CI runner) exits through the finally blocks: servers stopped,
    temp copies removed. Without it Python dies at once and the servers, in their own process
    group, would outlive the run."""

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def _kb(text: str, label: str) -> int:
    """The kB figure of a /proc status or smaps_rollup line ("Pss:   1234 kB")."""
    for line in text.splitlines():
        if line.startswith(label):
            return int(line.split()[1])
    return 0


def get(
    host: str,
    port: int,
    path: str,
    timeout: float = REQUEST_TIMEOUT,
    connection: http.client.HTTPConnection | None = None,
) -> tuple[int, bytes]:
    """GET path (already percent-encoded); the status and the whole body."""
    conn = connection or http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={} if connection else {"Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if connection is None:
            conn.close()
