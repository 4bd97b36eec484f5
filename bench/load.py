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
import json
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from common import (
    DANTRI,
    DEFAULT_INDEX_DIR,
    NEWS,
    OUT_DIR,
    git_state,
    load_docs,
    median,
    percentile,
)
from load_clients import MIX, POOL, Measurement, make_mix, measure
from load_import import count_lines, measure_during_import, write_import_sample
from server import exit_on_sigterm

# --- report --------------------------------------------------------------------------------


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
    parser.add_argument(
        "--serve-timeout", type=float, default=180.0, help="seconds for serve's warm-up"
    )
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
