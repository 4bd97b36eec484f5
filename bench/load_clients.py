"""load.py's request mix and its clients: N threads, each on its own connection."""

from __future__ import annotations

import argparse
import http.client
import itertools
import random
import resource
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from common import Doc, median, percentile, title_words
from server import REQUEST_TIMEOUT, Server, get

MIX = {"folded": 28, "accented": 24, "filtered": 16, "paged": 10, "sorted": 5, "browse": 17}
POOL = 20_000  # requests generated per run; clients cycle through them
MAX_REQUESTS = 2_000_000  # hard cap on requests per measurement, whatever the duration


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


def measure(
    args: argparse.Namespace, workers: int, mix: list[Req], warmup: list[Req]
) -> Measurement:
    label = f"workers={workers}"
    log = args.log_dir / f"serve-w{workers}.log"
    timeout = args.serve_timeout
    with Server(args.index_dir, workers, args.threads, log, startup_timeout=timeout) as srv:
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
