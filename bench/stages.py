"""Where a query's time goes, step by step, without a profiler's overhead.

scale.py's query kinds (bench/scale_queries.py) run in process on an index, one at a time,
after serve's warm-up (search.warmup.warm_caches); each step of a request is timed by
wrapping the function that runs it, and the table gives each step's median and mean over
the queries of a kind (a step a query skips counts 0 for it). The steps nest: `execute`
holds matching and ranking, `_holders_first` and `_scored_and_reranked` hold scoring and
the rerank, `holders_among` (the remembered-run check) sits in both ranking paths.

    .venv/bin/python bench/stages.py --archive ../bench/archive-1m.jsonl.gz \
        --index-dir <the 1M index> --kinds title4_folded,title8_accented --n 60

Run it on a warm page cache (read the index files once, as serve's read-ahead does): a
stored article read from disk costs 30 times one read from memory on this machine.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scale_queries import KINDS, make_cases, scan_archive

import search.engine as engine
import search.execute.passages as passages
import search.execute.ranking as ranking
import search.execute.retrieve as retrieve
from search.engine import SearchRequest, run_search
from search.index.store import open_index
from search.warmup import warm_caches

# (module, function): the steps of search.engine.run_search, search.execute.retrieve and
# search.execute.ranking, wrapped where the module that calls them looks them up
STEPS = [
    (engine, "execute"),
    (engine, "_hits"),
    (engine, "_facets"),
    (engine, "did_you_mean"),
    (retrieve, "match"),
    (ranking, "champions"),
    (ranking, "bound_candidates"),
    (ranking, "ranking_query"),
    (ranking, "run_holders"),
    (ranking, "_holders_first"),
    (ranking, "_scored_and_reranked"),
    (ranking, "score"),
    (ranking, "score_apart"),  # the holders and the others, in one pass
    (ranking, "rerank_window"),
    (ranking, "rerank_windows"),  # a listed run's two windows, in one pass
    (ranking, "holders_among"),  # as _holders_first calls it
    (passages, "holders_among"),  # as scan_for_run calls it
]


def timed(spent: dict[str, float], name: str, step: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(step)
    def run(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return step(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + (time.perf_counter() - started) * 1000

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, required=True, help="make_archive.py's file")
    parser.add_argument("--index-dir", required=True)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--n", type=int, default=30, help="queries of each kind")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--warm-terms", type=int, default=1000, help="serve's default")
    args = parser.parse_args()
    spent: dict[str, float] = {}
    for module, name in STEPS:
        setattr(module, name, timed(spent, name, getattr(module, name)))
    scan = scan_archive(args.archive, 5000, args.seed)
    kinds = args.kinds.split(",")
    cases = [c for c in make_cases(scan.sample, args.n, args.seed) if c.kind in kinds]
    index = open_index(args.index_dir)
    warm_caches(index, args.warm_terms)
    rows: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    with index.searcher() as searcher:
        for case in make_cases(scan.sample, 3, args.seed + 1):  # first-query costs
            run_search(searcher, SearchRequest.from_params(**_text(case.params)))
        for case in cases:
            spent.clear()
            started = time.perf_counter()
            run_search(searcher, SearchRequest.from_params(**_text(case.params)))
            spent["total"] = (time.perf_counter() - started) * 1000
            rows[case.kind].append(dict(spent))
    for kind, measured in rows.items():
        print(f"\n{kind}: {len(measured)} queries, ms a query (median / mean)")
        names = sorted({n for row in measured for n in row}, key=lambda n: -_mean(measured, n))
        for name in names:
            values = [row.get(name, 0.0) for row in measured]
            print(f"  {name:22} {statistics.median(values):7.1f} {statistics.mean(values):7.1f}")


def _text(params: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in params.items()}


def _mean(rows: list[dict[str, float]], name: str) -> float:
    return statistics.mean(row.get(name, 0.0) for row in rows)


if __name__ == "__main__":
    main()
