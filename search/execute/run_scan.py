"""Which of many documents may hold a run of words in their stored text, from term sets.

A remembered passage whose holders cannot be listed is looked for among the best-scored
documents (search.execute.passages.scan_for_run): a document holds the run when the run's
regular expression (search.analysis.textmatch.run_regex) matches its title, summary or body.
Only the documents whose field holds every word of the run (cached sets) are read and
searched: the same documents as reading them all, because every document the expression
matches holds them.

Why every match passes. The expression matches a segment per word (its letters, each folding
to the word's letter, with at most one dot between two of them), the segments separated by
non-word characters. The tokenizer (search.analysis.tokenizer) indexes a dotted token or
number ("TP.HCM", "50.000") as its whole and as each of its groups ("tp", "hcm"). So a
segment that is one token, or one group of a dotted token, is the word as a term of the
field; a segment that is not one unit ("abcd.e" for "abcde", which the tokenizer splits)
starts with a term that is a proper prefix of the word and ends with one that is a proper
suffix. A document holding each word, whole or as such a prefix and suffix, passes; the check
over-approximates (a passing document may not match), and the stored text decides.

The words' positions could narrow further, but decoding a posting block per document and
word costs more than reading the document's stored text and searching it (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from whoosh.searching import Searcher

from search.execute.bitmaps import DocSet, docset, union
from search.execute.docsets import term_docs
from search.index.schema import FOLDED

RUN_FIELDS = ("title", "summary", "body")  # the stored texts a run is looked for in


def may_hold_run(searcher: Searcher, run: tuple[str, ...], docs: Iterable[int]) -> DocSet:
    """The documents of `docs` whose title, summary or body may hold the run (a superset
    of those the run's expression matches in their stored text, see the module docstring)."""
    wanted = docset(docs)
    return union(_holding_every_word(searcher, name + FOLDED, run, wanted) for name in RUN_FIELDS)


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
