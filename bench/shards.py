"""One index against the same articles in shards on a Dask LocalCluster: same answers? how fast?

    .venv/bin/python bench/shards.py --single ../bench/full156k-new \\
        --sharded bench/out/shards156k --cluster local:2 --n 200

The sharded index is built beforehand from the same files in the same order:

    .venv/bin/vnsearch index -q --shards 2 --index-dir bench/out/shards156k \\
        ../shared/corpus/news-2025-2026.jsonl.gz ../shared/corpus/dantri-2020-2021.jsonl.gz

The queries are bench/query.py's mix (from titles; folded, accented, filtered, sorted, browse,
paged), run in process one at a time after a warm-up: first on the single index, then through
the sharded engine. Reported: how many have the same total, the same facet counts and the same
top 10 (ids in order); p50/p95 of both; and, for the capacity model, each shard searched alone
in this process (its own statistics: the time a worker spends per request on one shard).
Writes bench/out/shards.json.

With --archive FILE (a make_archive.py file the indexes were built from), the queries are
scale.py's kinds instead, --n of each, and p50/p95 are printed per kind too:

    .venv/bin/python bench/shards.py --single <1M index> --sharded <2 shards of it> \
        --cluster local:2 --archive ../bench/archive-1m.jsonl.gz --n 30

Before measuring, every index is readied as `vnsearch serve` readies it, and the shard actors
ready theirs the same way (search.warmup: derived files written, files read ahead into the
page cache, the caches of each field's most frequent terms warmed), so that neither side
pays a one-time cost inside the measurement.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from common import DANTRI, NEWS, OUT_DIR, REPO_DIR, git_state, load_docs, median, percentile
from query import make_mix, mix_request
from scale_queries import make_cases, scan_archive

sys.path.insert(0, str(REPO_DIR))

from search.engine import SearchRequest, run_search  # noqa: E402
from search.index.shard_layout import read_layout  # noqa: E402
from search.index.sidecar import MIN_SIDECAR_DOCS  # noqa: E402
from search.index.store import ArchiveIndex, open_index  # noqa: E402
from search.query.weights import weighting  # noqa: E402
from search.settings import Settings  # noqa: E402
from search.warmup import warm_caches  # noqa: E402


def request_for(params: dict[str, Any]) -> SearchRequest:
    request: SearchRequest = mix_request(SearchRequest, params)
    return request


def timed(run: Any, request: SearchRequest) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    result = run(request)
    return (time.perf_counter() - started) * 1000, result


def measure(run: Any, cases: list[dict[str, Any]], warmup: list[dict[str, Any]]) -> list[Any]:
    for params in warmup:
        run(request_for(params))
    return [timed(run, request_for(params)) for params in cases]


def served(path: str) -> ArchiveIndex:
    """The index readied as `vnsearch serve` readies it: derived files written, files read
    ahead, caches warmed (search.warmup, the settings' defaults)."""
    index = open_index(path)
    warm_caches(index, Settings().serve_warm_terms, MIN_SIDECAR_DOCS, 50)
    return index


def kind_lines(
    kinds: list[str], single: list[Any], sharded: list[Any]
) -> dict[str, dict[str, float]]:
    """p50/p95 of each query kind, single index against sharded."""
    lines = {}
    for kind in sorted(set(kinds)):
        a = [ms for k, (ms, _) in zip(kinds, single, strict=True) if k == kind]
        b = [ms for k, (ms, _) in zip(kinds, sharded, strict=True) if k == kind]
        lines[kind] = {
            "single_p50": median(a),
            "single_p95": percentile(a, 95),
            "sharded_p50": median(b),
            "sharded_p95": percentile(b, 95),
        }
        print(
            f"{kind:16s} single {median(a):7.1f} / {percentile(a, 95):7.1f} ms   "
            f"sharded {median(b):7.1f} / {percentile(b, 95):7.1f} ms   "
            f"ratio {median(b) / median(a):.2f}"
        )
    return lines


def summary(label: str, times: list[float]) -> dict[str, float]:
    line = {"p50": median(times), "p95": percentile(times, 95), "mean": sum(times) / len(times)}
    print(f"{label}: p50 {line['p50']:.1f} ms, p95 {line['p95']:.1f} ms, mean {line['mean']:.1f}")
    return line


def sort_key(hit: dict[str, Any], by_date: bool) -> Any:
    return hit["published"] if by_date else hit["score"]


def same_ties_aside(a: list[dict[str, Any]], b: list[dict[str, Any]], by_date: bool) -> bool:
    """The same top 10 but for the order of hits with equal keys (score, or publication time
    in date order) and which of the hits tied at the 10th place made the cut."""
    keys_a = [sort_key(h, by_date) for h in a[:10]]
    if keys_a != [sort_key(h, by_date) for h in b[:10]]:
        return False
    last = keys_a[-1] if keys_a else None
    for key in set(keys_a) - {last}:
        ids_a = {h["id"] for h in a[:10] if sort_key(h, by_date) == key}
        if ids_a != {h["id"] for h in b[:10] if sort_key(h, by_date) == key}:
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--single", type=Path, required=True)
    parser.add_argument("--sharded", type=Path, required=True)
    parser.add_argument("--cluster", default="local:2")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--archive", type=Path, help="scale.py's query kinds from this file")
    args = parser.parse_args(argv)

    kinds: list[str] = []
    if args.archive:
        sample = scan_archive(args.archive, 2000, args.seed).sample
        made = make_cases(sample, args.n, args.seed)
        kinds = [case.kind for case in made]
        cases = [case.params for case in made]
        warmup = [case.params for case in make_cases(sample, 3, args.seed + 1)]
    else:
        docs = load_docs([NEWS, DANTRI])
        cases = [case.params for case in make_mix(docs, args.n, args.seed)]
        warmup = [case.params for case in make_mix(docs, args.warmup, args.seed + 1)]
        del docs
    single_searcher = served(str(args.single)).searcher(weighting=weighting())
    single = measure(lambda r: run_search(single_searcher, r), cases, warmup)
    single_searcher.close()

    from search.cluster.connect import close_engine, sharded_engine

    engine = sharded_engine(str(args.sharded), Settings(cluster=args.cluster))
    try:  # each actor readies its shard as `serve` does: wait until it is done
        engine.each_shard(lambda actor: actor.sidecars_written(), time.monotonic() + 3600)
        sharded = measure(engine.search, cases, warmup)
    finally:
        close_engine(engine)

    per_shard = []
    for path in read_layout(str(args.sharded)).shard_dirs():
        searcher = served(path).searcher(weighting=weighting())
        per_shard.append(measure(lambda r, s=searcher: run_search(s, r), cases, warmup))
        searcher.close()

    same_total = same_facets = same_top = same_tied = 0
    differing = []
    for params, (_, a), (_, b) in zip(cases, single, sharded, strict=True):
        top_a = [h["id"] for h in a["hits"][:10]]
        top_b = [h["id"] for h in b["hits"][:10]]
        by_date = params.get("sort", "relevance") != "relevance" or not params.get("q")
        tied = same_ties_aside(a["hits"], b["hits"], by_date)
        same_total += a["total"] == b["total"]
        same_facets += a["facets"] == b["facets"]
        same_top += top_a == top_b
        same_tied += tied
        if a["total"] != b["total"] or a["facets"] != b["facets"] or not tied:
            differing.append({"params": params, "totals": [a["total"], b["total"]]})
    n = len(cases)
    print(
        f"{n} queries: same total {same_total}, same facets {same_facets}, "
        f"same top 10 {same_top} ({same_tied} ties aside)"
    )
    by_kind = kind_lines(kinds, single, sharded) if kinds else {}
    report = {
        "git": git_state(),
        "archive": str(args.archive) if args.archive else None,
        "by_kind": by_kind,
        "cluster": args.cluster,
        "n": n,
        "same_total": same_total,
        "same_facets": same_facets,
        "same_top10": same_top,
        "same_top10_ties_aside": same_tied,
        "single": summary("single index", [ms for ms, _ in single]),
        "sharded": summary(f"sharded on {args.cluster}", [ms for ms, _ in sharded]),
        "per_shard": [
            summary(f"shard {i:02d} alone", [ms for ms, _ in part])
            for i, part in enumerate(per_shard)
        ],
        "differing": differing,
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "shards.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
