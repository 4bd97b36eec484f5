"""Growth: small imports into a live archive while it serves, then a big one.

The archive-scale goals for an archive that keeps growing, measured on a copy of an index:

1. Idle: `vnsearch serve` (its defaults) on the copy; scale.py's query kinds one at a time.
2. Small imports: --imports runs of `vnsearch index -q` with --import-size articles each, taken
   from the archive with new ids and a marker word in their titles. After each import command
   returns (its commit done), /api/search for the marker is polled until it finds them all:
   "searchable after" is that wait.
3. After: the same queries again; their p50 against the idle p50 (the small segments the
   imports left against the merged index).
4. During a big import: --big-import articles in one `vnsearch index` run; the queries cycle
   while it runs; their p95 against the idle p95.

The copy hard-links the segment files and the postings sidecars (neither is ever rewritten: a
merge writes new files) and copies the rest, so a 1M index costs seconds to copy. Figures in
bench/out/growth.json.

    .venv/bin/python bench/growth.py --archive ../bench/archive-1m.jsonl.gz --index-dir IDX
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime
from pathlib import Path
from typing import Any

from common import OUT_DIR, REPO_DIR, git_state, percentile
from scale import ask
from scale_queries import Case, make_cases, scan_archive
from server import VNSEARCH, Server, exit_on_sigterm, get

POLL_S = 0.02
SEARCHABLE_TIMEOUT_S = 60.0


def link_copy(index_dir: Path, into: Path) -> Path:
    """A copy of the live index: segment files hard-linked, the small files copied."""
    sys.path.insert(0, str(REPO_DIR))
    from search.index.durability import live_dir

    source = Path(live_dir(index_dir))
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    for path in source.rglob("*"):
        target = into / path.relative_to(source)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        elif path.suffix in (".seg", ".postings"):  # written once, replaced by a rename
            os.link(path, target)
        else:
            shutil.copy2(path, target)
    return into


def write_batch(archive: Path, skip: int, count: int, tag: str, out: Path) -> None:
    """`count` archive records after the first `skip`, with ids and a title word of their own."""
    with gzip.open(archive, "rt", encoding="utf-8") as source, out.open("w") as target:
        for number, line in enumerate(source):
            if number < skip:
                continue
            if number >= skip + count:
                break
            record = json.loads(line)
            record["id"] = f"{tag}-{record['id']}"
            record["title"] = f"{record.get('title', '')} {tag}"
            target.write(json.dumps(record, ensure_ascii=False) + "\n")


def found(server: Server, word: str) -> int:
    query = urllib.parse.urlencode({"q": word})
    status, body = get(server.host, server.port, f"/api/search?{query}", timeout=30.0)
    return int(json.loads(body)["total"]) if status == 200 else -1


def run_import(index_dir: Path, batch: Path) -> subprocess.CompletedProcess[str]:
    command = [str(VNSEARCH), "index", "-q", "--index-dir", str(index_dir), str(batch)]
    return subprocess.run(command, capture_output=True, text=True, check=True)


def small_imports(args: argparse.Namespace, server: Server, index: Path, work: Path) -> list[Any]:
    """Each import's wall time and how long after it returned its articles were all found."""
    rows = []
    for number in range(args.imports):
        tag = f"zzgrowth{number:02d}x"
        batch = work / f"{tag}.jsonl"
        write_batch(args.archive, number * args.import_size, args.import_size, tag, batch)
        started = time.perf_counter()
        run_import(index, batch)
        returned = time.perf_counter()
        while found(server, tag) < args.import_size:
            if time.perf_counter() - returned > SEARCHABLE_TIMEOUT_S:
                raise SystemExit(f"{tag}: not searchable after {SEARCHABLE_TIMEOUT_S} s")
            time.sleep(POLL_S)
        searchable = time.perf_counter() - returned
        rows.append({"import_s": returned - started, "searchable_s": searchable})
        print(f"  import {number + 1}: {returned - started:.1f} s, found {searchable:.2f} s later")
    return rows


def timed(server: Server, cases: list[Case]) -> list[float]:
    for case in cases:
        ask(server, case)
    failed = [c for c in cases if c.status != 200]
    if failed:
        raise SystemExit(f"{len(failed)} queries failed, e.g. {failed[0].params}")
    return [case.ms for case in cases]


