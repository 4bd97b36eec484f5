"""Query latency of vnsearch on the full index, for a realistic mix, every query with facets.

The mix is generated at run time from titles of the corpus with a fixed seed:

  folded     2-4 consecutive title words typed without diacritics ("gia vang tang")
  accented   2-4 consecutive title words with diacritics, lowercase
  filtered   folded or accented words plus a section, source or month filter
  sorted     words, sort=newest or oldest
  browse     no words (newest first) with or without a filter
  paged      words, page 2 or 3

In-process (default): one searcher for the run, as the web app keeps one; time around
`run_search`. --http: starts `vnsearch serve` on a free port of 127.0.0.1 and times one client
(urllib, a new connection per request) on GET /api/search, response read and JSON decoded;
--keepalive sends every request over one persistent connection instead, as a browser or an
API client with a session does. Then match-all facets (the browse page) cold, uncached and
cached, and FTS5/tantivy medians on the same words (no facets, no filters) for context.

    .venv/bin/python bench/query.py
    .venv/bin/python bench/query.py --http
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date
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
    open_peer,
    percentile,
    title_words,
)

MIX = {"folded": 30, "accented": 25, "filtered": 15, "sorted": 10, "browse": 10, "paged": 10}
WARMUP = 20
CACHED_REPEATS = 20


@dataclass
class Case:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    ms: float = 0.0
    total: int = 0

    @property
    def q(self) -> str:
        return str(self.params.get("q", ""))


def _month_window(published: str) -> tuple[str, str] | None:
    if len(published) < 7:
        return None
    year, month = int(published[:4]), int(published[5:7])
    last = monthrange(year, month)[1]
    return f"{year:04d}-{month:02d}-01", f"{year:04d}-{month:02d}-{last:02d}"


def _filter_for(doc: Doc, rng: random.Random) -> dict[str, Any]:
    choice = rng.choice(("category", "source", "month", "category+month"))
    params: dict[str, Any] = {}
    if "category" in choice and doc.category:
        params["category"] = [doc.category]
    if choice == "source" and doc.source:
        params["source"] = [doc.source]
    if "month" in choice:
        window = _month_window(doc.published)
        if window:
            params["from"], params["to"] = window
    return params


def mix_request(request_class: Any, params: dict[str, Any]) -> Any:
    """A case of the mix (API parameters) as the given tree's SearchRequest, facets on."""
    return request_class.from_params(
        q=params.get("q", ""),
        page=params.get("page", 1),
        sort=params.get("sort", "relevance"),
        date_from=params.get("from"),
        date_to=params.get("to"),
        category=params.get("category", ()),
        source=params.get("source", ()),
        facets=True,
    )


def make_mix(docs: list[Doc], n: int, seed: int) -> list[Case]:
    """n cases in the MIX proportions, shuffled with the seed."""
    rng = random.Random(f"{seed}:query-mix")
    cases: list[Case] = []
    weights = sum(MIX.values())
    for kind, share in MIX.items():
        wanted = round(n * share / weights)
        made = 0
        while made < wanted:
            doc = docs[rng.randrange(len(docs))]
            if kind == "browse":
                params = _filter_for(doc, rng) if rng.random() < 0.5 else {}
                cases.append(Case(kind, params))
                made += 1
                continue
            accented = kind == "accented" or (kind != "folded" and rng.random() < 0.5)
            text = title_words(doc, rng, accented)
            if not text:
                continue
            params = {"q": text}
            if kind == "filtered":
                params.update(_filter_for(doc, rng))
            elif kind == "sorted":
                params["sort"] = rng.choice(("newest", "oldest"))
            elif kind == "paged":
                params["page"] = rng.choice((2, 3))
            cases.append(Case(kind, params))
            made += 1
    rng.shuffle(cases)
    return cases


# --- runners -------------------------------------------------------------------------------


class InProcess:
    name = "in-process"

    def __init__(self, index_dir: Path) -> None:
        sys.path.insert(0, str(REPO_DIR))
        from search.engine import SearchRequest, run_search
        from search.index.store import open_index
        from search.query.weights import weighting

        self.searcher = open_index(index_dir).searcher(weighting=weighting())
        self.request = SearchRequest
        self.run_search = run_search

    def run(self, params: dict[str, Any]) -> tuple[float, int]:
        started = time.perf_counter()
        request = mix_request(self.request, params)
        result = self.run_search(self.searcher, request)
        return (time.perf_counter() - started) * 1000, int(result["total"])

    def clear_facet_cache(self) -> None:
        from search.index.caches import caches_of

        caches_of(self.searcher).facet_counts.clear()

    def close(self) -> None:
        self.searcher.close()


