"""load.py --during-import: the serving index copied, imported into, searched meanwhile."""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from common import NEWS, REPO_DIR
from load_clients import Measurement, Req, cpu_seconds, drive, latency_summary
from server import VNSEARCH, Server

IMPORT_ID_PREFIX = "loadtest-"


def copy_live_index(index_dir: Path, into: Path) -> Path:
    """Copy the live index (the `current` build after a rebuild, else the dir) to `into`."""
    sys.path.insert(0, str(REPO_DIR))
    from search.index.durability import live_dir

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
