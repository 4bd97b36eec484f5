"""The documents that may hold a run (search.execute.run_scan) against what they replace:
reading every document's stored text and searching it with the run's expression."""

from __future__ import annotations

import random
from typing import Any

import pytest

from search.analysis.chains import fold_term, folded_terms
from search.analysis.textmatch import run_regex
from search.execute.passages import holders_among
from search.execute.run_scan import RUN_FIELDS, may_hold_run


def read_holders(searcher: Any, run: tuple[str, ...], docs: list[int]) -> set[int]:
    """What reading them all finds: the documents whose stored text the expression matches."""
    regex = run_regex(run)
    return {
        doc
        for doc in docs
        if any(regex.search(searcher.stored_fields(doc).get(name, "")) for name in RUN_FIELDS)
    }


def every_doc(searcher: Any) -> list[int]:
    return sorted(searcher.reader().all_doc_ids())


@pytest.mark.parametrize(
    ("typed", "holders"),
    [
        ("troi mua lon o da", 3),  # side by side, in body, title and summary
        ("dan tp hcm co them", 3),  # "TP.HCM": two words at one position
        ("gia 50 000 dong moi", 3),  # "50.000" read as two typed numbers
        ("gia 50000 d moi kg", 0),  # "50.000đ": the expression never matches, the sets do
        ("ho o thanhpho moi co", 3),  # "thành.phố": one typed word over two tokens
        ("di xy abcde roi ve", 3),  # "xy.abc.de": one typed word, two groups of one token
        ("chieu nay vao tru ong", 3),  # a soft hyphen inside "trường"
        ("doi u 23 viet nam", 3),  # "U.23"
        ("song o abthanhpho moi co", 3),  # "ab.thanh.pho": one typed word over two tokens
        ("song o ab thanh pho moi", 3),
        ("hom nay troi mua lon", 3),
        ("nay hom troi mua lon", 0),  # shuffled: held nowhere
    ],
)
def test_holders_equal_reading_every_text(run_texts_index: Any, typed: str, holders: int) -> None:
    """Every holder passes the check, so the holders found are those reading every text
    finds."""
    run = tuple(fold_term(word) for word in typed.split())
    with run_texts_index.searcher() as searcher:
        docs = every_doc(searcher)
        expected = read_holders(searcher, run, docs)
        assert len(expected) >= holders  # the generated articles may hold a short run too
        assert expected <= set(may_hold_run(searcher, run, docs))
        found = holders_among(searcher, [(doc, 1.0) for doc in docs], run, float("inf"))
        assert [doc for doc, _ in found] == sorted(expected)


@pytest.mark.parametrize(
    ("index_name", "most_passing"),
    [
        ("demo_index", 0.1),
        ("churned_index", 0.1),
        # generated articles draw from a small vocabulary: most hold any run's every word
        ("generated_index", 1.0),
    ],
)
def test_sampled_runs_equal_reading_every_text(
    request: pytest.FixtureRequest, index_name: str, most_passing: float
) -> None:
    """Runs of 5-8 words copied from bodies, titles and summaries, and shuffled: the
    documents passing the check include every holder, and few others."""
    index = request.getfixturevalue(index_name)
    rng = random.Random(3)
    held, passed, asked = 0, 0, 0
    with index.searcher() as searcher:
        docs = every_doc(searcher)
        texts = [fields.get(rng.choice(RUN_FIELDS)) or "" for _, fields in searcher.iter_docs()]
        for _ in range(40):
            words = folded_terms(rng.choice(texts))
            size = rng.randint(5, 8)
            if len(words) < size:
                continue
            start = rng.randrange(len(words) - size + 1)
            run = list(words[start : start + size])
            for candidate in (tuple(run), tuple(rng.sample(run, len(run)))):
                expected = read_holders(searcher, candidate, docs)
                passing = set(may_hold_run(searcher, candidate, docs))
                assert expected <= passing, candidate
                held += bool(expected)
                passed += len(passing)
                asked += len(docs)
    assert held >= 15  # copied runs are held: the check is not all empty sets
    assert passed <= most_passing * asked  # the words' sets narrow the reading down
