"""Scoring a known set of candidates: BM25F as Whoosh computes it, from whole posting lists.

Whoosh scores by walking a tree of matchers, one per field and word, skipping every one of them
to each candidate in Python: most of a search's time. Here the candidates are known in advance
(search.execute.ranking), so each term's postings are read once as arrays
(search.execute.docsets, cached per index generation), the candidates are found in them by one
vectorized binary search (by bit rank in a common term's list, search.execute.doc_ranks), and
the BM25 formula runs over arrays. Same formula, same statistics, same tree semantics (an Or
sums the children that match, an And needs all of them, a compound's boost multiplies), same
floating-point operations in the same order; tests/test_scorer.py holds the scores against
Whoosh's own.

Terms, their Ands/Ors, and prefixes and fuzzy words as the Or of the terms they stand for are
scored here; a query holding phrases (`compile_query` returns None) is left to Whoosh.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from whoosh import query as wq
from whoosh import scoring
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length, length_to_byte

from search.execute.bitmaps import doc_array
from search.execute.doc_ranks import candidate_frequencies
from search.index.caches import caches_of, generation
from search.index.w3_reader import segment_length_bytes
from search.index.whoosh_internals import bm25f_field_b
from search.query.collection import average_field_length


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


@dataclass(frozen=True)
class Scores:
    """Scored documents: sorted document numbers and their scores."""

    docs: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    def as_dict(self) -> dict[int, float]:
        return dict(zip(self.docs.tolist(), self.values.tolist(), strict=True))


# A node's scores over the run's candidates: a score for each (0.0 where it does not match)
# and whether it matches.
_Dense = tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]


class _Run:
    """What one scoring pass shares: the searcher, the candidates (sorted), and whether the
    deadline cut it short."""

    def __init__(self, searcher: Searcher, candidates: Iterable[int], deadline: float) -> None:
        weighting = searcher.weighting
        if not isinstance(weighting, scoring.BM25F):
            raise TypeError("search.execute.scoring mirrors BM25F only")
        self.searcher = searcher
        self.weighting = weighting
        self.docs = doc_array(candidates)
        self.deadline = deadline
        self.partial = False
        self._lengths: dict[str, npt.NDArray[np.int32]] = {}

    def lengths(self, fieldname: str) -> npt.NDArray[np.int32]:
        """The candidates' lengths in the field (a field is asked once per query term)."""
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            lengths = self._lengths[fieldname] = field_lengths(self.searcher, fieldname)[self.docs]
        return lengths

    def nothing(self) -> _Dense:
        size = len(self.docs)
        return np.zeros(size, dtype=np.float64), np.zeros(size, dtype=np.bool_)


def score_candidates(
    searcher: Searcher, tree: Node, candidates: Iterable[int], deadline: float
) -> tuple[Scores, bool]:
    """BM25F score of every candidate the tree matches, and whether the deadline passed
    (then the terms not read yet count for nothing: the scores are partial)."""
    run = _Run(searcher, candidates, deadline)
    values, matched = _score_node(run, tree)
    return Scores(run.docs[matched], values[matched]), run.partial


def _score_node(run: _Run, node: Node) -> _Dense:
    """The node's scores over the candidates, summed child by child in order (as Whoosh's
    matchers add them up: the same floating-point sums). A term adds its scores straight
    into its parent's sums at the candidates it holds: adding the 0.0 of the others, as a
    dense array of its own would, changes no sum."""
    summed, matched = run.nothing()
    if isinstance(node, TermNode):
        _add_term(run, node, summed, matched)
        return summed, matched
    if not node.children:
        return summed, matched
    if node.all_required:
        matched[:] = True
    for child in node.children:
        if isinstance(child, TermNode) and not node.all_required:
            _add_term(run, child, summed, matched)
            continue
        if isinstance(child, TermNode):
            child_matched = np.zeros(len(run.docs), dtype=np.bool_)
            _add_term(run, child, summed, child_matched)
        else:
            values, child_matched = _score_node(run, child)
            summed += values
        matched = matched & child_matched if node.all_required else matched | child_matched
    summed[~matched] = 0.0
    if node.boost != 1.0:
        summed *= node.boost
    return summed, matched


def _add_term(
    run: _Run, node: TermNode, summed: npt.NDArray[np.float64], matched: npt.NDArray[np.bool_]
) -> None:
    """Add the term's BM25 scores to `summed` and mark `matched` where it is held; nothing
    once the deadline has passed (the run is then partial)."""
    if run.partial or time.perf_counter() > run.deadline:
        run.partial = True
        return
    searcher, weighting = run.searcher, run.weighting
    where, held = candidate_frequencies(searcher, node.fieldname, node.text, run.docs)
    if not len(where):
        return
    lengths = run.lengths(node.fieldname)[where]
    idf = searcher.idf(node.fieldname, node.text)
    avgfl = average_field_length(searcher, node.fieldname) or 1
    b = bm25f_field_b(weighting, node.fieldname)
    k1 = weighting.K1
    # whoosh.scoring.bm25, idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avgfl)),
    # with the per-term factors taken out of the loop
    scale = idf * (k1 + 1) * node.boost
    flat = k1 * (1 - b)
    per_length = k1 * b / avgfl
    tf = held.astype(np.float64)
    summed[where] += scale * tf / (tf + flat + per_length * lengths)
    matched[where] = True


def field_lengths(searcher: Searcher, fieldname: str) -> npt.NDArray[np.int32]:
    """Each document's length in the field (1 where it has none: a length must be a number
    in BM25), read in one go per segment and kept per index generation (Whoosh reads a
    length from its column file on every call, thousands of calls a search)."""
    cache = caches_of(searcher).lengths
    key = (generation(searcher), fieldname)
    lengths: npt.NDArray[np.int32] | None = cache.get(key)
    if lengths is None:
        with cache.build_lock:
            lengths = cache.get(key)
            if lengths is None:
                lengths = _read_lengths(searcher, fieldname)
                cache.put(key, lengths)
    return lengths


_LENGTH_OF_BYTE = np.array([byte_to_length(b) or 1 for b in range(256)], dtype=np.int32)


def _read_lengths(searcher: Searcher, fieldname: str) -> npt.NDArray[np.int32]:
    parts = [np.zeros(0, dtype=np.int32)]
    for leaf, _ in searcher.reader().leaf_readers():
        raw = segment_length_bytes(leaf, fieldname)
        if raw is None:  # not a W3 segment: ask Whoosh document by document
            raw = bytes(
                length_to_byte(leaf.doc_field_length(d, fieldname, 0) or 0)
                for d in range(leaf.doc_count_all())
            )
        parts.append(_LENGTH_OF_BYTE[np.frombuffer(raw, dtype=np.uint8)])
    return np.concatenate(parts)


def top_scores(scores: Scores, limit: int) -> list[tuple[int, float]]:
    """The best `limit` (docnum, score), highest first; ties go to the lower docnum, as in
    Whoosh's collector. The scores at least as high as the limit-th best are picked
    (argpartition), then only they are sorted."""
    docs, values = scores.docs, scores.values
    if limit <= 0:
        return []
    if len(values) > limit:
        best = np.argpartition(-values, limit - 1)[:limit]
        keep = values >= values[best].min()  # every tie of the limit-th best
        docs, values = docs[keep], values[keep]
    order = np.lexsort((docs, -values))[:limit]
    return list(zip(docs[order].tolist(), values[order].tolist(), strict=True))
