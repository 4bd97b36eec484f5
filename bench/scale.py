"""Archive scale: build, query latency and memory of vnsearch on full-body archives, with
tantivy and SQLite FTS5 on the same file and the same queries.

For each archive (JSONL or .jsonl.gz, e.g. from ../shared/tools/make_archive.py):

1. Build: `vnsearch index -q --index-dir DIR FILE` as one subprocess, final merge included:
   wall s, articles/s, peak RSS of the whole process tree (summed, sampled from /proc), index
   size on disk against the uncompressed JSONL. --index-dir reuses an index instead.
2. Queries: `vnsearch serve` with its defaults, one client, GET /api/search with the API's
   defaults (facets and highlights on), a new connection per request, after serve's own
   warm-up and --warmup requests of another seed; p50/p95 ms per kind (scale_queries.py).
3. Serving memory: PSS summed over the server's processes, after the warm-up requests and
   after the queries.
4. Peers in process on the same file (indexes cached in bench/out/peers/): build s, disk,
   p50/p95 per kind on the AND of the words.

One table per archive with the archive-scale goals (for 1M articles) and vnsearch's pass/fail;
every figure in bench/out/scale-<archive>.json.

    .venv/bin/python bench/scale.py --archive bench/out/archive-3k.jsonl.gz --make 3000
    .venv/bin/python bench/scale.py --archive ../bench/archive-150k.jsonl.gz
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime
from pathlib import Path
from typing import Any

from common import OUT_DIR, PEERS, REPO_DIR, build_peer, git_state, iter_docs, peer_path
from index import dir_mb, measure
from scale_queries import ArchiveScan, Case, make_cases, scan_archive
from scale_report import ENGINES, goals, kinds_of, print_table
from server import VNSEARCH, Server, exit_on_sigterm, get

API_PATH = "/api/search"
PEER_LIMIT = 20  # the API's default page size
REQUEST_TIMEOUT = 120.0


def make_tool() -> Path:
    """make_archive.py in ../shared/tools beside this checkout or beside the main one."""
    roots = [REPO_DIR.parent]
    try:
        common = subprocess.run(
            ["git", "-C", str(REPO_DIR), "rev-parse", "--path-format=absolute", "--git-common-dir"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        roots.append(Path(common).parent.parent)
    except (OSError, subprocess.CalledProcessError):
        pass
    for root in roots:
        tool = root / "shared" / "tools" / "make_archive.py"
        if tool.exists():
            return tool
    raise FileNotFoundError("shared/tools/make_archive.py not found beside the checkout")


def make_archive(path: Path, articles: int, seed: int) -> None:
    """Write the archive with make_archive.py, under a temporary name until complete."""
    part = path.with_name(path.name + ".part" + (".gz" if path.suffix == ".gz" else ""))
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(make_tool()), "--n", str(articles), "--seed", str(seed)]
    print(f"making {path} ({articles:,} articles, seed {seed}) ...", flush=True)
    subprocess.run([*command, "--out", str(part)], check=True)
    part.rename(path)


def build_vnsearch(scan: ArchiveScan, index_dir: Path, timeout: float | None) -> dict[str, Any]:
    shutil.rmtree(index_dir, ignore_errors=True)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    print(f"building vnsearch index in {index_dir} ...", flush=True)
    command = [str(VNSEARCH), "index", "-q", "--index-dir", str(index_dir), str(scan.path)]
    figures: dict[str, Any] = measure(command, dict(os.environ), timeout)
    figures["articles_per_s"] = scan.articles / figures["wall_s"]
    figures["peak_tree_gb"] = figures["tree_rss_mb"] / 1024
    print(f"  built in {figures['wall_s']:.0f} s", flush=True)
    return figures


def ask(server: Server, case: Case) -> None:
    """One request, timed from sending it to the decoded JSON answer (status 0: no answer)."""
    path = f"{API_PATH}?{urllib.parse.urlencode(case.params)}"
    started = time.perf_counter()
    try:
        case.status, body = get(server.host, server.port, path, timeout=REQUEST_TIMEOUT)
        answer = json.loads(body)
    except (OSError, ValueError):
        case.status, answer = 0, {}
    case.ms = (time.perf_counter() - started) * 1000
    if case.status == 200:
        case.total, case.took_ms = int(answer["total"]), float(answer["took_ms"])
        case.partial = bool(answer.get("partial"))


def serve_and_query(
    index_dir: Path, cases: list[Case], warmup: list[Case], log: Path, startup_timeout: float
) -> dict[str, Any]:
    """vnsearch serve with its defaults; the cases one at a time; its memory before and after."""
    print(f"serving {index_dir} (log {log}) ...", flush=True)
    started = time.perf_counter()
    with Server(index_dir, None, None, log, startup_timeout=startup_timeout) as server:
        startup = time.perf_counter() - started
        documents = int(server.health()["documents"])
        for case in warmup:
            ask(server, case)
        # after the warm-up requests: /healthz answers once one worker is up, the next may
        # not have forked yet
        ready = server.memory_mb()
        print(f"  ready in {startup:.0f} s; {len(cases)} queries ...", flush=True)
        for case in cases:
            ask(server, case)
        after = server.memory_mb()
    return {
        "documents": documents,
        "startup_s": startup,
        "memory_ready": ready,
        "memory_after": after,
        "errors": sum(c.status != 200 for c in cases),
        "partial": sum(c.partial for c in cases),
    }


def warn_if_unsound(server: dict[str, Any], scan: ArchiveScan) -> None:
    """Say so when the index is not the archive's (a killed build, another --index-dir) or
    requests failed: the figures would not be what they seem."""
    if server["documents"] != scan.articles:
        print(
            f"WARNING: the index holds {server['documents']:,} documents, "
            f"the archive {scan.articles:,} articles",
            flush=True,
        )
    if server["errors"]:
        print(f"WARNING: {server['errors']} requests failed (see serve's log)", flush=True)


def path_mb(path: Path) -> float:
    return dir_mb(path) if path.is_dir() else path.stat().st_size / 1e6


def run_peer(name: str, scan: ArchiveScan, cases: list[Case], rebuild: bool) -> dict[str, Any]:
    """Build (or reuse) a peer's index of the archive, then time the AND of every case's words."""
    path = peer_path(name, [scan.path])
    recorded = path.with_name(path.name + ".build.json")
    if rebuild or not path.exists():
        if path.is_dir():
            shutil.rmtree(path)
        path.unlink(missing_ok=True)
        seconds = build_peer(name, iter_docs([scan.path]), path, scan.articles)
        build = {"wall_s": seconds, "articles_per_s": scan.articles / seconds}
        recorded.write_text(json.dumps(build), encoding="utf-8")
    else:
        build = json.loads(recorded.read_text()) if recorded.exists() else {}
        print(f"reusing {path} (built in {build.get('wall_s', '?')} s)", flush=True)
    peer = PEERS[name](path)
    for case in cases:
        if case.q:
            started = time.perf_counter()
            peer.search(case.q, "and", limit=PEER_LIMIT)
            case.peers_ms[name] = (time.perf_counter() - started) * 1000
    return {"build": build, "index": str(path), "disk_mb": path_mb(path)}


def run_vnsearch(
    args: argparse.Namespace,
    scan: ArchiveScan,
    index_dir: Path | None,
    cases: list[Case],
    warmup: list[Case],
) -> dict[str, Any]:
    """Build (unless an index is given), serve and query: vnsearch's figures."""
    stem = scan.path.name.split(".")[0]
    build = None
    if index_dir is None:
        index_dir = args.scratch / f"{stem}-index"
        build = build_vnsearch(scan, index_dir, args.build_timeout)
    log = OUT_DIR / f"scale-serve-{stem}.log"
    server = serve_and_query(index_dir, cases, warmup, log, args.serve_timeout)
    warn_if_unsound(server, scan)
    return {"build": build, "index": str(index_dir), "server": server, "disk_mb": dir_mb(index_dir)}


