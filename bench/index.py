"""Indexing cost: plain Whoosh against `vnsearch index`, whole processes, same articles.

The first N articles of news-2025-2026 (default 20,000; --full for all 153,825) are written once
to a plain JSONL file in bench/out; then, R times each (default 3), alternating:

  plain     one Python process, Whoosh StandardAnalyzer, schema id/url/title/summary/body/
            source/category, one writer, one commit (what a first attempt would write)
  vnsearch  `vnsearch index -q --index-dir TMP FILE` with its defaults (batches, index_procs)

Each run is a subprocess into a fresh temporary directory: wall clock, CPU seconds (children
included, from wait4), peak RSS of the largest process and of the whole process tree (both
sampled from /proc every 0.2 s), and MB on disk. Medians are printed.

    .venv/bin/python bench/index.py              # 20,000 articles, 3 rounds
    .venv/bin/python bench/index.py --full --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

from common import NEWS, OUT_DIR, REPO_DIR, git_state, median, read_jsonl

VNSEARCH = REPO_DIR / ".venv" / "bin" / "vnsearch"
FULL = 153_825


def write_sample(n: int | None) -> tuple[Path, int]:
    """The first n articles of the news corpus as plain JSONL (cached in bench/out)."""
    name = f"indexing-news-{n or 'all'}.jsonl"
    path = OUT_DIR / name
    if path.exists():
        with path.open(encoding="utf-8") as handle:
            return path, sum(1 for _ in handle)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    count = 0
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for record in read_jsonl(NEWS):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
            if n is not None and count >= n:
                break
    tmp.rename(path)
    return path, count


def plain_worker(jsonl: str, index_dir: str) -> None:
    """The plain Whoosh build, run in its own process by this script."""
    from whoosh import index
    from whoosh.analysis import StandardAnalyzer
    from whoosh.fields import ID, STORED, TEXT, Schema

    schema = Schema(
        id=ID(stored=True, unique=True),
        url=STORED(),
        title=TEXT(analyzer=StandardAnalyzer(), stored=True),
        summary=TEXT(analyzer=StandardAnalyzer(), stored=True),
        body=TEXT(analyzer=StandardAnalyzer(), stored=True),
        source=ID(stored=True),
        category=ID(stored=True),
    )
    ix = index.create_in(index_dir, schema)
    writer = ix.writer()
    for record in read_jsonl(Path(jsonl)):
        doc = {"id": record["id"]}
        for name in ("url", "title", "summary", "body", "source", "category"):
            if record.get(name):
                doc[name] = record[name]
        writer.add_document(**doc)
    writer.commit()


def _tree_rss_kb(root: int) -> tuple[int, int]:
    """VmRSS summed over a process and its descendants, and the largest single one."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as handle:
                fields = dict(line.split(":", 1) for line in handle if ":" in line)
        except OSError:
            continue
        pid, ppid = int(entry), int(fields.get("PPid", "0").strip() or 0)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, largest, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        largest = max(largest, rss.get(pid, 0))
        todo.extend(children.get(pid, []))
    return total, largest


def measure(
    command: list[str], env: dict[str, str], timeout: float | None = None
) -> dict[str, float]:
    """Run a command to completion: wall s, CPU s, peak RSS of the largest process and of the
    whole process tree, both sampled from /proc (wait4's ru_maxrss is useless here: a forked
    child inherits the parent's high-water mark). The command runs in its own process group,
    killed whole after `timeout` seconds or when this process is interrupted."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    peak = [0, 0]
    done = threading.Event()
    timed_out = threading.Event()

    def expire() -> None:
        timed_out.set()
        _kill_group(process.pid)

    timer = threading.Timer(timeout, expire) if timeout else None

    def sample() -> None:
        while not done.wait(0.2):
            total, largest = _tree_rss_kb(process.pid)
            peak[0], peak[1] = max(peak[0], total), max(peak[1], largest)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    if timer is not None:
        timer.start()
    assert process.stderr is not None
    try:
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    except BaseException:
        _kill_group(process.pid)
        process.wait()
        raise
    finally:
        if timer is not None:
            timer.cancel()
        done.set()
        sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if timed_out.is_set():
        raise RuntimeError(f"{command[0]} did not finish in {timeout} s: killed")
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({process.returncode}): {errors[-2000:]!r}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_rss_mb": peak[1] / 1024,
        "tree_rss_mb": peak[0] / 1024,
    }


def _kill_group(pid: int) -> None:
    """SIGKILL a process group started by `measure` (helpers it forked included)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def doc_count(index_dir: Path) -> int:
    from whoosh import index

    ix = index.open_dir(str(index_dir))
    try:
        return int(ix.doc_count())
    finally:
        ix.close()


