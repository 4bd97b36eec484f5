"""Which documents match, computed as set algebra on posting lists read per segment: lists
are numpy arrays, sets roaring bitmaps (search.execute.bitmaps); both are kept in the index's
caches (search.index.caches)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from itertools import islice
from typing import Any

import numpy as np
from pyroaring import BitMap, FrozenBitMap
from whoosh import query as wq
from whoosh.matching import ListMatcher, NullMatcher
from whoosh.searching import Searcher

from search.analysis.chains import fold_term
from search.execute.bitmaps import EMPTY, DocSet, doc_array, docset, intersection, union
from search.index.caches import IndexCaches, caches_of, generation
from search.index.segment_postings import Postings, no_postings, segment_postings
from search.index.term_infos import segment_term_key
from search.index.whoosh_internals import subsearcher_offset
from search.query.build import clause_fields, leaf_query
from search.query.parse import Clause, ParsedQuery

MAX_EXPANSIONS = 50  # terms one prefix or fuzzy word stands for, the most frequent
MAX_EXPANSIONS_SCANNED = 20_000  # lexicon entries read for one prefix


def term_docs(searcher: Searcher, fieldname: str, text: str) -> DocSet:
    """Live documents whose field holds the term (cached per index generation): its segments'
    sets, shifted to the segments' places and joined. Each segment's set is kept by segment
    and deletions, so after a commit only the new segments' are built: building a common
    word's set from its list costs milliseconds, shifting and joining sets microseconds."""
    caches = caches_of(searcher)
    key = (generation(searcher), fieldname, text)
    cached: DocSet | None = caches.sets.get(key)
    if cached is None:
        shares = [
            (_segment_docs(caches, leaf, fieldname, text), offset)
            for leaf, offset in searcher.reader().leaf_readers()
        ]
        cached = union(docs.shift(offset) if offset else docs for docs, offset in shares if docs)
        caches.sets.put(key, cached)
    return cached


def _segment_docs(caches: IndexCaches, leaf: Any, fieldname: str, text: str) -> DocSet:
    """One segment's live documents holding the term, numbered within the segment."""
    key = segment_term_key(leaf, fieldname, text)
    if key is None:
        return docset(segment_postings(caches, leaf, fieldname, text)[0])
    docs: DocSet | None = caches.segment_sets.get(key)
    if docs is None:
        docs = docset(segment_postings(caches, leaf, fieldname, text)[0])
        caches.segment_sets.put(key, docs)
    return docs


def term_postings(searcher: Searcher, fieldname: str, text: str) -> Postings:
    """The term's live postings over the whole index: sorted global document numbers and
    their weights (term frequencies), cached per index generation within a postings budget.
    Each segment's share is cached as well, by segment and deletions, so that after a commit
    only the segments it wrote are read again (an import commits every few seconds)."""
    caches = caches_of(searcher)
    key = (generation(searcher), fieldname, text)
    cached: Postings | None = caches.postings.get(key)
    if cached is not None:
        return cached
    leaves = searcher.reader().leaf_readers()
    shares = [(segment_postings(caches, leaf, fieldname, text), offset) for leaf, offset in leaves]
    shares = [(share, offset) for share, offset in shares if len(share[0])]
    if len(shares) == 1 and not shares[0][1]:  # the first segment's share is the whole list
        result = shares[0][0]
    elif shares:
        ids = np.concatenate([leaf_ids + offset for (leaf_ids, _), offset in shares])
        weights = np.concatenate([leaf_weights for (_, leaf_weights), _ in shares])
        result = (ids.astype(np.int32, copy=False), weights)
    else:
        result = no_postings()
    caches.postings.put(key, result)
    return result