def run_archive(args: argparse.Namespace, archive: Path, index_dir: Path | None) -> dict[str, Any]:
    loadavg_start = os.getloadavg()
    print(f"\nscanning {archive} ...", flush=True)
    scan = scan_archive(archive, args.sample, args.seed)
    cases = make_cases(scan.sample, args.n, args.seed)
    warmup = make_cases(scan.sample, args.warmup // 6 + 1, args.seed + 1)[: args.warmup]
    engines: dict[str, dict[str, Any]] = {}
    if "vnsearch" in args.engines:
        engines["vnsearch"] = run_vnsearch(args, scan, index_dir, cases, warmup)
    for name in ("tantivy", "fts5"):
        if name in args.engines:
            engines[name] = run_peer(name, scan, cases, args.rebuild_peers)
    for name, figures in engines.items():
        figures["disk_ratio"] = figures["disk_mb"] * 1e6 / scan.jsonl_bytes
        figures["kinds"] = kinds_of(cases, name)
    report: dict[str, Any] = {
        "date": datetime.now().isoformat(timespec="minutes"),
        "git": git_state(),
        "argv": sys.argv[1:],
        "cpus": os.cpu_count(),
        "loadavg": {"start": loadavg_start, "end": os.getloadavg()},
        "archive": {
            "path": str(archive),
            "name": archive.name,
            "articles": scan.articles,
            "file_bytes": archive.stat().st_size,
            "jsonl_bytes": scan.jsonl_bytes,
        },
        "queries": {"per_kind": args.n, "seed": args.seed, "warmup": len(warmup)},
        "engines": engines,
    }
    report["goals"] = goals(report) if "vnsearch" in engines else []
    report["cases"] = [vars(case) for case in cases]
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    add = parser.add_argument
    add("--archive", type=Path, action="append", required=True, help="JSONL(.gz); repeatable")
    add("--make", type=int, metavar="N", help="write each missing archive with N articles")
    add("--make-seed", type=int, default=1, help="make_archive.py --seed (default 1)")
    add("--index-dir", type=Path, action="append", help="an index per archive: skip the build")
    add("--scratch", type=Path, default=OUT_DIR / "scale", help="where built indexes are kept")
    add("--n", type=int, default=100, help="queries per kind (default 100)")
    add("--warmup", type=int, default=20, help="warm-up requests, another seed (default 20)")
    add("--seed", type=int, default=20260101, help="seed of the sample and the queries")
    add("--sample", type=int, default=5_000, help="records sampled for queries (default 5,000)")
    add("--engines", default=",".join(ENGINES), help="comma list of " + ", ".join(ENGINES))
    add("--rebuild-peers", action="store_true", help="rebuild cached peer indexes (build time)")
    add("--build-timeout", type=float, help="seconds before the vnsearch build is killed")
    add("--serve-timeout", type=float, default=900.0, help="seconds for serve to be ready")
    args = parser.parse_args(argv)
    args.engines = [e for e in args.engines.split(",") if e]
    unknown = set(args.engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines: {', '.join(sorted(unknown))}")
    if args.index_dir and len(args.index_dir) != len(args.archive):
        parser.error("give one --index-dir per --archive, in the same order")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for position, archive in enumerate(args.archive):
        if not archive.exists():
            if not args.make:
                print(f"{archive} does not exist (--make N writes it)", file=sys.stderr)
                return 2
            make_archive(archive, args.make, args.make_seed)
        index_dir = args.index_dir[position] if args.index_dir else None
        report = run_archive(args, archive, index_dir)
        print_table(report)
        out = OUT_DIR / f"scale-{archive.name.split('.')[0]}.json"
        out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"details: {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
