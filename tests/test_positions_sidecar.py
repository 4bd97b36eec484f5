"""Decoded positions kept beside a segment (search.index.positions_sidecar, read by
search.index.segment_positions.positions_in) against Whoosh's matcher over the segment."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from search.execute import doc_ranks
from search.execute.positions import positions_in
from search.index.caches import IndexCaches
from search.index.derived import ensure_sidecars
from search.index.positions_sidecar import POSITION_FIELDS, list_positions
from search.index.segment_positions import derived_list
from search.index.w3_reader import w3_terms


def matcher_positions(leaf: Any, fieldname: str, text: str) -> dict[int, list[int]]:
    """The term's positions in each live document, as Whoosh's own matcher reads them."""
    found = {}
    matcher = leaf.postings(fieldname, text)
    while matcher.is_active():
        found[matcher.id()] = list(matcher.value_as("positions"))
        matcher.next()
    return found


@pytest.mark.parametrize(
    ("ranked", "step"),
    [
        (False, 2),
        (True, 2),
        # one document in 151: each in a block of its own (a block holds 128 postings), so
        # the positions before each are summed over its own block, not over the whole stretch
        (False, 151),
    ],
)
@pytest.mark.parametrize("index_name", ["churned_index", "generated_index", "run_texts_index"])
@pytest.mark.parametrize("fieldname", POSITION_FIELDS)
def test_positions_from_the_derived_file_equal_whooshs(
    copy_of: Any,
    monkeypatch: pytest.MonkeyPatch,
    index_name: str,
    fieldname: str,
    ranked: bool,
    step: int,
) -> None:
    """Every term of every segment, every `step`-th live document asked (and one past the
    last): each gets the matcher's positions, read from the derived file for every list not
    inlined in the term table. `ranked`: every list's bit ranks built first, as the warm-up
    builds a big segment's common ones, so that documents are found in lists by rank
    (segments with deletions never are)."""
    if ranked:
        monkeypatch.setattr(doc_ranks, "MIN_RANKED_DOCS", 1)
        monkeypatch.setattr(doc_ranks, "RANKED_SHARE", 10**9)
    index = copy_of(index_name)
    read_from_file = 0
    with index.searcher() as searcher:
        ensure_sidecars(index.storage.folder, searcher.reader(), min_docs=1)
        for leaf, _ in searcher.reader().leaf_readers():
            caches = IndexCaches()
            for term in leaf.lexicon(fieldname):
                text = term.decode("utf-8")
                expected = matcher_positions(leaf, fieldname, text)
                past = [] if ranked else [leaf.doc_count_all()]
                asked = np.array(sorted(expected)[::step] + past, dtype=np.int64)
                if ranked and not leaf.has_deletions():
                    built = doc_ranks.segment_ranks(caches, leaf, fieldname, text, 10**6)
                    assert built is not None or not expected
                docs, positions = positions_in(caches, leaf, fieldname, text, asked)
                got: dict[int, list[int]] = {}
                for doc, position in zip(docs.tolist(), positions.tolist(), strict=True):
                    got.setdefault(doc, []).append(position)
                assert got == {d: expected[d] for d in asked.tolist() if d in expected}, text
                if not w3_terms(leaf).term_info(fieldname, term).is_inlined():
                    assert derived_list(caches, leaf, fieldname, text) is not None
                    read_from_file += 1
    if fieldname == "body_folded":
        assert read_from_file >= 5  # lists of several blocks were read from the file


@pytest.mark.parametrize(
    ("values", "positions", "freqs"),
    [
        ([b"\x00\x00\x00\x02C\x02\x03\x04"], [3, 7], [2]),  # one byte a delta
        ([b"\x00\x00\x00\x01C\x01\x05", b"\x00\x00\x00\x01C\x01\x00"], [5, 0], [1, 1]),
        # a delta of 300 is a pickled list of ints: decoded value by value
        ([b"\x00\x00\x00\x02](K\x01M\x2c\x01e", b"\x00\x00\x00\x01C\x01\x09"], [1, 301, 9], [2, 1]),
    ],
)
def test_a_blocks_positions_are_decoded_as_whoosh_decodes_them(
    values: list[bytes], positions: list[int], freqs: list[int]
) -> None:
    from pickle import dumps

    from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC

    body = dumps(((0,) * len(values), None, tuple(values)), 3)
    info = dumps((len(values), len(values) - 1, 1.0, 0, 1, 1), 3)
    block = info + body
    data = WHOOSH3_HEADER_MAGIC + (-len(block)).to_bytes(4, "big", signed=True) + block
    got_positions, got_freqs = list_positions(data)
    assert got_positions.tolist() == positions
    assert got_freqs.tolist() == freqs