def live_docs(searcher: Searcher) -> DocSet:
    """Every live document (cached per generation): each segment's range of numbers, less its
    deleted documents."""
    all_docs = caches_of(searcher).all_docs
    key = (generation(searcher),)
    docs: DocSet | None = all_docs.get(key)
    if docs is None:
        live = BitMap()
        for leaf, offset in searcher.reader().leaf_readers():
            if leaf.has_deletions():
                live.update(offset + d for d in leaf.all_doc_ids())
            else:
                live.add_range(offset, offset + leaf.doc_count_all())
        docs = FrozenBitMap(live)
        all_docs.put(key, docs)
    return docs


def clause_docs(searcher: Searcher, clause: Clause) -> DocSet:
    """Documents a clause matches in any of its fields (folded: accents never narrow)."""
    return union(_clause_parts(searcher, clause))


def held_among(searcher: Searcher, clause: Clause, docs: DocSet) -> DocSet:
    """Those of a few documents (a page of hits) that match the clause: each cached part
    intersected with them, no union of the parts built (a common word's union over three
    fields costs milliseconds)."""
    if clause.kind == "terms":
        found = []
        for fieldname in clause_fields(clause):
            held = docs
            for term in clause.terms:
                held = held & term_docs(searcher, fieldname, fold_term(term))
                if not held:
                    break
            found.append(held)
        return union(found)
    return union([part & docs for part in _clause_parts(searcher, clause)])


def _clause_parts(searcher: Searcher, clause: Clause, fields: tuple[str, ...] = ()) -> list[DocSet]:
    """Sets whose union is what the clause matches: one per field, only `fields` when given
    (cached sets for a word)."""
    parts = []
    for fieldname in clause_fields(clause):
        if fields and fieldname not in fields:
            continue
        if clause.kind == "terms":
            per_term = [term_docs(searcher, fieldname, fold_term(t)) for t in clause.terms]
            parts.append(intersection(per_term))
        elif clause.kind in ("prefix", "fuzzy"):
            leaf = leaf_query(clause, fieldname)
            found = [term_docs(searcher, fieldname, t) for t in expansions(searcher, leaf)]
            parts.append(union(found))
        else:  # phrases: rare, and Whoosh knows positions
            parts.append(docset(searcher.docs_for_query(leaf_query(clause, fieldname))))
    return parts


def expansions(searcher: Searcher, query: wq.Query) -> list[str]:
    """The indexed terms a prefix (thu*) or fuzzy word (nguyen~1) stands for: at most
    MAX_EXPANSIONS, the most frequent first. Unbounded, a short prefix or fuzzy word became
    hundreds of terms for Whoosh to walk."""
    reader = searcher.reader()
    fieldname = query.fieldname
    if isinstance(query, wq.FuzzyTerm):
        found: Any = reader.terms_within(
            fieldname, query.text, query.maxdist, prefix=query.prefixlength
        )
    elif isinstance(query, wq.Prefix):
        found = islice(reader.expand_prefix(fieldname, query.text), MAX_EXPANSIONS_SCANNED)
    else:
        raise TypeError(f"not a prefix or fuzzy word: {query!r}")
    texts = {t.decode("utf-8") if isinstance(t, bytes) else t for t in found}
    return heapq.nsmallest(
        MAX_EXPANSIONS, texts, key=lambda t: (-reader.doc_frequency(fieldname, t), t)
    )


def query_docs(searcher: Searcher, parsed: ParsedQuery, level: str) -> DocSet | None:
    """Documents the words match at a strictness level; None means every document."""
    if parsed.is_empty:
        matched = None
    else:
        parts = _group_parts(searcher, parsed.groups)
        level = _level(level, len(parsed.groups))
        if level == "all":
            matched = _in_every_group(parts)
        elif level == "most":
            matched = _in_all_groups_but_one(parts)
        else:
            matched = union(part for sets in parts for part in sets)
    return _without_excluded(searcher, parsed, matched)


