"""Runs of words in bodies found from positions (search.execute.passages.holding_run and
search.index.segment_positions) match what Whoosh's phrase matcher finds."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from whoosh import query as wq

from search.analysis.chains import folded_terms
from search.execute.docsets import DocSetQuery, live_docs, term_docs
from search.execute.passages import holding_run
from search.index.caches import IndexCaches, caches_of
from search.index.derived import ensure_sidecars
from search.index.segment_positions import (
    _matcher_positions,
    has_derived_positions,
    segment_positions,
)

FIELD = "body_folded"


def phrase_holders(searcher: Any, run: tuple[str, ...], docs: Any) -> set[int]:
    """What the span matcher finds: Whoosh's phrase query, restricted to `docs`."""
    query = wq.And([DocSetQuery(docs), wq.Phrase(FIELD, list(run))])
    return set(searcher.docs_for_query(query))


def sample_runs(searcher: Any, seed: int, count: int) -> list[tuple[str, ...]]:
    """Runs of 5-8 folded words: copied from bodies (held at least there), shuffled (mostly
    held nowhere), and a word repeated."""
    rng = random.Random(seed)
    bodies = [fields.get("body", "") for _, fields in searcher.iter_docs()]
    runs = []
    while len(runs) < count:
        words = folded_terms(rng.choice(bodies))
        size = rng.randint(5, 8)
        if len(words) < size:
            continue
        start = rng.randrange(len(words) - size + 1)
        run = list(words[start : start + size])
        runs.append(tuple(run))
        rng.shuffle(run)
        runs.append(tuple(run))
        runs.append((run[0], run[0], *run[1:4]))
    return runs


@pytest.mark.parametrize("derived", [False, True])
@pytest.mark.parametrize("index_name", ["demo_index", "churned_index", "generated_index"])
def test_runs_held_equal_the_phrase_matchers(
    request: pytest.FixtureRequest, copy_of: Any, index_name: str, derived: bool
) -> None:
    """With positions decoded block by block, and read from the derived files
    (search.index.positions_sidecar) of every segment."""
    index = copy_of(index_name) if derived else request.getfixturevalue(index_name)
    held_somewhere = 0
    with index.searcher() as searcher:
        if derived:
            ensure_sidecars(index.storage.folder, searcher.reader(), min_docs=1)
            caches = caches_of(searcher)
            leaves = [leaf for leaf, _ in searcher.reader().leaf_readers()]
            assert all(has_derived_positions(caches, leaf, FIELD) for leaf in leaves)
        for run in sample_runs(searcher, seed=5, count=60):
            every_word = live_docs(searcher)
            for word in run:
                every_word &= term_docs(searcher, FIELD, word)
            expected = phrase_holders(searcher, run, every_word)
            assert set(holding_run(searcher, FIELD, run, every_word)) == expected, run
            held_somewhere += bool(expected)
    assert held_somewhere >= 20  # copied runs are held: the check is not all empty sets


@pytest.mark.parametrize("index_name", ["churned_index", "generated_index"])
def test_positions_equal_whooshs_matcher(request: pytest.FixtureRequest, index_name: str) -> None:
    """Every term of the folded body in every segment: the positions read block by block
    (inlined lists, lists of many blocks, every other document asked) are the matcher's."""
    index = request.getfixturevalue(index_name)
    longest = 0
    with index.searcher() as searcher:
        for leaf, _ in searcher.reader().leaf_readers():
            for term in leaf.lexicon(FIELD):
                text = term.decode("utf-8")
                expected = {}
                matcher = leaf.postings(FIELD, text)
                while matcher.is_active():
                    expected[matcher.id()] = list(matcher.value_as("positions"))
                    matcher.next()
                asked = np.array(sorted(expected)[::2] + [leaf.doc_count_all()], dtype=np.int64)
                wanted = {d: expected[d] for d in asked.tolist() if d in expected}
                caches = IndexCaches()
                assert segment_positions(caches, leaf, FIELD, text, asked) == wanted, text
                assert _matcher_positions(leaf, FIELD, text, asked) == wanted, text
                longest = max(longest, len(expected))
    if index_name == "generated_index":
        assert longest > 128  # lists of several W3 blocks were read


def test_a_body_run_is_listed_among_the_holders(generated_index: Any) -> None:
    from search.execute.passages import run_holders

    with generated_index.searcher() as searcher:
        run = tuple(folded_terms(searcher.stored_fields(1)["body"])[2:8])
        expected = phrase_holders(searcher, run, live_docs(searcher))
        found = run_holders(searcher, run)
        assert 1 in expected and found is not None and expected <= set(found)
