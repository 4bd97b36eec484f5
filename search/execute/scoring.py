"""Scoring a known set of candidates: BM25F as Whoosh computes it, from whole posting lists.

Whoosh scores by walking a tree of matchers, one per field and word, skipping every one of
them to each candidate in Python: most of a search's time. Here the candidates are known in
advance (search.execute.retrieve), so each term's postings are read once as arrays
(search.execute.docsets, cached per index generation) and a candidate's score is a bisect per
term and the BM25 formula. Same formula, same statistics, same tree semantics
(an Or sums the children that match, an And needs all of them, a compound's boost multiplies);
tests/test_scorer.py holds the scores against Whoosh's own.

Terms, their Ands/Ors, and prefixes and fuzzy words as the Or of the terms they stand for are
scored here; a query holding phrases (`compile_query` returns None) is left to Whoosh.
"""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from whoosh import query as wq
from whoosh import scoring
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length, length_to_byte

from search.execute.docsets import term_postings
from search.index.caches import caches_of, generation
from search.index.w3_reader import segment_length_bytes
from search.index.whoosh_internals import bm25f_field_b


@dataclass(frozen=True)
class TermNode:
    fieldname: str
    text: str
    boost: float


@dataclass(frozen=True)
class CompoundNode:
    all_required: bool  # And: every child must match; Or: any
    children: tuple[Node, ...]
    boost: float


Node = TermNode | CompoundNode
Expander = Callable[[wq.Query], list[str]]
Scores = dict[int, float]


def compile_query(query: wq.Query, expand: Expander | None = None) -> Node | None:
    """The query as a tree this module can score, or None when only Whoosh can.

    With `expand` (search.execute.docsets.expansions), a prefix or fuzzy word scores as the Or of
    the terms it stands for, each with the word's boost, as if they had been typed.
    """
    if type(query) is wq.Term:
        return TermNode(query.fieldname, query.text, float(query.boost))
    if expand is not None and type(query) in (wq.Prefix, wq.FuzzyTerm):
        boost = float(query.boost)
        terms = tuple(TermNode(query.fieldname, text, boost) for text in expand(query))
        return terms[0] if len(terms) == 1 else CompoundNode(False, terms, 1.0)
    if type(query) in (wq.And, wq.Or) and query.subqueries:
        children = [compile_query(sub, expand) for sub in query.subqueries]
        if any(child is None for child in children):
            return None
        if len(children) == 1:  # Whoosh drops a one-child compound's boost: so do we
            return children[0]
        kept = tuple(child for child in children if child is not None)
        return CompoundNode(type(query) is wq.And, kept, float(query.boost))
    return None


class _Run:
    """What one scoring pass shares: the searcher, the candidates (sorted, and as a set), and
    whether the deadline cut it short."""

    def __init__(self, searcher: Searcher, candidates: frozenset[int], deadline: float) -> None:
        weighting = searcher.weighting
        if not isinstance(weighting, scoring.BM25F):
            raise TypeError("search.execute.scoring mirrors BM25F only")
        self.searcher = searcher
        self.weighting = weighting
        self.docs = sorted(candidates)
        self.docset = candidates
        self.deadline = deadline
        self.partial = False


def score_candidates(
    searcher: Searcher, tree: Node, candidates: frozenset[int], deadline: float
) -> tuple[Scores, bool]:
    """BM25F score of every candidate the tree matches, and whether the deadline passed
    (then the terms not read yet count for nothing: the scores are partial)."""
    run = _Run(searcher, candidates, deadline)
    scores = _score_node(run, tree)
    return scores, run.partial


def _score_node(run: _Run, node: Node) -> Scores:
    if isinstance(node, TermNode):
        if run.partial or time.perf_counter() > run.deadline:
            run.partial = True
            return {}
        return _score_term(run, node)
    parts = [_score_node(run, child) for child in node.children]
    if not parts:  # a prefix or fuzzy word that stands for no indexed term
        return {}
    if node.all_required:
        common = set(parts[0]).intersection(*parts[1:])
        summed = {d: sum(part[d] for part in parts) for d in common}
    else:
        summed = {}
        for part in parts:
            for docnum, score in part.items():
                summed[docnum] = summed.get(docnum, 0.0) + score
    if node.boost != 1.0:
        summed = {d: s * node.boost for d, s in summed.items()}
    return summed


def _score_term(run: _Run, node: TermNode) -> Scores:
    searcher, weighting = run.searcher, run.weighting
    ids, weights = term_postings(searcher, node.fieldname, node.text)
    found = _present(ids, run.docs, run.docset) if ids else []
    if not found:
        return {}
    lengths_of = field_lengths(searcher, node.fieldname)
    idf = searcher.idf(node.fieldname, node.text)
    avgfl = searcher.avg_field_length(node.fieldname) or 1
    b = bm25f_field_b(weighting, node.fieldname)
    k1 = weighting.K1
    # whoosh.scoring.bm25, idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avgfl)),
    # with the per-term factors taken out of the loop
    scale = idf * (k1 + 1) * node.boost
    flat = k1 * (1 - b)
    per_length = k1 * b / avgfl
    docnums = [docnum for docnum, _ in found]
    tfs = [weights[index] for _, index in found]
    lengths = map(lengths_of.__getitem__, docnums)
    return dict(
        zip(
            docnums,
            [scale * tf / (tf + flat + per_length * n) for tf, n in zip(tfs, lengths, strict=True)],
            strict=True,
        )
    )


def field_lengths(searcher: Searcher, fieldname: str) -> array[int]:
    """Each document's length in the field (1 where it has none: a length must be a number
    in BM25), read in one go per segment and kept per index generation (Whoosh reads a
    length from its column file on every call, thousands of calls a search)."""
    cache = caches_of(searcher).lengths
    key = (generation(searcher), fieldname)
    lengths: array[int] | None = cache.get(key)
    if lengths is None:
        with cache.build_lock:
            lengths = cache.get(key)
            if lengths is None:
                lengths = _read_lengths(searcher, fieldname)
                cache.put(key, lengths)
    return lengths


def _read_lengths(searcher: Searcher, fieldname: str) -> array[int]:
    table = [byte_to_length(b) or 1 for b in range(256)]
    lengths = array("i")
    for leaf, _ in searcher.reader().leaf_readers():
        raw = segment_length_bytes(leaf, fieldname)
        if raw is None:  # not a W3 segment: ask Whoosh document by document
            raw = bytes(
                length_to_byte(leaf.doc_field_length(d, fieldname, 0) or 0)
                for d in range(leaf.doc_count_all())
            )
        lengths.extend(map(table.__getitem__, raw))
    return lengths


def _present(ids: Any, docs: list[int], docset: frozenset[int]) -> list[tuple[int, int]]:
    """(docnum, index in ids) of the candidates found in the sorted posting ids: a bisect per
    candidate when the postings are the longer list, a look-up per posting otherwise."""
    if len(ids) <= len(docs):
        return [(docnum, i) for i, docnum in enumerate(ids) if docnum in docset]
    found = []
    low = 0
    size = len(ids)
    for docnum in docs:
        low = bisect_left(ids, docnum, low)
        if low >= size:
            break
        if ids[low] == docnum:
            found.append((docnum, low))
    return found


def top_scores(scores: Scores, limit: int) -> list[tuple[int, float]]:
    """The best `limit` (docnum, score), highest first; ties go to the lower docnum, as in
    Whoosh's collector."""
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
