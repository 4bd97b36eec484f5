"""Known-item evaluation: does the article a query was made from come back in the top 10?

Queries are generated at run time from a fixed-seed sample of the corpus (news-2025-2026 +
dantri-2020-2021), in five styles:

  slug4    the first 4 words of the article's accent-free URL slug
  slug7    the first 7 words of the slug
  nfd      the title typed in NFD with the other tone style (hòa <-> hoà, thủy <-> thuỷ);
           only titles with at least one oa/oe/uy open syllable are sampled
  half     the title with the diacritics removed from every other word
  passage  6 consecutive accent-free words from the body (dantri) or summary (news), half of
           the sample each

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
import random
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from common import (
    DANTRI,
    DEFAULT_INDEX_DIR,
    NEWS,
    OUT_DIR,
    REPO_DIR,
    Doc,
    git_state,
    load_docs,
    median,
    open_peer,
    strip_accents,
)

sys.path.insert(0, str(REPO_DIR))

STYLES = ("slug4", "slug7", "nfd", "half", "passage")
# Not in the table, so not run by default (`--styles middle,typo`): other ways readers
# type, to check that tuning on the five above did not overfit them.
EXTRA_STYLES = ("middle", "typo")
ENGINES = ("vnsearch", "fts5", "tantivy")
TOP = 10
# Goals from the issue (hit@10 per style, then MRR): peers off the shelf, and vnsearch's target.
PEER_GOALS = {"slug4": 84, "slug7": 97, "nfd": 97, "half": 98, "passage": 58, "mrr": 0.64}
TARGETS = {"slug4": 93, "slug7": 98, "nfd": 98, "half": 98, "passage": 99, "mrr": 0.94}

# --- query generation ----------------------------------------------------------------------

_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền, sắc, ngã, hỏi, nặng
_OPEN_PAIR = re.compile(r"([bcdđghklmnpqrstvx]*)(oa|oe|uy)")
_SLUG_ID = re.compile(r"-\d+$")
_WORD = re.compile(r"[^\W_]+")
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def slug_words(url: str) -> list[str]:
    """The words of a URL's accent-free slug: last path segment without extension and id."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    segments = [s for s in path.split("/") if s]
    if len(segments) < 2:  # a bare domain has no slug
        return []
    slug = re.sub(r"\.html?$", "", segments[-1])
    slug = _SLUG_ID.sub("", slug)
    return [w for w in slug.lower().split("-") if w]


def swap_tone_style(word: str) -> str:
    """Move the tone of an oa/oe/uy open syllable to the other vowel: hòa <-> hoà, thủy <-> thuỷ.

    qu + y keeps its tone on y (quý is written one way), as do syllables with a final
    consonant (hoàng, thuyết) or a third vowel (ngoài, khuỷu).
    """
    word = unicodedata.normalize("NFC", word)
    tones = [c for c in unicodedata.normalize("NFD", word) if c in _TONES]
    if len(tones) != 1:
        return word
    letters = [
        unicodedata.normalize(
            "NFC", "".join(c for c in unicodedata.normalize("NFD", ch) if c not in _TONES)
        )
        for ch in word
    ]
    match = _OPEN_PAIR.fullmatch("".join(letters).lower())
    if match is None or match.group(1).endswith("q"):
        return word
    first = len(match.group(1))
    toned = [i for i, ch in enumerate(word) if set(unicodedata.normalize("NFD", ch)) & _TONES]
    if toned == [first]:
        target = first + 1
    elif toned == [first + 1]:
        target = first
    else:
        return word
    letters[target] = unicodedata.normalize("NFC", letters[target] + tones[0])
    return "".join(letters)


@dataclass
class Query:
    style: str
    text: str
    target: str
    title: str
    origin: str = ""  # where a passage came from: body or summary
    ranks: dict[str, int | None] = field(default_factory=dict)
    ms: dict[str, float] = field(default_factory=dict)
    top: list[str] = field(default_factory=list)  # vnsearch's top 3 ids
    error: str | None = None  # vnsearch refused the query


def _slug_query(size: int) -> Callable[[Doc, random.Random], str | None]:
    def make(doc: Doc, rng: random.Random) -> str | None:
        slug = slug_words(doc.url)
        if len(slug) < size or sum(w.isalpha() for w in slug[:size]) < 2:
            return None
        return " ".join(slug[:size])

    return make


def typed_words(text: str) -> list[str]:
    """Whitespace-separated words without their surrounding punctuation, the way a reader
    retypes a passage: "TP.HCM", "79.400" and "Covid-19" stay whole."""
    chunks = (_EDGES.sub("", chunk) for chunk in text.split())
    return [chunk for chunk in chunks if chunk]


