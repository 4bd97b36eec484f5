"""Remembered passages: a plain query of 5-16 words is also looked for as one run of words.

A reader who pastes or retypes a line of an article wants that article, yet BM25 ranks a run
of common words ("day la mot trong nhung cong") far below articles that merely repeat them.
So the documents holding the words side by side, in order, go first.

They are listed over the whole index, not only among the best-scored documents (a body holding
common words scores low, and was missed that way):

- titles and summaries through their syllable-pair fields: the documents holding every typed
  pair but at most one (a few sets from the cache) are read back and searched for the run.
  One pair may be missing: an index built before dotted words paired both ways (4d2789e,
  search.analysis.pair_links) holds "tphcm_có" for "TP.HCM có" but not "hcm_có";
- bodies, which have no pair fields, through the positions of the folded field: the rarest
  words' positions are read first, for the documents holding every word only
  (search.index.segment_positions), and the run checked on them. A segment's positions are
  read from its derived file (search.index.positions_sidecar); decoding them from the posting
  blocks instead costs enough that bodies are then checked only when they are few.

Holders the listing can still miss (an abbreviation in a body) are looked for in the best-scored
documents as well. When too many bodies or texts would have to be checked, only the
best-scored are searched. Searching documents' stored text reads only those holding every word
of the run, in order and side by side as far as their positions tell (search.execute.run_scan):
the same holders, far fewer articles read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from whoosh.searching import Searcher

from search.analysis.chains import fold_term
from search.analysis.textmatch import run_regex
from search.analysis.tokenizer import BIGRAM_SEPARATOR
from search.execute.bitmaps import DocSet, all_but_one, doc_array, docset, intersection
from search.execute.doc_ranks import common_sorted, distinct_sorted
from search.execute.docsets import term_docs
from search.execute.positions import positions_in
from search.execute.run_scan import may_hold_run
from search.index.caches import caches_of
from search.index.documents import stored_fields
from search.index.schema import BIGRAM_FIELDS, FOLDED, FOLDED_BIGRAM
from search.index.segment_positions import has_derived_positions
from search.query.parse import ParsedQuery

PASSAGE_MIN_WORDS = 5  # a plain query this long is also looked for as one run of words
PASSAGE_MAX_WORDS = 16  # longer: pasted text, not a remembered run
PASSAGE_WINDOW = 1000  # best-scored documents searched when the holders cannot be listed
# Bodies holding every word whose positions may be checked in segments without decoded
# positions: each one costs the decoding of a posting block or two, so the bound keeps a run
# of common words affordable. Decoded positions (search.index.positions_sidecar) cost
# microseconds for thousands of bodies: those are not bounded.
MAX_BODIES_CHECKED = 3000
# Titles and summaries read back to confirm the run, at most: each is a stored-field read.
MAX_TEXTS_READ = 2000

Ranked = list[tuple[int, float | None]]


def passage_run(parsed: ParsedQuery) -> tuple[str, ...] | None:
    """The folded words of a plain query long enough to be a remembered passage, else None."""
    if not PASSAGE_MIN_WORDS <= len(parsed.words) <= PASSAGE_MAX_WORDS or parsed.excluded:
        return None
    if any(len(g) != 1 or g[0].kind != "terms" or g[0].scope is not None for g in parsed.groups):
        return None
    return tuple(fold_term(w) for w in parsed.words)


def run_holders(searcher: Searcher, run: tuple[str, ...]) -> DocSet | None:
    """Every document holding the run in its title, summary or body (see the module
    docstring); None when too many texts would have to be checked."""
    in_bodies = _holding_every(searcher, "body" + FOLDED, run)
    if _to_decode(searcher, "body" + FOLDED, in_bodies) > MAX_BODIES_CHECKED:
        return None
    pairs = [f"{a}{BIGRAM_SEPARATOR}{b}" for a, b in zip(run, run[1:], strict=False)]
    to_read = [
        (name, _holding_all_but_one(searcher, name + FOLDED_BIGRAM, pairs))
        for name in BIGRAM_FIELDS
    ]
    texts = sum(len(docs) for _, docs in to_read)
    if texts > MAX_TEXTS_READ:
        return None
    found = _texts_holding(searcher, run, to_read) if texts else set()
    if in_bodies:
        found.update(holding_run(searcher, "body" + FOLDED, run, in_bodies))
    return docset(found)


def _texts_holding(
    searcher: Searcher, run: tuple[str, ...], to_read: list[tuple[str, DocSet]]
) -> set[int]:
    """The documents whose stored field (by name) the run's expression matches (compiling
    it costs about a millisecond: only when there is something to read)."""
    regex = run_regex(run)
    return {
        docnum
        for name, docs in to_read
        for docnum in docs
        if regex.search(stored_fields(searcher, docnum).get(name, ""))
    }


def _to_decode(searcher: Searcher, fieldname: str, docs: DocSet) -> int:
    """How many of the documents lie in segments without decoded positions of the field
    (search.index.positions_sidecar): their positions would be decoded block by block."""
    caches = caches_of(searcher)
    count = 0
    for leaf, offset in searcher.reader().leaf_readers():
        if not has_derived_positions(caches, leaf, fieldname):
            count += docs.range_cardinality(offset, offset + leaf.doc_count_all())
    return count


def holding_run(searcher: Searcher, fieldname: str, run: tuple[str, ...], docs: DocSet) -> DocSet:
    """The documents of `docs` whose field holds the run: some position p with each word i of
    the run at p + i (what Whoosh's phrase query matches). The rarest words are read first, so
    that the common ones are read only for the few documents still in the running. A run's
    possible starts are kept as one number each, (document << 32) + p + PASSAGE_MAX_WORDS."""
    by_rarity = sorted(range(len(run)), key=lambda i: len(term_docs(searcher, fieldname, run[i])))
    caches = caches_of(searcher)
    every = doc_array(docs)
    found = []
    for leaf, offset in searcher.reader().leaf_readers():
        alive = every[(every >= offset) & (every < offset + leaf.doc_count_all())] - offset
        starts: npt.NDArray[np.int64] | None = None
        for i in by_rarity:
            if not len(alive):
                break
            held, positions = positions_in(caches, leaf, fieldname, run[i], alive)
            # sorted and distinct: documents in order, each one's positions ascending
            here = (held << 32) + positions + (PASSAGE_MAX_WORDS - i)
            starts = here if starts is None else common_sorted(starts, here)
            alive = distinct_sorted(starts >> 32)
        found.append(alive + offset)
    return docset(np.concatenate(found)) if found else docset(())


def _holding_every(searcher: Searcher, fieldname: str, terms: tuple[str, ...]) -> DocSet:
    """Documents whose field holds every term (the rarest sets intersected first)."""
    return intersection(term_docs(searcher, fieldname, t) for t in terms)


def _holding_all_but_one(searcher: Searcher, fieldname: str, terms: list[str]) -> DocSet:
    """Documents whose field holds every term but at most one."""
    return all_but_one([term_docs(searcher, fieldname, t) for t in terms])


@dataclass(frozen=True)
class Promotion:
    """What putting a run's holders first did: the best score anywhere before the bonus
    (the bonus is twice it) and each holder's score before it. A shard reports it, so that
    its archive gives every holder the bonus of the archive's best score
    (search.cluster.merge.promoted_alike), as one index does."""

    best: float
    holders: dict[int, float]


def holders_first(first: Ranked, rest: Ranked, size: int) -> tuple[Ranked, Promotion]:
    """The run's holders in their order, with a bonus of twice the best score anywhere (so
    recency cannot undo it), then the rest; `size` long at most. No holders: the rest."""
    best = max(((score or 0.0) for _, score in first + rest), default=0.0)
    promotion = Promotion(best, {docnum: score or 0.0 for docnum, score in first})
    if not first:
        return rest, promotion
    bonus = 2.0 * best
    head = [(docnum, (score or 0.0) + bonus) for docnum, score in first]
    return (head + [item for item in rest if item[0] not in promotion.holders])[:size], promotion


def holders_among(
    searcher: Searcher, ranked: Ranked, run: tuple[str, ...], deadline: float
) -> Ranked:
    """The documents of `ranked` whose stored text holds the run, read one by one: only
    those that may hold it by their terms and positions (search.execute.run_scan), the same
    documents."""
    readable = may_hold_run(searcher, run, (docnum for docnum, _ in ranked))
    if not readable:  # nothing to read: the expression is not compiled (about a millisecond)
        return []
    regex = run_regex(run)
    found: Ranked = []
    for docnum, score in ranked:
        if docnum not in readable:
            continue
        if time.perf_counter() > deadline:
            break
        fields = stored_fields(searcher, docnum)
        if any(regex.search(fields.get(name, "")) for name in ("title", "summary", "body")):
            found.append((docnum, score))
    return found


def scan_for_run(
    searcher: Searcher, head: Ranked, tail: Ranked, run: tuple[str, ...], deadline: float
) -> tuple[Ranked, Promotion]:
    """When the holders cannot be listed: those among the reranked head and the next best
    scored go first; the head's length is kept."""
    found = holders_among(searcher, head + tail, run, deadline)
    return holders_first(found, head, len(head))
