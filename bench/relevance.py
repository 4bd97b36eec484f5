"""Known-item evaluation: does the article a query was made from come back in the top 10?

Queries are generated at run time from a fixed-seed sample of the corpus (news-2025-2026 +
dantri-2020-2021), in five styles:

  slug4    the first 4 words of the article's accent-free URL slug
  slug7    the first 7 words of the slug
  nfd      the title typed in NFD with the other tone style (hòa <-> hoà, thủy <-> thuỷ);
           only titles with at least one oa/oe/uy open syllable are sampled
  half     the title with the diacritics removed from every other word
  passage  6 consecutive accent-free words from an article body (dantri: the news records
           have none), as the issue's "6-word accent-free body passages"

Optional styles (`--styles`, see their makers): middle, typo, words, folded, never tuned on;
extra and extra3 (title words plus one the article lacks), on which the near-miss rule of
search.execute.retrieve was tuned (seeds 20260101 and 1: check it on others); and summary,
6 consecutive
accent-free words of a news summary. RSS summaries repeat themselves
("Toàn cảnh 17h", election boilerplate): that style has runs held word for word by hundreds
of articles.

Besides hit@10 over every query, the report gives it over the "answerable" queries alone:
those whose every word occurs in the article's own title, summary or body. A slug can carry
words the article no longer has (rewritten headlines; Dân Trí records whose title is a
photo caption); no engine that indexes the text can find those.

Each query runs on vnsearch (in-process, `run_search`), SQLite FTS5 and tantivy (strict AND
and OR modes; the table shows both and the better one per style, as the issue does), all over
the same articles. vnsearch's non-first ranks go to bench/out/relevance-misses.jsonl.

    .venv/bin/python bench/relevance.py --n 200
    .venv/bin/python bench/relevance.py --n 200 --seed 20260101,1,2,3   # 800 per style
    .venv/bin/python bench/relevance.py --explain "gia vang hom nay" --target ID
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from common import (
    DANTRI,
    DEFAULT_INDEX_DIR,
    NEWS,
    OUT_DIR,
    REPO_DIR,
    git_state,
    load_docs,
    median,
    open_peer,
)
from explain import explain
from known_items import EXTRA_STYLES, STYLES, Query, make_queries, rank_of

sys.path.insert(0, str(REPO_DIR))

ENGINES = ("vnsearch", "fts5", "tantivy")
TOP = 10
# Goals from the issue (hit@10 per style, then MRR): peers off the shelf, and vnsearch's target.
PEER_GOALS = {"slug4": 84, "slug7": 97, "nfd": 97, "half": 98, "passage": 58, "mrr": 0.64}
TARGETS = {"slug4": 93, "slug7": 98, "nfd": 98, "half": 98, "passage": 99, "mrr": 0.94}

# --- engines -------------------------------------------------------------------------------


class Vnsearch:
    """vnsearch in-process: one searcher for the whole run, as the web app keeps one."""

    def __init__(self, index_dir: Path) -> None:
        from search.engine import SearchRequest, run_search
        from search.errors import SearchError
        from search.index.store import open_index
        from search.query.weights import weighting

        self.refused = SearchError
        self.index = open_index(index_dir)
        self.searcher = self.index.searcher(weighting=weighting())
        self.request = SearchRequest
        self.run = run_search

    def search(self, text: str, per_page: int = TOP) -> list[dict[str, Any]]:
        request = self.request.from_params(q=text, per_page=per_page, facets=False)
        return list(self.run(self.searcher, request)["hits"])

    def has(self, doc_id: str) -> bool:
        return self.searcher.document_number(id=doc_id) is not None

    def doc_count(self) -> int:
        return int(self.searcher.doc_count())


def run_engines(queries: list[Query], engines: dict[str, Any], progress: bool = True) -> None:
    started = time.perf_counter()
    for done, query in enumerate(queries, 1):
        for name, engine in engines.items():
            if name == "vnsearch":
                t0 = time.perf_counter()
                try:
                    hits = engine.search(query.text)
                except engine.refused as error:  # a refused query is a miss, as a user sees it
                    query.error = f"{type(error).__name__}: {error}"
                    hits = []
                query.ms[name] = (time.perf_counter() - t0) * 1000
                ids = [h["id"] for h in hits]
                query.ranks[name] = rank_of(ids, query.target)
                query.top = ids[:3]
                continue
            for mode in ("and", "or"):
                t0 = time.perf_counter()
                ids = engine.search(query.text, mode)
                query.ms[f"{name}-{mode}"] = (time.perf_counter() - t0) * 1000
                query.ranks[f"{name}-{mode}"] = rank_of(ids, query.target)
        if progress and (done % 100 == 0 or done == len(queries)):
            elapsed = time.perf_counter() - started
            spent = Counter[str]()
            for q in queries[:done]:
                spent.update(q.ms)
            where = ", ".join(f"{k} {v / 1000:.0f}" for k, v in spent.items())
            print(
                f"  {done}/{len(queries)} queries, {elapsed:.0f} s ({where})",
                file=sys.stderr,
                flush=True,
            )


# --- report --------------------------------------------------------------------------------


def hit_rate(queries: list[Query], column: str) -> float:
    return 100.0 * sum(q.ranks.get(column) is not None for q in queries) / len(queries)


def mrr(queries: list[Query], column: str) -> float:
    return sum(1.0 / (q.ranks.get(column) or float("inf")) for q in queries) / len(queries)


def mrr_in(queries: list[Query], column_of: dict[str, str]) -> float:
    """MRR with each query's rank read from its style's column."""
    ranks = (q.ranks.get(column_of[q.style]) for q in queries)
    return sum(1.0 / (rank or float("inf")) for rank in ranks) / len(queries)


def summarize(queries: list[Query], styles: list[str], engines: list[str]) -> dict[str, Any]:
    """Per style and column: hit@10 %, MRR; the better peer mode per style; medians."""
    columns = [c for e in engines for c in ((e,) if e == "vnsearch" else (f"{e}-and", f"{e}-or"))]
    by_style = {s: [q for q in queries if q.style == s] for s in styles}
    table: dict[str, dict[str, float]] = {}
    for style, chosen in by_style.items():
        if not chosen:
            continue
        row = {c: hit_rate(chosen, c) for c in columns}
        row.update({f"mrr:{c}": mrr(chosen, c) for c in columns})
        held = [q for q in chosen if q.answerable]
        row["n:answerable"] = len(held)
        for c in columns:
            row[f"answerable:{c}"] = hit_rate(held, c) if held else float("nan")
        for peer in (e for e in engines if e != "vnsearch"):
            best = max(("and", "or"), key=lambda m, p=peer: (row[f"{p}-{m}"], row[f"mrr:{p}-{m}"]))
            row[f"{peer}-best"] = row[f"{peer}-{best}"]
            row[f"mrr:{peer}-best"] = row[f"mrr:{peer}-{best}"]
            row[f"mode:{peer}"] = best  # type: ignore[assignment]
            row[f"answerable:{peer}-best"] = row.get(f"answerable:{peer}-{best}", float("nan"))
        table[style] = row
    # The MRR is over its own five styles; the optional ones are reported apart.
    graded = [q for q in queries if q.style in STYLES] or queries
    overall: dict[str, float] = {c: mrr(graded, c) for c in columns}
    overall.update({f"hit:{c}": hit_rate(graded, c) for c in columns})
    held = [q for q in graded if q.answerable]
    overall.update({f"answerable:{c}": mrr(held, c) if held else float("nan") for c in columns})
    for peer in (e for e in engines if e != "vnsearch"):
        # each query counted in the mode that was better for its style
        best = {s: f"{peer}-{row[f'mode:{peer}']}" for s, row in table.items()}
        overall[f"{peer}-best"] = mrr_in(graded, best)
        overall[f"answerable:{peer}-best"] = mrr_in(held, best) if held else float("nan")
    ms = {c: median([q.ms[c] for q in queries if c in q.ms]) for c in columns}
    return {"styles": table, "mrr": overall, "median_ms": ms, "columns": columns}


def print_report(summary: dict[str, Any], engines: list[str], counts: Counter[str]) -> None:
    table = summary["styles"]
    peers = [e for e in engines if e != "vnsearch"]
    heads = (["vnsearch"] if "vnsearch" in engines else []) + [
        h for p in peers for h in (f"{p}-and", f"{p}-or", f"{p}-best")
    ]
    print()
    print(f"hit@{TOP} % (n per style in brackets); goals from issue 3: peers / vnsearch target")
    print(f"{'style':<14}" + "".join(f"{h:>13}" for h in heads) + f"{'goal':>12}")
    for style, row in table.items():
        cells = []
        for h in heads:
            mark = ""
            if h.endswith("-best"):
                mark = "*" if row[f"mode:{h[:-5]}"] == "or" else ""
            cells.append(f"{row[h]:>12.1f}{mark or ' '}")
        goal = f"{PEER_GOALS[style]}/{TARGETS[style]}" if style in TARGETS else "-"
        print(f"{style + f' [{counts[style]}]':<14}" + "".join(cells) + f"{goal:>12}")
    overall = summary["mrr"]
    print(f"{'MRR':<14}" + "".join(f"{overall[h]:>12.3f} " for h in heads) + "   0.64/0.94")
    ms = summary["median_ms"]
    print(
        f"{'median ms':<14}"
        + "".join(f"{ms.get(h, float('nan')):>12.1f} " if h in ms else f"{'':>13}" for h in heads)
    )
    if peers:
        print("(-best: the better of strict AND and OR per style; * = OR was better)")
    print("\nthe same over answerable queries alone (every query word in the article's text)")
    for style, row in table.items():
        cells = "".join(f"{row[f'answerable:{h}']:>12.1f} " for h in heads)
        held = int(row["n:answerable"])
        print(f"{f'{style} [{held}]':<14}" + cells)
    print(f"{'MRR':<14}" + "".join(f"{overall[f'answerable:{h}']:>12.3f} " for h in heads))


def write_misses(queries: list[Query], path: Path, titles: dict[str, str]) -> int:
    """vnsearch's misses (not in the top 10) first, then the queries it ranked below 1."""
    rows = [q for q in queries if q.ranks.get("vnsearch") != 1 and "vnsearch" in q.ranks]
    rows.sort(key=lambda q: (q.ranks["vnsearch"] is not None, q.ranks["vnsearch"] or 0, q.style))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for q in rows:
            record = {
                "style": q.style,
                "query": q.text,
                "target": q.target,
                "target_title": q.title,
                "rank": q.ranks["vnsearch"],
                "top3": [titles.get(i, i) for i in q.top],
                "top3_ids": q.top,
                "peers": {k: v for k, v in q.ranks.items() if k != "vnsearch"},
                "answerable": q.answerable,
                "error": q.error,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(rows)


# --- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--n", type=int, default=300, help="queries per style (default 300)")
    parser.add_argument(
        "--seed",
        default="20260101",
        help="sampling seed; several, comma-separated, pool their samples (n per style each)",
    )
    parser.add_argument("--styles", default=",".join(STYLES), help="comma-separated styles")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated engines")
    parser.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX_DIR, help="vnsearch index")
    parser.add_argument("--explain", metavar="QUERY", help="explain one query and exit")
    parser.add_argument("--target", help="with --explain: the article id expected")
    parser.add_argument("--depth", type=int, default=10, help="with --explain: hits shown")
    parser.add_argument("--misses", type=Path, default=OUT_DIR / "relevance-misses.jsonl")
    args = parser.parse_args(argv)

    if args.explain is not None:
        explain(args.index_dir, args.explain, args.target, args.depth)
        return 0
    styles = [s for s in args.styles.split(",") if s]
    engines = [e for e in args.engines.split(",") if e]
    unknown = (set(styles) - set(STYLES + EXTRA_STYLES)) | (set(engines) - set(ENGINES))
    if unknown:
        parser.error(f"unknown style or engine: {', '.join(sorted(unknown))}")

    paths = [NEWS, DANTRI]
    t0 = time.perf_counter()
    docs = load_docs(paths)
    print(f"{len(docs):,} articles loaded in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    seeds = [int(seed) for seed in args.seed.split(",") if seed]
    queries = [q for seed in seeds for q in make_queries(docs, styles, args.n, seed)]

    opened: dict[str, Any] = {}
    if "vnsearch" in engines:
        opened["vnsearch"] = Vnsearch(args.index_dir)
        count = opened["vnsearch"].doc_count()
        if count != len(docs):
            print(
                f"warning: {args.index_dir} holds {count:,} articles, the corpus {len(docs):,}",
                file=sys.stderr,
            )
        missing = [q for q in queries if not opened["vnsearch"].has(q.target)]
        if missing:
            print(f"warning: {len(missing)} targets not in the index: skipped", file=sys.stderr)
            queries = [q for q in queries if q not in missing]
    for name in engines:
        if name != "vnsearch":
            opened[name] = open_peer(name, paths, docs)
    titles = {d.id: d.title for d in docs}
    del docs

    print(f"running {len(queries)} queries on {', '.join(engines)}; vnsearch at {git_state()}")
    run_engines(queries, opened)
    summary = summarize(queries, styles, engines)
    print_report(summary, engines, Counter(q.style for q in queries))

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    if "vnsearch" in engines:
        written = write_misses(queries, args.misses, titles)
        missed = sum(q.ranks["vnsearch"] is None for q in queries)
        print(f"\nvnsearch: {missed} misses, {written - missed} below rank 1 -> {args.misses}")
        refused = Counter(q.error.split(":")[0] for q in queries if q.error)
        if refused:
            print(f"vnsearch refused {sum(refused.values())} queries: {dict(refused)}")
    report = {
        "date": date.today().isoformat(),
        "argv": sys.argv[1:],
        "n": args.n,
        "seed": seeds,
        "index_dir": str(args.index_dir),
        "git": git_state(),
        "summary": summary,
        "queries": [asdict(q) for q in queries],
    }
    out = OUT_DIR / "relevance.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"details: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
