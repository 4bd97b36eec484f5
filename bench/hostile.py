"""Hostile queries: 1,000 seeded random nasty requests to /api/search; each must be answered
with 200 or 400 (JSON) in under 3 s.

Against a running server (--url http://127.0.0.1:PORT) or one it starts itself on the index
(--index-dir, --workers; stopped with SIGTERM at the end). The requests (seeded; words drawn
from corpus titles at run time) come from these families:

  operators   AND OR NOT - + " ( ) ^ ~ : [ ] { } \\ * && || ! among words
  wildcards   *a*  a*  *  ?  *ng  word*  w?rd  prefixes of 3 letters
  ranges      [a TO zzzz]  {a TO}  title:[a TO z]  date:[2020-13-45 to x]
  fuzzy       n~9/0  a~2/0  word~2  "a b"~100
  regex       r"(a+)+b"  r".*"  /(a+)+b/
  fields      nosuch:x  id:*  body:*  title:*  id:baomoi-*  url:*
  boosts      x^1e308  x^-1  word^NaN
  controls    NUL, U+202E, U+200B-D, U+FEFF, U+2028, CR LF, ESC ... inside words
  encoding    lone surrogates (%ED%A0%80), overlong UTF-8 (%C0%AF, %E0%80%AF, %C0%80),
              truncated sequences, %FF, a malformed escape (%E0%A4%A)
  long        500-character strings (200 or 400) and 501+ (must be 400)
  parens      1,000-deep (2,001 characters: must be 400), deep but under 500, unbalanced
  ors         2,000 ORs and 1,500 ORs of letters (over 500 characters: must be 400; the
              2,000 ORs make a URL over 8,192 characters, where the app's JSON 414 is right
              too); 100 ORs, NOT chains
  costly      what the parser accepts but may cost: 32 fuzzy words, 32 three-letter prefixes
              OR-ed, phrases of common syllables, 32 common words
  injection   <script>, "><img onerror>, {{7*7}}, ${7*7}, %0d%0aSet-Cookie ...
  params      ordinary words with hostile page/per_page/sort/from/to/category/source/facets

About a third of the other requests also get random page/per_page/sort/from/to values. Apart
from the 2,000 ORs, only URLs under 8,192 characters are sent (longer ones are a 414 by
design, before the query is read).

Requests go one at a time by default. A request that gets no answer in 15 s is a violation;
the server this run started is then restarted (SIGTERM, wait), since the request would keep a
worker busy and slow every later one; afterwards each violating request is sent again alone
on an idle server ("alone"), to tell slow requests from requests slowed by an earlier one.
After each start a self-started server gets 32 ordinary searches, 8 at a time (not measured),
so that no hostile request pays for the cold start of a worker (1-2 s on the full index).

A violation: a status other than 200 or 400, a body that is not JSON (or a 400 without the
error shape), an answer in 3 s or more (or none: timeout, reset), or a 200 for a request that
must be a 400. Prints counts per status and per family, p50/p99/max latency, and every
violation with its exact request; exits 1 when there is any.

    .venv/bin/python bench/hostile.py                    # starts a server on full156k
    .venv/bin/python bench/hostile.py --url http://127.0.0.1:8000
    .venv/bin/python bench/hostile.py --long 20000       # the test suite's fuzzer, long

--long N sends N whole requests from the test suite's fuzzer instead (any route, headers,
methods; tests/hostile_requests.py) and checks its properties (bench/hostile_long.py); an
answer may be --base-bytes plus 256 times the request (4 MiB suits the full index; the
demo index's answers stay under 256 KiB).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from collections import Counter
from datetime import datetime
from pathlib import Path

from common import (
    DEFAULT_INDEX_DIR,
    OUT_DIR,
    git_state,
    median,
    percentile,
)
from hostile_cases import FAMILIES, Case, make_cases, vocabulary_from_titles, warmup_paths
from hostile_long import FULL_INDEX_BASE_BYTES, report_long, run_long
from server import Server, exit_on_sigterm

LIMIT_S = 3.0  # every answer must come faster than this
TIMEOUT_S = 15.0  # the client gives up here (a violation anyway)
RUN_LIMIT_S = 1800.0  # the whole run, whatever happens


# --- running -------------------------------------------------------------------------------


def send(host: str, port: int, case: Case) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    started = time.perf_counter()
    try:
        conn.request("GET", case.path, headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read()
        case.ms = (time.perf_counter() - started) * 1000
        case.status = response.status
        case.content_type = response.getheader("Content-Type") or ""
        case.body = body[:300].decode("utf-8", errors="replace")
        check(case, body)
    except (OSError, http.client.HTTPException) as error:
        case.ms = (time.perf_counter() - started) * 1000
        case.problem = f"no answer: {error!r}"
    finally:
        conn.close()


def check(case: Case, body: bytes) -> None:
    problems = []
    if case.status not in (200, 400) and not (case.allow_414 and case.status == 414):
        problems.append(f"status {case.status}")
    if "json" not in case.content_type:
        problems.append(f"content type {case.content_type!r}")
    try:
        data = json.loads(body)
    except ValueError:
        problems.append("body is not JSON")
        data = None
    if case.status >= 400 and isinstance(data, dict) and "error" not in data:
        problems.append(f"{case.status} without an error object")
    if case.status == 200 and isinstance(data, dict):
        case.partial = bool(data.get("partial"))
    if case.must_400 and case.status != 400 and not (case.allow_414 and case.status == 414):
        problems.append(f"must be 400 ({case.why_400})")
    if case.ms >= LIMIT_S * 1000:
        problems.append(f"took {case.ms / 1000:.2f} s")
    case.problem = "; ".join(problems)


class Target:
    """Where requests go: a running server, or one this run started (and may restart)."""

    def __init__(self, host: str, port: int, server: Server | None = None) -> None:
        self.host, self.port, self.server = host, port, server
        self.restarts = 0
        self.warmup: list[str] = []  # ordinary requests (paths) sent after each (re)start

    def warm(self, concurrency: int = 8) -> None:
        """Open every worker thread's searcher and load its caches, so that the first hostile
        requests do not pay for a cold start (1-2 s on the full index). Not measured."""

        def client(paths: list[str]) -> None:
            for path in paths:
                http_get(self.host, self.port, path)

        threads = [
            threading.Thread(target=client, args=(self.warmup[i::concurrency],), daemon=True)
            for i in range(concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    def restart(self) -> bool:
        """Stop and start our own server (SIGTERM, wait): requests it still runs are dropped,
        so the next ones are measured on an idle server. False for a server not ours."""
        if self.server is None:
            return False
        self.server.stop()
        self.server.__enter__()
        self.host, self.port = self.server.host, self.server.port
        self.restarts += 1
        self.warm()
        return True

    def wait_idle(self, limit_s: float) -> None:
        """Until /healthz answers at once (a server busy with a slow request answers late)."""
        deadline = time.perf_counter() + limit_s
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            status, _ = http_get(self.host, self.port, "/healthz")
            if status == 200 and time.perf_counter() - began < 0.1:
                return
            time.sleep(1.0)


def run(target: Target, cases: list[Case], clients: int) -> float:
    """Send every case; the wall time. Bounded by RUN_LIMIT_S.

    One client (the default): after a request that got no answer in TIMEOUT_S, our own server
    is restarted (a server given by --url is waited for, up to 120 s), so that one runaway
    request is reported once instead of slowing every later one. Several clients: no restarts.
    """
    started = time.perf_counter()
    if clients == 1:
        for case in cases:
            if time.perf_counter() - started > RUN_LIMIT_S:
                break
            send(target.host, target.port, case)
            if case.problem.startswith("no answer"):
                case.extra["restarted"] = target.restart()
                if not case.extra["restarted"]:
                    target.wait_idle(120)
        return time.perf_counter() - started
    next_index = iter(range(len(cases)))
    lock = threading.Lock()

    def worker() -> None:
        while time.perf_counter() - started < RUN_LIMIT_S:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            send(target.host, target.port, cases[i])

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=RUN_LIMIT_S + TIMEOUT_S + 10)
    return time.perf_counter() - started


def recheck(target: Target, violations: list[Case], limit: int = 30) -> None:
    """Send each violating request again, alone, on an idle server: was it slow by itself, or
    only behind an earlier slow request? (case.extra["alone"]). Bounded to 10 minutes."""
    stop = time.perf_counter() + 600
    for case in violations[:limit]:
        if time.perf_counter() > stop:
            break
        target.wait_idle(min(120.0, max(0.0, stop - time.perf_counter())))
        again = Case(case.family, case.params, case.must_400, case.why_400, case.allow_414)
        send(target.host, target.port, again)
        case.extra["alone"] = {
            "status": again.status,
            "ms": round(again.ms),
            "problem": again.problem,
        }
        if again.problem.startswith("no answer"):
            target.restart()


def report(cases: list[Case], wall: float) -> tuple[list[str], list[Case]]:
    sent = [c for c in cases if c.status or c.problem]
    ms = [c.ms for c in sent]
    statuses = Counter(str(c.status) if c.status else "none" for c in sent)
    lines = [
        f"{len(sent)} requests in {wall:.0f} s; statuses "
        + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
        + f"; partial 200s: {sum(c.partial for c in sent)}",
        f"latency ms: p50 {median(ms):.0f}, p99 {percentile(ms, 99):.0f}, max {max(ms):.0f}",
        "",
        f"{'family':<11}{'n':>5}{'200':>6}{'400':>6}{'414':>6}{'other':>6}{'must400':>8}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'bad':>5}",
    ]
    for family in FAMILIES:
        mine = [c for c in sent if c.family == family]
        if not mine:
            continue
        fm = [c.ms for c in mine]
        lines.append(
            f"{family:<11}{len(mine):>5}{sum(c.status == 200 for c in mine):>6}"
            f"{sum(c.status == 400 for c in mine):>6}"
            f"{sum(c.status == 414 for c in mine):>6}"
            f"{sum(c.status not in (200, 400, 414) for c in mine):>6}"
            f"{sum(c.must_400 for c in mine):>8}{median(fm):>8.0f}{percentile(fm, 99):>8.0f}"
            f"{max(fm):>8.0f}{sum(bool(c.problem) for c in mine):>5}"
        )
    unsent = len(cases) - len(sent)
    if unsent:
        lines.append(f"{unsent} requests not sent: the run hit its {RUN_LIMIT_S:.0f} s limit")
    violations = [c for c in sent if c.problem]
    return lines, violations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running server on 127.0.0.1 (else one is started)")
    parser.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX_DIR)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--threads", type=int, help="threads per worker (default: serve's)")
    parser.add_argument("--n", type=int, default=1000, help="requests (default 1,000)")
    parser.add_argument("--clients", type=int, default=1, help="concurrent clients (default 1)")
    parser.add_argument("--seed", type=int, default=20260606)
    parser.add_argument(
        "--no-recheck",
        dest="recheck",
        action="store_false",
        help="do not resend violating requests alone afterwards",
    )
    parser.add_argument("--json", type=Path, help="details (default bench/out/hostile.json)")
    parser.add_argument("--long", type=int, default=0, metavar="N", help="N fuzzer requests")
    parser.add_argument("--budget-ms", type=int, default=2000, help="the server's time budget")
    parser.add_argument("--base-bytes", type=int, default=FULL_INDEX_BASE_BYTES, help="see --long")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    args.n = max(1, min(args.n, 100_000))
    args.clients = max(1, min(args.clients, 64))

    loadavg = os.getloadavg()  # the machine is shared: say how busy it was
    out = args.json or OUT_DIR / "hostile.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    vocabulary = vocabulary_from_titles(args.seed)
    cases = make_cases(vocabulary, args.n, args.seed)
    when = datetime.now().astimezone().isoformat(timespec="seconds")
    server: Server | None = None
    if args.url:
        parts = urllib.parse.urlsplit(args.url)
        if parts.hostname not in ("127.0.0.1", "localhost") or not parts.port:
            parser.error("--url must be http://127.0.0.1:PORT")
        shown = args.url
    else:
        log = out.with_name(out.stem + "-serve.log")
        log.unlink(missing_ok=True)
        server = Server(args.index_dir, args.workers, args.threads, log)
        shown = f"{args.index_dir} (workers {args.workers})"
    try:
        if server is not None:
            server.__enter__()
            target = Target(server.host, server.port, server)
            target.warmup = warmup_paths(vocabulary, args.seed)
            target.warm()
        else:
            target = Target("127.0.0.1", int(urllib.parse.urlsplit(args.url).port or 0))
        if args.long:
            print(f"hostile --long: {args.long} requests, {shown}, {when}")
            found = run_long(
                target.host, target.port, args.long, args.seed, args.budget_ms, args.base_bytes
            )
            return report_long(*found, out)
        print(f"hostile: {len(cases)} requests, {args.clients} client(s), {shown}, {when}")
        wall = run(target, cases, args.clients)
        restarts = target.restarts
        status, _ = http_get(target.host, target.port, "/healthz")
        alive = f"/healthz after the run: {status}; server restarts after a timeout: {restarts}"
        if args.recheck:
            recheck(target, [c for c in cases if c.problem])
    finally:
        stopped = server.stop() if server is not None else None
    lines, violations = report(cases, wall)
    print(
        f"\n{when}, {git_state()}, {os.cpu_count()} cores, seed {args.seed}, "
        f"load average before {loadavg[0]:.2f}"
    )
    for line in lines:
        print(line)
    print(alive + ("" if stopped is None else f"; server exit status {stopped}"))
    if server is not None:
        text = server.log_path.read_text(errors="replace")
        for marker in ("Traceback", "unhandled error", "exited (", "did not stop"):
            if marker in text:
                print(f"server log {server.log_path} contains {marker!r}")
    print(f"\nviolations: {len(violations)}")
    for case in violations[:50]:
        path = case.path if len(case.path) <= 300 else case.path[:300] + f"...({len(case.path)})"
        alone = case.extra.get("alone")
        again = f"; alone: {alone['status'] or '-'} {alone['ms']} ms" if alone else ""
        print(f"  [{case.family}] {case.status or '-'} {case.ms:.0f} ms {case.problem}{again}")
        print(f"    {path}")
    out.write_text(
        json.dumps(
            {
                "date": when,
                "git": git_state(),
                "argv": sys.argv[1:],
                "summary": lines,
                "violations": [
                    {
                        "family": c.family,
                        "path": c.path,
                        "status": c.status,
                        "ms": c.ms,
                        "problem": c.problem,
                        "body": c.body,
                        "alone": c.extra.get("alone"),
                        "restarted_after": c.extra.get("restarted"),
                    }
                    for c in violations
                ],
                "slowest": [
                    {"family": c.family, "path": c.path[:2000], "status": c.status, "ms": c.ms}
                    for c in sorted(cases, key=lambda c: -c.ms)[:20]
                ],
            },
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    print(f"details: {out}")
    return 1 if violations or not status == 200 else 0


def http_get(host: str, port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
