"""scale.py's figures per engine, its goals (the archive-scale issue's, for 1M articles) and
its printed table."""

from __future__ import annotations

import math
from typing import Any

from common import median, percentile
from scale_queries import KINDS, Case

ENGINES = ("vnsearch", "tantivy", "fts5")
P50_GOAL_MS = 50.0
P95_GOAL_MS = {kind: 250.0 for kind in KINDS} | {"browse": 100.0}
BUILD_GOAL_PER_S = 1_000.0
PEAK_GOAL_GB = 6.0
DISK_GOAL_RATIO = 1.5
PSS_GOAL_GB = 6.0


def latency(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": median(values),
        "p95_ms": percentile(values, 95),
        "p99_ms": percentile(values, 99),
        "max_ms": max(values) if values else float("nan"),
    }


def kinds_of(cases: list[Case], engine: str) -> dict[str, dict[str, float]]:
    """Latency per kind of one engine's answers (vnsearch: the 200s over HTTP)."""
    figures = {}
    for kind in KINDS:
        if engine == "vnsearch":
            values = [c.ms for c in cases if c.kind == kind and c.status == 200]
        else:
            values = [c.peers_ms[engine] for c in cases if c.kind == kind and engine in c.peers_ms]
        if values:
            figures[kind] = latency(values)
    return figures


def goals(report: dict[str, Any]) -> list[dict[str, Any]]:
    """vnsearch's figures against the issue's goals: figure, value, goal, pass."""
    ours = report["engines"]["vnsearch"]
    build = ours.get("build") or {}
    rows: list[tuple[str, float | None, str, float]] = [
        ("build articles/s", build.get("articles_per_s"), ">=", BUILD_GOAL_PER_S),
        ("build peak tree GB", build.get("peak_tree_gb"), "<=", PEAK_GOAL_GB),
        ("disk / JSONL", ours.get("disk_ratio"), "<=", DISK_GOAL_RATIO),
    ]
    for kind, figure in ours.get("kinds", {}).items():
        rows.append((f"{kind} p50 ms", figure["p50_ms"], "<=", P50_GOAL_MS))
        rows.append((f"{kind} p95 ms", figure["p95_ms"], "<=", P95_GOAL_MS[kind]))
    server = ours.get("server") or {}
    pss = [server.get(k, {}).get("pss_mb") for k in ("memory_ready", "memory_after")]
    pss_known = [v / 1024 for v in pss if v is not None]
    rows.append(("serving PSS GB", max(pss_known) if pss_known else None, "<=", PSS_GOAL_GB))
    checked = []
    for label, value, op, goal in rows:
        passed = None  # not measured (a reused index has no build figures)
        if value is not None and not math.isnan(value):
            passed = value >= goal if op == ">=" else value <= goal
        checked.append({"figure": label, "value": value, "goal": f"{op} {goal:g}", "pass": passed})
    return checked


def _num(value: float | None, digits: int = 0, suffix: str = "") -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}{suffix}"


def _row(label: str, cells: list[str]) -> str:
    head = f"{label:<10}{cells[0]:>9}{cells[1]:>11}{cells[2]:>9}{cells[3]:>8}"
    return head + "".join(f"{cell:>17}" for cell in cells[4:])


def _engine_cells(figures: dict[str, Any]) -> list[str]:
    build = figures.get("build") or {}
    cells = [
        _num(build.get("wall_s")),
        _num(build.get("articles_per_s")),
        _num(build.get("peak_tree_gb"), 1),
        _num(figures.get("disk_ratio"), 2, "x"),
    ]
    for kind in KINDS:
        figure = figures.get("kinds", {}).get(kind)
        cells.append(f"{_num(figure['p50_ms'], 1)}/{_num(figure['p95_ms'], 1)}" if figure else "-")
    return cells


def _verdict(passed: bool | None) -> str:
    return "-" if passed is None else "ok" if passed else "FAIL"


def _verdicts(checked: list[dict[str, Any]]) -> list[str]:
    verdict = {row["figure"]: _verdict(row["pass"]) for row in checked}
    cells = [
        "",
        verdict["build articles/s"],
        verdict["build peak tree GB"],
        verdict["disk / JSONL"],
    ]
    for kind in KINDS:
        p50, p95 = verdict.get(f"{kind} p50 ms"), verdict.get(f"{kind} p95 ms")
        cells.append(f"{p50}/{p95}" if p50 else "-")
    return cells


def print_table(report: dict[str, Any]) -> None:
    """One table per archive: a row per engine, the goals, and vnsearch's pass/fail."""
    archive = report["archive"]
    print(
        f"\n{archive['name']}: {archive['articles']:,} articles, "
        f"{archive['jsonl_bytes'] / 1e6:,.0f} MB JSONL ({report['date']}, {report['git']}); "
        f"p50/p95 ms per kind, {report['queries']['per_kind']} queries each"
    )
    print(_row("engine", ["build s", "articles/s", "peak GB", "disk", *KINDS]))
    for engine in ENGINES:
        if engine in report["engines"]:
            print(_row(engine, _engine_cells(report["engines"][engine])))
    goal_cells = [
        "",
        f">={BUILD_GOAL_PER_S:,.0f}",
        f"<={PEAK_GOAL_GB:g}",
        f"<={DISK_GOAL_RATIO:g}x",
        *(f"<={P50_GOAL_MS:g}/<={P95_GOAL_MS[kind]:g}" for kind in KINDS),
    ]
    print(_row("goal (1M)", goal_cells))
    if "vnsearch" in report["engines"]:
        print(_row("vnsearch", _verdicts(report["goals"])))
        server = report["engines"]["vnsearch"].get("server") or {}
        ready, after = server.get("memory_ready", {}), server.get("memory_after", {})
        pss = next(row for row in report["goals"] if row["figure"] == "serving PSS GB")
        print(
            f"serving PSS ({ready.get('processes', '?')} processes): after warm-up "
            f"{_num(ready.get('pss_mb'))} MB, after the queries {_num(after.get('pss_mb'))} MB "
            f"(goal <= {PSS_GOAL_GB:g} GB: {_verdict(pss['pass'])}); "
            f"ready in {_num(server.get('startup_s'), 1)} s; "
            f"errors {server.get('errors', 0)}, partial {server.get('partial', 0)}"
        )
    print(
        "peers: in process, AND of the words, top 20, no facets; newest in relevance order "
        "(their indexes hold no dates); peak GB not measured"
    )
