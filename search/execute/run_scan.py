"""Which of many documents may hold a run of words in their stored text, from the index.

A remembered passage is looked for among the best-scored documents too
(search.execute.passages: holders_among, scan_for_run): a document holds the run when the
run's regular expression (search.analysis.textmatch.run_regex) matches its title, summary or
body. Only the documents this module lets through are read and searched: the same holders as
reading them all, because every document the expression matches passes.

Why every match passes. The expression matches a segment per word (its letters, each folding
to the word's letter, with at most one dot between two of them), the segments separated by
non-word characters. The tokenizer (search.analysis.tokenizer) indexes a token with dots,
commas or invisible joiners inside ("TP.HCM", "50.000") as its whole and as each of its
groups (its runs of letters and digits: "tp", "hcm"), all at the token's position; tokens
follow each other one position apart. So a segment that is one group is the word as a term
at one position; a segment of several groups ("thành.phố" for "thanhpho", which the
tokenizer splits into two tokens) starts with a group that is a proper prefix of the word and
ends with one that is a proper suffix, at most one position apart per group. Hence:

1. the field holds each word of the run, whole or as a proper prefix and a proper suffix
   (term sets, cached);
2. where the segment has decoded positions (search.index.positions_sidecar), the words start
   in order, each within reach of the one before: a word found whole at position p is
   followed from p (a group of the same token) to p + 1; a word starting with a proper prefix
   at p, from p to p + its length. A document passing both may still not match (the check
   over-approximates); the stored text decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.searching import Searcher

from search.execute.bitmaps import DocSet, doc_array, docset, union
from search.execute.doc_ranks import distinct_sorted
from search.execute.docsets import term_docs
from search.execute.positions import positions_in
from search.index.caches import IndexCaches, caches_of
from search.index.schema import FOLDED
from search.index.segment_positions import has_derived_positions

RUN_FIELDS = ("title", "summary", "body")  # the stored texts a run is looked for in


def may_hold_run(searcher: Searcher, run: tuple[str, ...], docs: Iterable[int]) -> DocSet:
    """The documents of `docs` whose title, summary or body may hold the run (a superset
    of those the run's expression matches in their stored text, see the module docstring)."""
    wanted = docset(docs)
    return union(_may_hold_in(searcher, name + FOLDED, run, wanted) for name in RUN_FIELDS)


def _may_hold_in(
    searcher: Searcher, fieldname: str, run: tuple[str, ...], wanted: DocSet
) -> DocSet:
    holding = _holding_every_word(searcher, fieldname, run, wanted)
    return _in_reach(searcher, fieldname, run, holding) if holding else holding


def _holding_every_word(
    searcher: Searcher, fieldname: str, run: tuple[str, ...], wanted: DocSet
) -> DocSet:
    """The documents of `wanted` whose field holds every word of the run, whole or split."""
    alive = wanted
    for word in run:
        whole = alive & term_docs(searcher, fieldname, word)
        rest = alive - whole
        alive = (whole | split_holders(searcher, fieldname, word, rest)) if rest else whole
        if not alive:
            break
    return alive


def split_holders(searcher: Searcher, fieldname: str, word: str, among: DocSet) -> DocSet:
    """The documents of `among` whose field holds a proper prefix and a proper suffix of the
    word as terms. Only the few documents asked about are intersected with each cut's set:
    joining the whole sets of a word's cuts, up to twice its length in sets, costs more."""
    cuts = range(1, len(word))
    prefixed = union(among & term_docs(searcher, fieldname, word[:c]) for c in cuts)
    if not prefixed:
        return prefixed
    return union(prefixed & term_docs(searcher, fieldname, word[c:]) for c in cuts)


def _in_reach(searcher: Searcher, fieldname: str, run: tuple[str, ...], docs: DocSet) -> DocSet:
    """The documents whose words start in order, each within reach of the one before (see
    the module docstring), in segments with decoded positions; every document elsewhere
    (decoding positions there costs more than reading the text)."""
    caches = caches_of(searcher)
    every = doc_array(docs)
    found = []
    for leaf, offset in searcher.reader().leaf_readers():
        local = every[(every >= offset) & (every < offset + leaf.doc_count_all())] - offset
        if len(local) and has_derived_positions(caches, leaf, fieldname):
            local = _chained(searcher, caches, leaf, offset, fieldname, run, local)
        found.append(local + offset)
    return docset(np.concatenate(found)) if found else docset(())


def _chained(
    searcher: Searcher,
    caches: IndexCaches,
    leaf: Any,
    offset: int,
    fieldname: str,
    run: tuple[str, ...],
    docs: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """The documents of one segment (numbered within it) where each word of the run starts
    within reach of a start of the word before. A start is one number, (document << 32) +
    position; a start's reach ends at the last position the next word may start at."""
    starts = reach = np.zeros(0, dtype=np.int64)
    for number, word in enumerate(run):
        places, lengths = _word_starts(searcher, caches, leaf, offset, fieldname, word, docs)
        if number:  # kept: a start at or after some earlier start, within its reach
            before = np.searchsorted(starts, places, side="right") - 1
            kept = (before >= 0) & (reach[np.maximum(before, 0)] >= places)
            places, lengths = places[kept], lengths[kept]
        # the farthest reach of the starts up to each one: the test above in one search
        starts, reach = places, np.maximum.accumulate(places + lengths)
        docs = distinct_sorted(starts >> 32)
        if not len(docs):
            break
    return docs


def _word_starts(
    searcher: Searcher,
    caches: IndexCaches,
    leaf: Any,
    offset: int,
    fieldname: str,
    word: str,
    docs: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Where the word may start in the documents, sorted, and how far the next word may
    start after each place: 1 where the word is whole, its length where a proper prefix of
    it starts a split (only in documents holding a proper suffix too)."""
    held, positions = positions_in(caches, leaf, fieldname, word, docs)
    places, lengths = [(held << 32) + positions], [np.ones(len(held), dtype=np.int64)]
    cuts = range(1, len(word))
    asked = docset(docs + offset)
    suffixed = union(asked & term_docs(searcher, fieldname, word[c:]) for c in cuts)
    for cut in cuts if suffixed else ():
        holding = suffixed & term_docs(searcher, fieldname, word[:cut])  # cached sets
        if holding:
            among = doc_array(holding) - offset
            held, positions = positions_in(caches, leaf, fieldname, word[:cut], among)
            places.append((held << 32) + positions)
            lengths.append(np.full(len(held), len(word), dtype=np.int64))
    every = np.concatenate(places)
    order = np.argsort(every, kind="stable")
    return every[order], np.concatenate(lengths)[order]