def one_run(kind: str, jsonl: Path, env: dict[str, str], scratch: Path) -> dict[str, float]:
    target = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=scratch))
    try:
        if kind == "plain":
            command = [sys.executable, __file__, "--plain-worker", str(jsonl), str(target)]
        else:
            command = [str(VNSEARCH), "index", "-q", "--index-dir", str(target), str(jsonl)]
        figures = measure(command, env)
        figures["disk_mb"] = dir_mb(target)
        figures["docs"] = doc_count(target)
        return figures
    finally:
        shutil.rmtree(target, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20_000, help="articles (default 20,000)")
    parser.add_argument("--full", action="store_true", help=f"all {FULL:,} news articles")
    parser.add_argument("--repeat", "-r", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--procs", type=int, help="VNSEARCH_INDEX_PROCS for vnsearch index")
    parser.add_argument("--only", choices=("plain", "vnsearch"), help="run one side only")
    parser.add_argument("--scratch", type=Path, help="where the temporary indexes go")
    parser.add_argument("--plain-worker", nargs=2, metavar=("JSONL", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.plain_worker:
        plain_worker(*args.plain_worker)
        return 0
    jsonl, count = write_sample(None if args.full else args.n)
    env = dict(os.environ)
    if args.procs is not None:
        env["VNSEARCH_INDEX_PROCS"] = str(args.procs)
    kinds = [args.only] if args.only else ["plain", "vnsearch"]
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    procs = env.get("VNSEARCH_INDEX_PROCS", "default")
    print(f"{count:,} articles from {jsonl.name}; {args.repeat} rounds; index_procs={procs}")
    for round_no in range(1, args.repeat + 1):
        for kind in kinds if round_no % 2 else kinds[::-1]:
            figures = one_run(kind, jsonl, env, args.scratch or Path(tempfile.gettempdir()))
            runs[kind].append(figures)
            print(
                f"  round {round_no} {kind:<9} {figures['wall_s']:7.1f} s wall "
                f"{figures['cpu_s']:7.1f} s cpu {figures['disk_mb']:7.1f} MB "
                f"rss {figures['max_rss_mb']:.0f}/{figures['tree_rss_mb']:.0f} MB "
                f"({figures['docs']:,} docs)",
                flush=True,
            )

    medians = {k: {f: median([r[f] for r in v]) for f in v[0]} for k, v in runs.items()}
    print(f"\nmedians of {args.repeat} ({date.today().isoformat()}, {git_state()}):")
    print(
        f"{'':<10}{'articles/s':>11}{'wall s':>9}{'cpu s':>9}{'disk MB':>9}"
        f"{'max RSS MB':>12}{'tree RSS MB':>13}"
    )
    for kind, m in medians.items():
        print(
            f"{kind:<10}{count / m['wall_s']:>11,.0f}{m['wall_s']:>9.1f}{m['cpu_s']:>9.1f}"
            f"{m['disk_mb']:>9.1f}{m['max_rss_mb']:>12.0f}{m['tree_rss_mb']:>13.0f}"
        )
    if len(medians) == 2:
        plain, ours = medians["plain"], medians["vnsearch"]
        print(
            f"{'ratio':<10}{plain['wall_s'] / ours['wall_s']:>10.2f}x"
            f"{ours['wall_s'] / plain['wall_s']:>8.2f}x{ours['cpu_s'] / plain['cpu_s']:>8.2f}x"
            f"{ours['disk_mb'] / plain['disk_mb']:>8.2f}x"
            f"{ours['max_rss_mb'] / plain['max_rss_mb']:>11.2f}x"
            f"{ours['tree_rss_mb'] / plain['tree_rss_mb']:>12.2f}x   (vnsearch / plain)"
        )
    report = {
        "date": date.today().isoformat(),
        "git": git_state(),
        "articles": count,
        "repeat": args.repeat,
        "index_procs": procs,
        "runs": runs,
        "medians": medians,
    }
    suffix = (f"-{args.only}" if args.only else "") + (
        f"-procs{args.procs}" if args.procs is not None else ""
    )
    out = OUT_DIR / f"indexing-{count}{suffix}.json"
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"details: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