def during_big_import(
    args: argparse.Namespace, server: Server, index: Path, work: Path, cases: list[Case]
) -> dict[str, Any]:
    """The queries cycled while one big import runs."""
    tag = "zzgrowthbigx"
    batch = work / f"{tag}.jsonl"
    write_batch(args.archive, args.imports * args.import_size, args.big_import, tag, batch)
    command = [str(VNSEARCH), "index", "-q", "--index-dir", str(index), str(batch)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    latencies: list[float] = []
    while process.poll() is None:
        for case in cases:
            if process.poll() is not None:
                break
            ask(server, case)
            if case.status != 200:
                raise SystemExit(f"query failed during the import: {case.params}")
            latencies.append(case.ms)
    if process.returncode != 0:
        raise SystemExit(
            f"the big import failed: {process.stderr.read() if process.stderr else ''}"
        )
    return {"import_s": time.perf_counter() - started, "latencies": latencies}


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies),
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
    }


def print_report(report: dict[str, Any]) -> None:
    idle, after, busy = report["idle"], report["after"], report["during_big_import"]
    waits = [row["searchable_s"] for row in report["imports"]]
    imports = [row["import_s"] for row in report["imports"]]
    print(f"\n{report['documents_before']:,} articles; {len(waits)} imports", flush=True)
    print("| measure | figure | goal |\n| --- | ---: | --- |")
    print(
        f"| import of {report['import_size']} articles, p50 s | {percentile(imports, 50):.1f} | |"
    )
    print(f"| searchable after the import returned, max s | {max(waits):.2f} | <= 2 |")
    print(f"| idle p50 / p95 ms | {idle['p50']:.0f} / {idle['p95']:.0f} | |")
    ratio = after["p50"] / idle["p50"]
    print(f"| after the imports p50 ms (x idle) | {after['p50']:.0f} ({ratio:.2f}x) | <= 1.25x |")
    ratio = busy["p95"] / idle["p95"]
    print(
        f"| during a {report['big_import']:,}-article import p95 ms (x idle) "
        f"| {busy['p95']:.0f} ({ratio:.2f}x) | <= 2x |"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    add = parser.add_argument
    add("--archive", type=Path, required=True, help="the archive's JSONL.gz (queries, imports)")
    add("--index-dir", type=Path, required=True, help="the index to copy (left untouched)")
    add("--work", type=Path, default=OUT_DIR / "growth", help="where the copy is made")
    add("--imports", type=int, default=30, help="small imports (default 30)")
    add("--import-size", type=int, default=100, help="articles per small import (default 100)")
    add("--big-import", type=int, default=20_000, help="articles of the big import")
    add("--n", type=int, default=20, help="queries per kind (default 20)")
    add("--seed", type=int, default=20260101)
    add("--sample", type=int, default=2_000, help="records sampled for queries")
    add("--serve-timeout", type=float, default=900.0, help="seconds for serve to be ready")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    print(f"scanning {args.archive} ...", flush=True)
    cases = make_cases(scan_archive(args.archive, args.sample, args.seed).sample, args.n, args.seed)
    index = link_copy(args.index_dir, args.work / "index")
    report: dict[str, Any] = {"date": datetime.now().isoformat(timespec="minutes")}
    report.update(git_state=git_state(), argv=sys.argv[1:], loadavg_start=os.getloadavg())
    report.update(import_size=args.import_size, big_import=args.big_import)
    with (
        tempfile.TemporaryDirectory() as work,
        Server(
            index, None, None, OUT_DIR / "growth-serve.log", startup_timeout=args.serve_timeout
        ) as server,
    ):
        report["documents_before"] = int(server.health()["documents"])
        print(f"idle: {len(cases)} queries ...", flush=True)
        report["idle"] = summary(timed(server, cases))
        report["imports"] = small_imports(args, server, index, Path(work))
        report["after"] = summary(timed(server, cases))
        print(f"during a {args.big_import:,}-article import ...", flush=True)
        busy = during_big_import(args, server, index, Path(work), cases)
        report["during_big_import"] = summary(busy.pop("latencies")) | busy
        report["memory_end"] = server.memory_mb()
    report["loadavg_end"] = os.getloadavg()
    print_report(report)
    out = OUT_DIR / "growth.json"
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"details: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