def titles_holding(searcher: Searcher, parsed: ParsedQuery, missing: int) -> DocSet:
    """Documents whose title holds every word of the query (`missing` 0) or all but at most
    one (`missing` 1): plain words only, 3 or more of them (else nothing). Title sets are small,
    so this is cheap next to "most" over every field, even for 32 common words."""
    plain = all(c.kind == "terms" and c.scope is None for g in parsed.groups for c in g)
    if not plain or len(parsed.groups) < 3:  # up to MAX_CLAUSES: a pasted headline
        return EMPTY
    # cached: the matching and the candidate bounding of one request both ask
    sets = caches_of(searcher).sets
    key = (generation(searcher), "titles", parsed.groups, parsed.excluded, missing)
    held: DocSet | None = sets.get(key)
    if held is None:
        parts = _group_parts(searcher, parsed.groups, fields=("title_folded",))
        held = _in_all_groups_but_one(parts) if missing else _in_every_group(parts)
        held = _without_excluded(searcher, parsed, held) or EMPTY
        sets.put(key, held)
    return held


def _without_excluded(
    searcher: Searcher, parsed: ParsedQuery, matched: DocSet | None
) -> DocSet | None:
    if parsed.excluded:
        excluded = union(clause_docs(searcher, c) for c in parsed.excluded)
        base = matched if matched is not None else live_docs(searcher)
        matched = base - excluded
    return matched


def _group_parts(
    searcher: Searcher, groups: tuple[tuple[Clause, ...], ...], fields: tuple[str, ...] = ()
) -> list[list[DocSet]]:
    """Each group's sets, whose union is what it matches (one per clause and field; only
    `fields` when given), the groups with the fewest postings first."""
    parts = [[p for c in group for p in _clause_parts(searcher, c, fields)] for group in groups]
    parts.sort(key=lambda sets: sum(map(len, sets)))
    return parts


def _in_every_group(parts: list[list[DocSet]]) -> DocSet:
    """The documents every group matches (`parts` as _group_parts gives them). Only the first
    group is built whole; each other group filters it field by field, in time of the smaller
    set (a common word's union over three fields was most of a query's set algebra)."""
    matched: DocSet = union(parts[0])
    for sets in parts[1:]:
        if not matched:
            break
        matched = union(matched & part for part in sets)
    return matched


def _in_all_groups_but_one(parts: list[list[DocSet]]) -> DocSet:
    """The documents every group but at most one matches: what is left when each group in
    turn is left out (cheaper than counting every member of every group)."""
    return union(_in_every_group(parts[:i] + parts[i + 1 :]) for i in range(len(parts)))


def _level(level: str, groups: int) -> str:
    """Mirror of search.query's levels: "most" means all but one, for 3 to 8 groups (else
    all); with one group every level is "all"."""
    if groups == 1 or (level == "most" and not 3 <= groups <= 8):
        return "all"
    return level


class DocSetQuery(wq.Query):
    """Matches a fixed set of global document numbers, scoring nothing.

    ANDed with a ranking query, it makes Whoosh score only these documents: the intersection
    is driven by this short list and the long posting lists are merely skipped through.
    """

    def __init__(self, docs: Iterable[int]) -> None:
        self.wanted = docs if isinstance(docs, FrozenBitMap) else docset(docs)

    def __repr__(self) -> str:
        return f"DocSetQuery({len(self.wanted)} docs)"

    def __str__(self) -> str:
        return f"<{len(self.wanted)} documents>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DocSetQuery) and other.wanted == self.wanted

    def __hash__(self) -> int:
        return hash(self.wanted)

    def estimate_size(self, ixreader: Any) -> int:
        return len(self.wanted)

    def matcher(self, searcher: Searcher, context: Any = None) -> Any:
        offset = subsearcher_offset(searcher)
        size = searcher.reader().doc_count_all()
        wanted = doc_array(self.wanted)
        local = wanted[(wanted >= offset) & (wanted < offset + size)] - offset
        if not len(local):
            return NullMatcher()
        # Explicit zero weights: ListMatcher reads all_weights=0.0 as "not given" and scores
        # each document 1.0, which would add a constant to every score.
        return ListMatcher(local.tolist(), weights=[0.0] * len(local))