class Http:
    name = "http"

    def __init__(
        self,
        index_dir: Path,
        workers: int | None,
        threads: int | None,
        path: str,
        keepalive: bool = False,
    ) -> None:
        self.port = _free_port()
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port) if keepalive else None
        self.base = f"http://127.0.0.1:{self.port}"
        self.path = path
        command = [
            str(REPO_DIR / ".venv" / "bin" / "vnsearch"),
            "serve",
            "--index-dir",
            str(index_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        if workers is not None:
            command += ["--workers", str(workers)]
        if threads is not None:
            command += ["--threads", str(threads)]
        self.name = (
            "http"
            + (f"-w{workers}" if workers else "")
            + (f"-t{threads}" if threads else "")
            + ("-keepalive" if keepalive else "")
        )
        self.log = (OUT_DIR / "query-serve.log").open("w")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vnsearch serve exited ({self.process.returncode}); see log")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("vnsearch serve did not answer /healthz in time")

    def run(self, params: dict[str, Any]) -> tuple[float, int]:
        query = urllib.parse.urlencode(params, doseq=True)
        started = time.perf_counter()
        if self.connection is None:
            with urllib.request.urlopen(f"{self.base}{self.path}?{query}", timeout=60) as response:
                result = json.loads(response.read())
        else:
            self.connection.request("GET", f"{self.path}?{query}")
            result = json.loads(self.connection.getresponse().read())
        return (time.perf_counter() - started) * 1000, int(result["total"])

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed(runner: Any, params: dict[str, Any]) -> float:
    return float(runner.run(params)[0])


def stats_line(label: str, values: list[float]) -> str:
    return (
        f"{label:<14}{len(values):>6}{median(values):>9.1f}{percentile(values, 95):>9.1f}"
        f"{percentile(values, 99):>9.1f}{max(values):>9.1f}"
    )


def measure_match_all(runner: Any, repeats: int) -> dict[str, float]:
    """Browse with facets: the first request, uncached counts (if reachable), cached."""
    figures = {"cold_ms": timed(runner, {})}
    if isinstance(runner, InProcess):
        runner.clear_facet_cache()
        figures["uncached_ms"] = timed(runner, {})
    figures["cached_ms"] = median([timed(runner, {}) for _ in range(repeats)])
    return figures


def run_mix(runner: Any, cases: list[Case], warmup: list[Case]) -> None:
    for case in warmup:
        runner.run(case.params)
    for case in cases:
        case.ms, case.total = runner.run(case.params)


def run_peers(
    cases: list[Case], engines: list[str], paths: list[Path], docs: list[Doc]
) -> dict[str, dict[str, float]]:
    """Median and p95 ms of the same words (with page offsets) on FTS5 and tantivy."""
    figures: dict[str, dict[str, float]] = {}
    texts = [(c.q, (int(c.params.get("page", 1)) - 1) * 20) for c in cases if c.q]
    for name in engines:
        peer = open_peer(name, paths, docs)
        for mode in ("and", "or"):
            times = []
            for text, offset in texts:
                started = time.perf_counter()
                peer.search(text, mode, limit=20, offset=offset)
                times.append((time.perf_counter() - started) * 1000)
            figures[f"{name}-{mode}"] = {
                "p50_ms": median(times),
                "p95_ms": percentile(times, 95),
                "n": len(times),
            }
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--n", type=int, default=400, help="queries in the mix (default 400)")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument(
        "--warmup",
        type=int,
        default=WARMUP,
        help=f"warm-up queries, another seed (default {WARMUP})",
    )
    parser.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX_DIR)
    parser.add_argument("--http", action="store_true", help="measure over HTTP (vnsearch serve)")
    parser.add_argument("--workers", type=int, help="with --http: vnsearch serve --workers")
    parser.add_argument("--threads", type=int, help="with --http: vnsearch serve --threads")
    parser.add_argument(
        "--keepalive", action="store_true", help="with --http: one persistent connection"
    )
    parser.add_argument("--api-path", default="/api/search", help="with --http: search endpoint")
    parser.add_argument(
        "--peers", default="fts5,tantivy", help="peer engines for context ('' for none)"
    )
    args = parser.parse_args(argv)

    paths = [NEWS, DANTRI]
    docs = load_docs(paths)
    cases = make_mix(docs, args.n, args.seed)
    warmup = make_mix(docs, args.warmup, args.seed + 1)
    OUT_DIR.mkdir(parents=True, exist_ok=True)

    runner: Any
    if args.http:
        if importlib.util.find_spec("web.serve") is None:
            print("web.serve is not there yet: no HTTP server to measure", file=sys.stderr)
            return 2
        runner = Http(args.index_dir, args.workers, args.threads, args.api_path, args.keepalive)
    else:
        runner = InProcess(args.index_dir)
    print(f"{runner.name}: {args.index_dir}, {len(cases)} queries + {len(warmup)} warm-up")
    try:
        match_all = measure_match_all(runner, CACHED_REPEATS)
        run_mix(runner, cases, warmup)
    finally:
        runner.close()

    all_ms = [c.ms for c in cases]
    print(f"\nlatency ms ({runner.name}, facets on, {date.today().isoformat()}, {git_state()})")
    print(f"{'kind':<14}{'n':>6}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}")
    print(stats_line("all", all_ms))
    for kind in MIX:
        chosen = [c.ms for c in cases if c.kind == kind]
        if chosen:
            print(stats_line(kind, chosen))
    print(
        "\nmatch-all facets (browse page): "
        + ", ".join(f"{k} {v:.1f}" for k, v in match_all.items())
    )
    slowest = sorted(cases, key=lambda c: -c.ms)[:5]
    print("slowest: " + "; ".join(f"{c.ms:.0f} ms {c.kind} {c.params}" for c in slowest))

    peers: dict[str, dict[str, float]] = {}
    engines = [e for e in args.peers.split(",") if e]
    if engines:
        peers = run_peers(cases, engines, paths, docs)
        print("\npeers, same words (no facets, no filters, top 20, in-process):")
        for name, figure in peers.items():
            print(f"  {name:<12} p50 {figure['p50_ms']:7.1f} ms   p95 {figure['p95_ms']:7.1f} ms")

    report = {
        "date": date.today().isoformat(),
        "mode": runner.name,
        "git": git_state(),
        "argv": sys.argv[1:],
        "index_dir": str(args.index_dir),
        "cpus": os.cpu_count(),
        "all": {
            "p50": median(all_ms),
            "p95": percentile(all_ms, 95),
            "p99": percentile(all_ms, 99),
        },
        "match_all": match_all,
        "peers": peers,
        "cases": [
            {"kind": c.kind, "params": c.params, "ms": c.ms, "total": c.total} for c in cases
        ],
    }
    out = OUT_DIR / f"query-{runner.name}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"details: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