def _nfd_query(doc: Doc, rng: random.Random) -> str | None:
    """The title as written, each oa/oe/uy open syllable in the other tone style, in NFD."""
    title = unicodedata.normalize("NFC", doc.title)
    swapped = _WORD.sub(lambda m: swap_tone_style(m.group()), title)
    if swapped == title:
        return None  # nothing to swap: the style would test NFD alone
    return unicodedata.normalize("NFD", swapped)


def _half_query(doc: Doc, rng: random.Random) -> str | None:
    """The title as written, diacritics removed from every other word (odd or even ones)."""
    typed = doc.title.split()
    parity = rng.randrange(2)
    half = [strip_accents(w) if i % 2 == parity else w for i, w in enumerate(typed)]
    if len(typed) < 2 or half == typed:
        return None
    return " ".join(half)


def _middle_query(doc: Doc, rng: random.Random) -> str | None:
    """5 consecutive accent-free title words that do not start the title."""
    plain = [strip_accents(w).lower() for w in typed_words(doc.title)]
    if len(plain) < 7:
        return None
    start = rng.randrange(1, len(plain) - 4)
    return " ".join(plain[start : start + 5])


def _typo_query(doc: Doc, rng: random.Random) -> str | None:
    """The first 5 accent-free title words, one word of 4+ letters with two letters swapped."""
    plain = [strip_accents(w).lower() for w in typed_words(doc.title)[:5]]
    long_words = [i for i, w in enumerate(plain) if len(w) >= 4 and w.isalpha()]
    if len(plain) < 5 or not long_words:
        return None
    i = rng.choice(long_words)
    at = rng.randrange(len(plain[i]) - 1)
    word = plain[i]
    swapped = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if swapped == word:
        return None
    plain[i] = swapped
    return " ".join(plain)


def _passage_query(doc: Doc, rng: random.Random) -> str | None:
    """6 consecutive words of the body (or summary), accent-free and lowercase."""
    text = doc.body or doc.summary
    plain = [strip_accents(w).lower() for w in typed_words(text)]
    if len(plain) < 6:
        return None
    start = rng.randrange(len(plain) - 5)
    return " ".join(plain[start : start + 6])


MAKERS: dict[str, Callable[[Doc, random.Random], str | None]] = {
    "slug4": _slug_query(4),
    "slug7": _slug_query(7),
    "nfd": _nfd_query,
    "half": _half_query,
    "middle": _middle_query,
    "typo": _typo_query,
}


