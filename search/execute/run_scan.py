"""Which of many documents may hold a run of words in their stored text, from positions.

A remembered passage whose holders cannot be listed is looked for among the best-scored
documents (search.execute.passages.scan_for_run): a document holds the run when the run's
regular expression (search.analysis.textmatch.run_regex) matches its title, summary or body.
Reading a thousand stored articles to run it costs most of such a search, so the folded fields'
positions narrow the documents first, and only those that pass are read and searched: the same
documents as reading them all, because every document the expression matches passes.

Why every match passes. The expression matches a segment per word (its letters, each folding
to the word's letter, with at most one dot between two of them), the segments separated by
non-word characters. The tokenizer (search.analysis.tokenizer) gives each token a position,
one more than the token before, and indexes a dotted token or number ("TP.HCM", "50.000") as
its whole and as each of its groups ("tp", "hcm"), all at the token's position. So:

- a segment that is one token, or one group of a dotted token, is the word as a term there;
- two segments side by side are in consecutive tokens (position +1) or, when the separator
  is a dot inside one token ("TP.HCM" for "tp hcm"), in the same token (+0);
- a segment that is not one unit ("abcd.e" for "abcde", which the tokenizer splits) spans
  tokens of consecutive positions, at most one per letter; its first unit is a term that is a
  proper prefix of the word and its last a proper suffix. A document holding such a prefix and
  such a suffix in the field lets the word stand for any such span ("loose" below).

A document whose field has a chain of positions like that passes; the check over-approximates
(a passing document may not match), and the stored text decides.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
from whoosh.searching import Searcher

from search.execute.bitmaps import DocSet, doc_array, docset, union
from search.execute.docsets import term_docs
from search.index.caches import caches_of, generation
from search.index.schema import FOLDED
from search.index.segment_positions import segment_positions

RUN_FIELDS = ("title", "summary", "body")  # the stored texts a run is looked for in
# Documents few enough to read outright rather than read another word's positions: listing a
# common word's posting blocks costs as much as reading a few dozen stored articles.
FEW_TO_READ = 32

Ends = set[int] | None  # where the run's words so far may end in a field (None: anywhere)


def may_hold_run(
    searcher: Searcher, run: tuple[str, ...], docs: Iterable[int], few_to_read: int = FEW_TO_READ
) -> DocSet:
    """The documents of `docs` whose title, summary or body may hold the run (a superset
    of those the run's expression matches in their stored text, see the module docstring).
    Positions are read until `few_to_read` documents or fewer are left in a field."""
    wanted = docset(docs)
    return union(
        _passing_in_field(searcher, name + FOLDED, run, wanted, few_to_read) for name in RUN_FIELDS
    )


def _passing_in_field(
    searcher: Searcher, fieldname: str, run: tuple[str, ...], wanted: DocSet, few_to_read: int
) -> DocSet:
    """The documents of `wanted` with a chain of the run's positions in the field."""
    alive = doc_array(wanted)
    held: list[npt.NDArray[np.int64]] = []
    loose: list[set[int]] = []
    for word in run:  # first, the documents holding every word, whole or split
        whole = _holding(searcher, fieldname, word, alive)
        split = _split_holding(searcher, fieldname, word, alive)
        held.append(alive[whole])
        loose.append(set(alive[split].tolist()))
        alive = alive[whole | split]
    frequency = [len(term_docs(searcher, fieldname, word)) for word in run]
    positions: dict[int, dict[int, list[int]]] = {}
    for step, i in enumerate(sorted(range(len(run)), key=frequency.__getitem__)):
        if len(alive) <= few_to_read:
            break
        reading = alive[np.isin(alive, held[i], assume_unique=True)]
        positions[i] = positions_of(searcher, fieldname, run[i], reading)
        if step:
            fits = [
                _chains(run, positions, [doc in s for s in loose], doc) for doc in alive.tolist()
            ]
            alive = alive[np.array(fits, dtype=bool)]
    return docset(alive)


def _holding(
    searcher: Searcher, fieldname: str, term: str, docs: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Which of `docs` (sorted) hold the term in the field: through the term's cached set,
    which stays cached where a common syllable's decoded list would not."""
    held = term_docs(searcher, fieldname, term)
    if not held:
        return np.zeros(len(docs), dtype=bool)
    return np.isin(docs, doc_array(held & docset(docs)), assume_unique=True)


def _split_holding(
    searcher: Searcher, fieldname: str, word: str, docs: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Which of `docs` hold a proper prefix and a proper suffix of the word as terms of the
    field: those where a segment spanning several tokens may match it."""
    split = split_holders(searcher, fieldname, word)
    if not split:
        return np.zeros(len(docs), dtype=bool)
    return np.isin(docs, doc_array(split & docset(docs)), assume_unique=True)


def split_holders(searcher: Searcher, fieldname: str, word: str) -> DocSet:
    """The documents whose field holds a proper prefix and a proper suffix of the word as
    terms (cached per generation with the term sets: the same for every query with the
    word, and a word's cuts are up to twice its length in sets to join)."""
    sets = caches_of(searcher).sets
    key = (generation(searcher), fieldname, "split", word)
    held: DocSet | None = sets.get(key)
    if held is None:
        cuts = range(1, len(word))
        held = union(term_docs(searcher, fieldname, word[:c]) for c in cuts)
        if held:
            held = held & union(term_docs(searcher, fieldname, word[c:]) for c in cuts)
        sets.put(key, held)
    return held


def _chains(
    run: tuple[str, ...], positions: dict[int, dict[int, list[int]]], loose: list[bool], doc: int
) -> bool:
    """Whether the words' known positions in the document fit a chain: each word one
    position after the word before or at the same one; a loose word spans up to its length
    in positions from there; a word whose positions are not read yet stands for either."""
    ends: Ends = None
    for i, word in enumerate(run):
        span = len(word) if loose[i] else 1
        spread = None if ends is None else {e + k for e in ends for k in range(span + 1)}
        if i not in positions:
            ends = spread
            continue
        held = positions[i].get(doc, [])
        fitting: Ends = {p for p in held if ends is None or p in ends or p - 1 in ends}
        if loose[i]:
            fitting = None if spread is None or fitting is None else fitting | spread
        if fitting is not None and not fitting:
            return False
        ends = fitting
    return True


def positions_of(
    searcher: Searcher, fieldname: str, text: str, docs: npt.NDArray[np.int64]
) -> dict[int, list[int]]:
    """The term's positions in each of `docs` (sorted global numbers) that holds it."""
    caches = caches_of(searcher)
    found: dict[int, list[int]] = {}
    for leaf, offset in searcher.reader().leaf_readers():
        local = docs[(docs >= offset) & (docs < offset + leaf.doc_count_all())] - offset
        if len(local):
            held = segment_positions(caches, leaf, fieldname, text, local)
            found.update((offset + doc, positions) for doc, positions in held.items())
    return found
