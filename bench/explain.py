"""`relevance.py --explain`: how the engine answers one query, stage by stage."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from known_items import rank_of


def explain(index_dir: Path, text: str, target: str | None, depth: int) -> None:
    """Print the relaxation levels, the plan, the top hits and per-leaf scores of one query.

    Follows the engine's own stages when they exist (search.postings.query_docs for the sets,
    search.query.scoring_query and search.execute.ranking.restored_words for the ranking
    query), else the
    Whoosh query of search.query.build_query.
    """
    from whoosh import query as wq

    from search import query as sq
    from search.engine import SearchRequest, run_search
    from search.index.store import open_index
    from search.query.weights import weighting

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
        from search.execute.docsets import query_docs
    except ImportError:
        query_docs = None
    if query_docs is not None:
        docs = query_docs(searcher, parsed, level)
        return set(docs) if docs is not None else set(searcher.reader().all_doc_ids())
    from search.query.build import build_query

    return set(searcher.docs_for_query(build_query(parsed, level)))


def _ranking_query(searcher: Any, parsed: Any, level: str) -> Any:
    from search import query as sq

    if hasattr(sq, "scoring_query"):
        extra = []
        try:
            from search.execute.ranking import restored_words

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