def make_queries(docs: list[Doc], styles: list[str], n: int, seed: int) -> list[Query]:
    """n queries per style from a fixed-seed sample; each style draws its own articles."""
    queries: list[Query] = []
    for style in styles:
        rng = random.Random(f"{seed}:{style}")
        if style == "passage":
            pools = [
                ([d for d in docs if d.body], n // 2, "body"),
                ([d for d in docs if not d.body and d.summary], n - n // 2, "summary"),
            ]
        else:
            pools = [(docs, n, "")]
        for pool, wanted, origin in pools:
            order = list(range(len(pool)))
            rng.shuffle(order)
            made = 0
            for i in order:
                if made >= wanted:
                    break
                doc = pool[i]
                maker = _passage_query if style == "passage" else MAKERS[style]
                text = maker(doc, rng)
                if text:
                    queries.append(Query(style, text, doc.id, doc.title, origin))
                    made += 1
    return queries


# --- engines -------------------------------------------------------------------------------


class Vnsearch:
    """vnsearch in-process: one searcher for the whole run, as the web app keeps one."""

    def __init__(self, index_dir: Path) -> None:
        from search.engine import SearchRequest, run_search
        from search.errors import SearchError
        from search.ranking import weighting
        from search.store import open_index

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


def rank_of(ids: list[str], target: str) -> int | None:
    return ids.index(target) + 1 if target in ids else None


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
        for peer in (e for e in engines if e != "vnsearch"):
            best = max(("and", "or"), key=lambda m, p=peer: (row[f"{p}-{m}"], row[f"mrr:{p}-{m}"]))
            row[f"{peer}-best"] = row[f"{peer}-{best}"]
            row[f"mrr:{peer}-best"] = row[f"mrr:{peer}-{best}"]
            row[f"mode:{peer}"] = best  # type: ignore[assignment]
        table[style] = row
    overall: dict[str, float] = {c: mrr(queries, c) for c in columns}
    overall.update({f"hit:{c}": hit_rate(queries, c) for c in columns})
    for peer in (e for e in engines if e != "vnsearch"):
        total = sum(table[s][f"mrr:{peer}-best"] * len(by_style[s]) for s in table)
        overall[f"{peer}-best"] = total / len(queries)
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
                "origin": q.origin or None,
                "error": q.error,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(rows)


# --- explain -------------------------------------------------------------------------------


def explain(index_dir: Path, text: str, target: str | None, depth: int) -> None:
    """Print the relaxation levels, the plan, the top hits and per-leaf scores of one query.

    Follows the engine's own stages when they exist (search.postings.query_docs for the sets,
    search.query.scoring_query and search.plan.restored_words for the ranking query), else the
    Whoosh query of search.query.build_query.
    """
    from whoosh import query as wq

    from search import query as sq
    from search.engine import SearchRequest, run_search
    from search.ranking import weighting
    from search.store import open_index

    index = open_index(index_dir)
    with index.searcher(weighting=weighting()) as searcher:
        parsed = sq.parse_query(text)
        print(f"query: {text!r}")
        print(f"words: {list(parsed.words)}  groups: {len(parsed.groups)}")
        levels = sq.LEVELS if len(parsed.groups) > 1 else sq.LEVELS[:1]
        answered = None
        for level in levels:
            docs = _level_docs(searcher, parsed, level)
            print(f"level {level}: {len(docs):,} matches")
            if answered is None and docs:
                answered = (level, docs)
        if answered is None:
            print("no level matched")
            return
        level, docs = answered
        plan = _ranking_query(searcher, parsed, level)
        print(f"answered at level {level!r}; ranking query:\n  {str(plan)[:2000]}")
        t0 = time.perf_counter()
        request = SearchRequest.from_params(q=text, per_page=depth, facets=False)
        hits = run_search(searcher, request)["hits"]
        print(f"run_search: {(time.perf_counter() - t0) * 1000:.1f} ms, {len(hits)} hits shown")
        ids = [h["id"] for h in hits]
        for rank, hit in enumerate(hits, 1):
            flag = "  <== target" if hit["id"] == target else ""
            print(f"{rank:>3}. {hit['score']:8.3f}  {hit['title'][:90]}  [{hit['id']}]{flag}")
        if target:
            docnum = searcher.document_number(id=target)
            if docnum is None:
                print(f"target {target} is not in the index")
                return
            stored = searcher.stored_fields(docnum)
            where = rank_of(ids, target)
            print(f"\ntarget: {stored.get('title')!r} rank {where or f'> {depth}'}")
            print(f"target among the level's matches: {docnum in docs}")
        leaves: dict[str, wq.Query] = {}
        for leaf in plan.leaves():
            leaves.setdefault(repr(leaf), leaf)
        shown = ids[:3] + ([target] if target and target not in ids[:3] else [])
        docnums = [searcher.document_number(id=i) for i in shown]
        whose = "the top 3" + (" and the target" if target else "")
        print(f"\nper-leaf scores (boosts included) for {whose}; reranking stages not included")
        print(f"{'leaf':<58}" + "".join(f"{i[:10]:>12}" for i in shown))
        totals = [0.0] * len(shown)
        for name, leaf in leaves.items():
            scores = [_leaf_score(searcher, leaf, d) for d in docnums]
            if not any(scores):
                continue
            totals = [t + s for t, s in zip(totals, scores, strict=True)]
            print(f"{name[:57]:<58}" + "".join(f"{s:>12.3f}" for s in scores))
        print(f"{'sum of leaves':<58}" + "".join(f"{t:>12.3f}" for t in totals))


def _level_docs(searcher: Any, parsed: Any, level: str) -> set[int]:
    try:
        from search.postings import query_docs
    except ImportError:
        query_docs = None
    if query_docs is not None:
        docs = query_docs(searcher, parsed, level)
        return set(docs) if docs is not None else set(searcher.reader().all_doc_ids())
    from search.query import build_query

    return set(searcher.docs_for_query(build_query(parsed, level)))


def _ranking_query(searcher: Any, parsed: Any, level: str) -> Any:
    from search import query as sq

    if hasattr(sq, "scoring_query"):
        extra = []
        try:
            from search.plan import restored_words

            extra = sq.restoration_bonus(parsed.words, restored_words(searcher, parsed.words))
        except (ImportError, AttributeError):
            pass
        return sq.scoring_query(parsed, extra)
    return sq.build_query(parsed, level)


def _leaf_score(searcher: Any, leaf: Any, docnum: int | None) -> float:
    if docnum is None:
        return 0.0
    matcher = leaf.matcher(searcher, searcher.context())
    if not matcher.is_active():
        return 0.0
    if matcher.id() < docnum:
        matcher.skip_to(docnum)
    if matcher.is_active() and matcher.id() == docnum:
        return float(matcher.score())
    return 0.0


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
