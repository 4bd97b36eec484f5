"""Load benchmark: C clients for T seconds against `vnsearch serve`, N workers beside 1 worker.

Starts `vnsearch serve --workers N` on a free port of 127.0.0.1 (waits for /healthz), drives it
with C client threads for T seconds, stops it (SIGTERM, then wait), then does the same with
`--workers 1`, and prints one table: requests/s, p50/p95/p99/max latency, errors and status
counts per server, and the ratio N workers / 1 worker.

The request mix is drawn at run time from corpus titles with a fixed seed (no corpus text is
stored), every request with facets on (the API default):

  folded     2-4 consecutive title words typed without diacritics
  accented   2-4 consecutive title words with diacritics, lowercase
  filtered   words plus a year (from=YYYY&to=YYYY), a section, or both
  paged      words, page 2 or 3
  sorted     words, sort=newest
  browse     no words, sort=newest, pages 1-3, sometimes a year or a section

Each client opens a new connection per request (as many users behind no proxy would; it also
lets either worker accept it); --keepalive reuses one connection per client instead. A short
warm-up with a differently seeded mix precedes each measurement (searchers opened, facet
columns loaded), so the figures are the steady state.

An error is an exception (refused, reset, timeout) or a status other than 2xx and 4xx; the
mix sends only valid requests, so a 4xx is listed too (as "unexpected 4xx"). "partial" counts
200s flagged partial (the search hit its time budget). "client CPU" is this process's CPU
time over the wall time (the load generator's own cost, to show it is not the bottleneck);
the server's memory (PSS of all its processes, and peak RSS) is read from /proc at the end.
Server and import logs go to <json stem>-logs/ beside the JSON details (bench/out/).

--during-import FILE (or --during-import-sample N: N news articles with new ids, written to a
temp JSONL) copies the live index (the `current` build after a rebuild, else the folder
itself; shutil.copytree with symlinks=True, other build-* folders left out) to a temp
directory, serves the copy, and runs
`vnsearch index` of FILE into it while the clients run; the load lasts at least T seconds and
until the import has finished (bounded by --import-timeout). A monitor polls /healthz every
0.5 s (10 s timeout) to see the commits land; the run checks that no request failed, that
every probe was answered and that the new articles became visible, and reports latency while
the import ran. Each server gets its own fresh copy and import (--import-batch articles per
commit, default 1,000: several commits under load). Exit status 1 on any failure.

    .venv/bin/python bench/load.py                      # 8 clients x 20 s, N = cores, and 1
    .venv/bin/python bench/load.py --during-import-sample 5000
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import itertools
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from common import (
    DANTRI,
    DEFAULT_INDEX_DIR,
    NEWS,
    OUT_DIR,
    REPO_DIR,
    Doc,
    git_state,
    load_docs,
    median,
    percentile,
    title_words,
)

VNSEARCH = REPO_DIR / ".venv" / "bin" / "vnsearch"
MIX = {"folded": 28, "accented": 24, "filtered": 16, "paged": 10, "sorted": 5, "browse": 17}
POOL = 20_000  # requests generated per run; clients cycle through them
MAX_REQUESTS = 2_000_000  # hard cap on requests per measurement, whatever the duration
REQUEST_TIMEOUT = 30.0
STARTUP_TIMEOUT = 180.0
STOP_TIMEOUT = 45.0  # serve's grace period is 20 s
IMPORT_ID_PREFIX = "loadtest-"


# --- the server -----------------------------------------------------------------------------


class Server:
    """`vnsearch serve` in a subprocess (its own process group) on a free port of 127.0.0.1.

    The port is chosen by the server (--port 0) and read from its log, so no other process can
    take it between choosing and binding. Use as a context manager: stopped with SIGTERM, then
    after STOP_TIMEOUT its process group gets SIGKILL.
    """

    def __init__(self, index_dir: Path, workers: int, threads: int | None, log_path: Path) -> None:
        self.index_dir, self.workers, self.threads = index_dir, workers, threads
        self.log_path = log_path
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
            "--workers",
            str(self.workers),
        ]
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
        deadline = time.monotonic() + STARTUP_TIMEOUT
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


# --- the request mix -----------------------------------------------------------------------


@dataclass(frozen=True)
class Req:
    kind: str
    params: tuple[tuple[str, str], ...]

    @property
    def path(self) -> str:
        return "/api/search?" + urllib.parse.urlencode(self.params)


def make_mix(docs: list[Doc], n: int, seed: int) -> list[Req]:
    """n requests in the MIX proportions, shuffled with the seed."""
    rng = random.Random(f"{seed}:load-mix")
    categories = sorted({d.category for d in docs if d.category})
    years = sorted({d.published[:4] for d in docs if d.published[:4].isdigit()})
    total_weight = sum(MIX.values())
    out: list[Req] = []
    for kind, share in MIX.items():
        wanted, tries = round(n * share / total_weight), 0
        made = 0
        while made < wanted and tries < 50 * wanted + 100:
            tries += 1
            doc = docs[rng.randrange(len(docs))]
            params: list[tuple[str, str]] = []
            if kind == "browse":
                params.append(("sort", "newest"))
                if rng.random() < 0.3 and categories:
                    params.append(("category", rng.choice(categories)))
                if rng.random() < 0.2 and years:
                    year = rng.choice(years)
                    params += [("from", year), ("to", year)]
                page = rng.choices((1, 2, 3), (6, 3, 1))[0]
            else:
                accented = {"folded": False, "accented": True}.get(kind, rng.random() < 0.5)
                text = title_words(doc, rng, accented)
                if not text:
                    continue
                params.append(("q", text))
                page = 1
                if kind == "filtered":
                    choice = rng.choice(("year", "category", "both"))
                    if choice in ("year", "both") and doc.published[:4].isdigit():
                        params += [("from", doc.published[:4]), ("to", doc.published[:4])]
                    if choice in ("category", "both") and doc.category:
                        params.append(("category", doc.category))
                elif kind == "paged":
                    page = rng.choice((2, 3))
                elif kind == "sorted":
                    params.append(("sort", "newest"))
            if page > 1:
                params.append(("page", str(page)))
            params.append(("facets", "true"))
            out.append(Req(kind, tuple(params)))
            made += 1
    rng.shuffle(out)
    return out


# --- the clients ---------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    started: float  # time.perf_counter() when sent
    ms: float
    status: int  # 0: an exception
    partial: bool = False
    error: str = ""
    path: str = ""


@dataclass
class Measurement:
    label: str
    workers: int
    seconds: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    t0: float = 0.0  # time.perf_counter() when the measurement began
    client_cpu_s: float = 0.0  # CPU time of this process (the clients) while measuring
    memory: dict[str, int] = field(default_factory=dict)  # the server's, at the end

    def latencies(self, kind: str | None = None) -> list[float]:
        return [s.ms for s in self.samples if s.status and (kind is None or s.kind == kind)]

    @property
    def errors(self) -> list[Sample]:
        return [s for s in self.samples if not (200 <= s.status < 300 or 400 <= s.status < 500)]

    @property
    def unexpected_4xx(self) -> list[Sample]:
        return [s for s in self.samples if 400 <= s.status < 500]

    @property
    def rps(self) -> float:
        return len(self.samples) / self.seconds if self.seconds else 0.0

    def statuses(self) -> Counter[str]:
        return Counter(str(s.status) if s.status else "exception" for s in self.samples)


def drive(
    server: Server,
    mix: list[Req],
    clients: int,
    seconds: float,
    keepalive: bool,
    keep_going: threading.Event | None = None,
    max_seconds: float | None = None,
) -> tuple[list[Sample], float]:
    """C threads send the mix (cycled) for `seconds`; longer while `keep_going` is set (bounded
    by `max_seconds`). The samples and the wall time measured."""
    counter = itertools.count()
    barrier = threading.Barrier(clients + 1)
    results: list[list[Sample]] = [[] for _ in range(clients)]
    state = {"t0": 0.0}
    hard_stop = seconds if max_seconds is None else max(seconds, max_seconds)

    def running(now: float) -> bool:
        elapsed = now - state["t0"]
        if elapsed >= hard_stop:
            return False
        return elapsed < seconds or (keep_going is not None and keep_going.is_set())

    def client(slot: int) -> None:
        mine = results[slot]
        conn: http.client.HTTPConnection | None = None
        barrier.wait()
        while True:
            number = next(counter)
            now = time.perf_counter()
            if number >= MAX_REQUESTS or not running(now):
                break
            req = mix[number % len(mix)]
            if keepalive and conn is None:
                conn = http.client.HTTPConnection(server.host, server.port, timeout=REQUEST_TIMEOUT)
            started = time.perf_counter()
            try:
                status, body = get(server.host, server.port, req.path, connection=conn)
                ms = (time.perf_counter() - started) * 1000
                partial = status == 200 and b'"partial":true' in body.replace(b" ", b"")
                mine.append(Sample(req.kind, started, ms, status, partial))
                if status != 200:
                    mine[-1].path, mine[-1].error = req.path, body[:200].decode(errors="replace")
            except (OSError, http.client.HTTPException) as error:
                ms = (time.perf_counter() - started) * 1000
                mine.append(Sample(req.kind, started, ms, 0, False, repr(error), req.path))
                if conn is not None:
                    conn.close()
                    conn = None
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    state["t0"] = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join(timeout=hard_stop + REQUEST_TIMEOUT + 30)
    # Requests in flight at the deadline finish after it: the wall time runs to the last answer.
    wall = time.perf_counter() - state["t0"]
    samples = [s for chunk in results for s in chunk]
    return sorted(samples, key=lambda s: s.started), wall, state["t0"]


# --- the import under load -----------------------------------------------------------------


def copy_live_index(index_dir: Path, into: Path) -> Path:
    """Copy the live index (the `current` build after a rebuild, else the dir) to `into`."""
    sys.path.insert(0, str(REPO_DIR))
    from search.durability import live_dir

    for attempt in range(3):
        source = Path(live_dir(index_dir))
        target = into / "index"
        shutil.rmtree(target, ignore_errors=True)
        try:
            shutil.copytree(
                source,
                target,
                symlinks=True,
                ignore=shutil.ignore_patterns("build-*", "current", "current.tmp"),
            )
            return target
        except (OSError, shutil.Error) as error:  # a rebuild switched while copying
            print(f"  copy of {source} failed ({error}); retrying", file=sys.stderr)
            time.sleep(2 + attempt)
    raise RuntimeError(f"could not copy the live index of {index_dir}")


def write_import_sample(path: Path, count: int, seed: int) -> int:
    """`count` news articles (seeded sample) with ids prefixed IMPORT_ID_PREFIX, as JSONL."""
    with gzip.open(NEWS, "rt", encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip()]
    rng = random.Random(f"{seed}:import-sample")
    chosen = sorted(rng.sample(range(len(lines)), min(count, len(lines))))
    with path.open("w", encoding="utf-8") as out:
        for number in chosen:
            record = json.loads(lines[number])
            record["id"] = IMPORT_ID_PREFIX + str(record["id"])
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(chosen)


def count_lines(path: Path) -> int:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


class HealthMonitor(threading.Thread):
    """Polls /healthz every `every` s until stopped: generations and document counts seen."""

    def __init__(self, server: Server, every: float = 0.5, limit_s: float = 3600) -> None:
        super().__init__(daemon=True)
        self.server, self.every, self.limit_s = server, every, limit_s
        self.stopped = threading.Event()
        self.seen: list[tuple[float, int, int]] = []  # (t, generation, documents)
        self.failures: list[str] = []
        self.t0 = time.perf_counter()

    def run(self) -> None:
        end = self.t0 + self.limit_s
        while not self.stopped.is_set() and time.perf_counter() < end:
            try:
                health = self.server.health()
                point = (time.perf_counter() - self.t0, health["generation"], health["documents"])
                if not self.seen or self.seen[-1][1:] != point[1:]:
                    self.seen.append(point)
            except (OSError, RuntimeError, ValueError, http.client.HTTPException) as error:
                self.failures.append(f"{time.perf_counter() - self.t0:.1f}s {error!r}")
            self.stopped.wait(self.every)


def measure_during_import(
    args: argparse.Namespace,
    workers: int,
    mix: list[Req],
    warmup: list[Req],
    import_file: Path,
    expected_new: int,
    scratch: Path,
) -> Measurement:
    label = f"workers={workers} +import"
    print(f"[{label}] copying the live index of {args.index_dir} ...", flush=True)
    started = time.perf_counter()
    copy = copy_live_index(args.index_dir, scratch / f"w{workers}")
    print(f"  copied to {copy} in {time.perf_counter() - started:.0f} s", flush=True)
    result = Measurement(label, workers)
    log_dir = args.log_dir
    outcome: dict[str, Any] = {}
    try:
        with Server(copy, workers, args.threads, log_dir / f"serve-w{workers}-import.log") as srv:
            before = srv.health()
            print(f"  serving {before['documents']:,} articles on {srv.base}", flush=True)
            drive(srv, warmup, args.clients, args.warmup, args.keepalive)
            monitor = HealthMonitor(srv, limit_s=args.seconds + args.import_timeout + 60)
            importing = threading.Event()
            importing.set()

            def run_import() -> None:
                time.sleep(1.0)  # let the load settle first
                command = [str(VNSEARCH), "index", "-q", "--index-dir", str(copy)]
                command += ["--batch-size", str(args.import_batch), str(import_file)]
                began = time.perf_counter()
                with (log_dir / f"import-w{workers}.log").open("wb") as log:
                    process = subprocess.Popen(
                        command,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        cwd=str(REPO_DIR),
                    )
                    outcome["process"] = process
                    try:
                        outcome["rc"] = process.wait(timeout=args.import_timeout)
                    except subprocess.TimeoutExpired:
                        process.send_signal(signal.SIGTERM)
                        try:
                            process.wait(timeout=30)
                        except subprocess.TimeoutExpired:
                            process.kill()
                            process.wait()
                        outcome["rc"] = "timeout"
                outcome["start_s"] = began - monitor.t0
                outcome["began"] = began
                outcome["seconds"] = time.perf_counter() - began
                outcome["ended"] = time.perf_counter()
                importing.clear()

            importer = threading.Thread(target=run_import, daemon=True)
            monitor.start()
            importer.start()
            cpu = cpu_seconds()
            samples, wall, t0 = drive(
                srv,
                mix,
                args.clients,
                args.seconds,
                args.keepalive,
                keep_going=importing,
                max_seconds=args.seconds + args.import_timeout + 60,
            )
            importer.join(timeout=args.import_timeout + 90)
            # The new articles must show up shortly after the import's last commit: the first
            # /healthz that counts them all, against the moment the import exited.
            wanted = before["documents"] + expected_new
            deadline = time.perf_counter() + 30
            while time.perf_counter() < deadline and not any(
                docs >= wanted for _, _, docs in monitor.seen
            ):
                time.sleep(0.2)
            monitor.stopped.set()
            monitor.join(timeout=15)
            ended = outcome.get("ended", time.perf_counter()) - monitor.t0
            seen_at = [t for t, _, docs in monitor.seen if docs >= wanted]
            visible_after = max(0.0, seen_at[0] - ended) if seen_at else None
            after = srv.health()
            result.memory = srv.memory_mb()
            result.samples, result.seconds, result.t0 = samples, wall, t0
            result.client_cpu_s = cpu_seconds() - cpu
            window = (outcome.get("began", t0), outcome.get("ended", t0))
            while_importing = [x.ms for x in samples if window[0] <= x.started <= window[1]]
            afterwards = [x.ms for x in samples if x.started > window[1]]
            log_text = (log_dir / f"import-w{workers}.log").read_text(errors="replace")
            result.extra = {
                "documents_before": before["documents"],
                "documents_after": after["documents"],
                "expected_after": wanted,
                "generation_before": before["generation"],
                "generation_after": after["generation"],
                "import_rc": outcome.get("rc"),
                "import_seconds": round(outcome.get("seconds", 0.0), 1),
                "import_summary": log_text.strip().splitlines()[-3:],
                "new_visible_s_after_import": (
                    None if visible_after is None else round(visible_after, 2)
                ),
                "health_timeline": monitor.seen,
                "during_import": latency_summary(while_importing),
                "after_import": latency_summary(afterwards),
                "health_failures": monitor.failures,
            }
            if visible_after is None:
                result.extra["import_problem"] = (
                    f"{after['documents']:,} documents visible, {wanted:,} expected"
                )
    finally:
        process = outcome.get("process")
        if process is not None and process.poll() is None:  # interrupted: stop the import
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(scratch / f"w{workers}", ignore_errors=True)
    return result


def measure(
    args: argparse.Namespace, workers: int, mix: list[Req], warmup: list[Req]
) -> Measurement:
    label = f"workers={workers}"
    log = args.log_dir / f"serve-w{workers}.log"
    with Server(args.index_dir, workers, args.threads, log) as srv:
        health = srv.health()
        print(f"[{label}] serving {health['documents']:,} articles on {srv.base}", flush=True)
        drive(srv, warmup, args.clients, args.warmup, args.keepalive)
        cpu = cpu_seconds()
        samples, wall, t0 = drive(srv, mix, args.clients, args.seconds, args.keepalive)
        result = Measurement(label, workers, wall, samples, t0=t0)
        result.client_cpu_s = cpu_seconds() - cpu
        result.memory = srv.memory_mb()
        result.extra = {"documents": health["documents"], "generation": health["generation"]}
    return result


# --- report --------------------------------------------------------------------------------


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def latency_summary(ms: list[float]) -> dict[str, Any]:
    if not ms:
        return {"n": 0, "p50": "-", "p95": "-", "max": "-"}
    return {
        "n": len(ms),
        "p50": round(median(ms)),
        "p95": round(percentile(ms, 95)),
        "max": round(max(ms)),
    }


def table(results: list[Measurement]) -> list[str]:
    head = (
        f"{'server':<22}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}{'errors':>8}{'partial':>8}{'client CPU':>11}  statuses"
    )
    lines = [head]
    for r in results:
        ms = r.latencies()
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(r.statuses().items()))
        partial = sum(s.partial for s in r.samples)
        lines.append(
            f"{r.label:<22}{len(r.samples):>9}{r.rps:>8.1f}{median(ms):>9.0f}"
            f"{percentile(ms, 95):>9.0f}{percentile(ms, 99):>9.0f}{max(ms, default=0):>9.0f}"
            f"{len(r.errors):>8}{partial:>8}{r.client_cpu_s / max(r.seconds, 1e-9):>10.0%}"
            f"  {statuses}"
        )
    many = [r for r in results if r.workers > 1]
    single = [r for r in results if r.workers == 1]
    if many and single:
        a, b = many[0], single[0]
        am, bm = a.latencies(), b.latencies()

        def ratio(x: float, y: float) -> str:
            return f"{x / y:.2f}x" if y else "-"

        lines.append(
            f"{'ratio N/1':<22}{'':>9}{ratio(a.rps, b.rps):>8}{ratio(median(am), median(bm)):>9}"
            f"{ratio(percentile(am, 95), percentile(bm, 95)):>9}"
            f"{ratio(percentile(am, 99), percentile(bm, 99)):>9}"
            f"{ratio(max(am, default=0), max(bm, default=0)):>9}"
        )
    return lines


def kinds_table(results: list[Measurement]) -> list[str]:
    lines = [f"{'p50/p95 ms by kind':<22}" + "".join(f"{k:>14}" for k in MIX)]
    for r in results:
        cells = []
        for kind in MIX:
            ms = r.latencies(kind)
            cells.append(f"{median(ms):.0f}/{percentile(ms, 95):.0f}" if ms else "-")
        lines.append(f"{r.label:<22}" + "".join(f"{c:>14}" for c in cells))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX_DIR)
    parser.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--seconds", type=float, default=20.0, help="per server (default 20)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="default: the number of cores"
    )
    parser.add_argument("--threads", type=int, help="threads per worker (default: serve's)")
    parser.add_argument(
        "--no-single", action="store_true", help="skip the comparison with --workers 1"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--keepalive", action="store_true", help="one connection per client")
    parser.add_argument("--seed", type=int, default=20260601)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--during-import", type=Path, metavar="FILE", help="JSONL to import")
    source.add_argument(
        "--during-import-sample",
        type=int,
        metavar="N",
        help="import N news articles with new ids (a temp JSONL made from the corpus)",
    )
    parser.add_argument("--import-batch", type=int, default=1000, help="articles per commit")
    parser.add_argument("--import-timeout", type=float, default=900.0)
    parser.add_argument("--json", type=Path, help="write the samples here (default bench/out)")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    if args.clients < 1 or args.seconds <= 0 or args.workers < 1:
        parser.error("--clients, --seconds and --workers must be positive")
    args.seconds = min(args.seconds, 3600.0)
    args.warmup = max(0.0, min(args.warmup, 600.0))
    args.loadavg = os.getloadavg()  # the machine is shared: say how busy it was

    docs = load_docs([NEWS, DANTRI])
    mix = make_mix(docs, POOL, args.seed)
    warmup = make_mix(docs, 2000, args.seed + 1)
    del docs
    importing = args.during_import is not None or args.during_import_sample is not None
    out = args.json or OUT_DIR / f"load{'-import' if importing else ''}.json"
    args.log_dir = out.with_name(out.stem + "-logs")  # server and import logs of this run
    args.log_dir.mkdir(parents=True, exist_ok=True)
    for old in args.log_dir.glob("*.log"):
        old.unlink()
    plan = [args.workers] + ([] if args.no_single or args.workers == 1 else [1])
    when = datetime.now().astimezone().isoformat(timespec="seconds")
    print(
        f"load: {args.clients} clients x {args.seconds:g} s (+{args.warmup:g} s warm-up) per "
        f"server, workers {plan}, {'keep-alive' if args.keepalive else 'new connection'} per "
        f"request, index {args.index_dir}, {when}",
        flush=True,
    )

    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="vnsearch-load-") as tmp:
        scratch = Path(tmp)
        import_file, expected_new = None, 0
        if importing:
            if args.during_import_sample is not None:
                import_file = scratch / "import-sample.jsonl"
                expected_new = write_import_sample(
                    import_file, args.during_import_sample, args.seed
                )
                print(f"import file: {expected_new:,} news articles, new ids", flush=True)
            else:
                import_file = args.during_import.resolve()
                expected_new = count_lines(import_file)
        for workers in plan:
            if import_file is not None:
                result = measure_during_import(
                    args, workers, mix, warmup, import_file, expected_new, scratch
                )
            else:
                result = measure(args, workers, mix, warmup)
            results.append(result)
            print(
                f"  {len(result.samples):,} requests in {result.seconds:.1f} s, "
                f"{len(result.errors)} errors",
                flush=True,
            )

    print(f"\n{date_line(args, when)}")
    for line in table(results) + [""] + kinds_table(results):
        print(line)
    failed = False
    for r in results:
        bad = r.errors + r.unexpected_4xx
        if bad:
            failed = True
            print(f"\n{r.label}: {len(bad)} failed requests (first 10):")
            for s in bad[:10]:
                t = s.started - r.t0
                print(f"  t={t:.1f}s {s.status or 'exception'} {s.path} {s.error[:160]}")
        if r.extra.get("import_rc") is not None:
            x = r.extra
            commits = max(0, x["generation_after"] - x["generation_before"])
            print(
                f"\n{r.label}: import rc {x['import_rc']} in {x['import_seconds']} s, "
                f"{commits} generations, documents {x['documents_before']:,} -> "
                f"{x['documents_after']:,} (expected {x['expected_after']:,}), all new articles "
                f"visible {x['new_visible_s_after_import']} s after the import exited; "
                f"/healthz failures {len(x['health_failures'])}"
            )
            print("  import: " + " | ".join(x["import_summary"]))
            d, a = x["during_import"], x["after_import"]
            print(
                f"  while importing: {d['n']} requests, p50 {d['p50']} ms, p95 {d['p95']} ms, "
                f"max {d['max']} ms; after: {a['n']} requests, p50 {a['p50']} ms, "
                f"p95 {a['p95']} ms"
            )
            if x.get("import_problem") or x["import_rc"] not in (0,) or x["health_failures"]:
                failed = True
                print(f"  PROBLEM: {x.get('import_problem') or x['health_failures'][:3]}")
    print(
        "\nserver memory at the end (all processes): "
        + "; ".join(
            f"{r.label} PSS {r.memory.get('pss_mb', 0):,} MB, peak RSS "
            f"{r.memory.get('peak_rss_mb', 0):,} MB ({r.memory.get('processes', 0)} processes)"
            for r in results
        )
    )
    slowest = sorted((s for r in results for s in r.samples), key=lambda s: -s.ms)[:5]
    print("\nslowest: " + "; ".join(f"{s.ms:.0f} ms {s.kind}" for s in slowest))

    report = {
        "date": when,
        "git": git_state(),
        "argv": sys.argv[1:],
        "cpus": os.cpu_count(),
        "results": [
            {
                "label": r.label,
                "workers": r.workers,
                "seconds": r.seconds,
                "requests": len(r.samples),
                "rps": r.rps,
                "p50": median(r.latencies()),
                "p95": percentile(r.latencies(), 95),
                "p99": percentile(r.latencies(), 99),
                "errors": len(r.errors),
                "client_cpu_s": r.client_cpu_s,
                "server_memory": r.memory,
                "statuses": dict(r.statuses()),
                "extra": r.extra,
                "failed": [s.__dict__ for s in (r.errors + r.unexpected_4xx)[:100]],
            }
            for r in results
        ],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"details: {out}")
    return 1 if failed else 0


def date_line(args: argparse.Namespace, when: str) -> str:
    return (
        f"{when}, {git_state()}, {os.cpu_count()} cores, {args.clients} clients, "
        f"threads/worker {args.threads or 'default'}, load average before "
        f"{args.loadavg[0]:.2f}"
    )


if __name__ == "__main__":
    sys.exit(main())
