"""The documents that may hold a run (search.execute.run_scan) against what they replace:
reading every document's stored text and searching it with the run's expression. Each check
runs on the index as built (term sets only) and on a copy with decoded positions (term sets,
then the words' places)."""

from __future__ import annotations

import os
import random
from typing import Any

import pytest

from search.analysis.chains import fold_term, folded_terms
from search.analysis.textmatch import run_regex
from search.execute.passages import holders_among
from search.execute.run_scan import RUN_FIELDS, may_hold_run
from search.index.caches import caches_of
from search.index.derived import ensure_sidecars, existing_sidecars
from search.index.segment_positions import has_derived_positions
from search.index.store import open_index


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


def opened(request: pytest.FixtureRequest, copy_of: Any, name: str, derived: bool | str) -> Any:
    """The session index (`derived` False), or a copy of it with the derived files of every
    segment (True) or of all but its first ("some")."""
    if not derived:
        return request.getfixturevalue(name)
    index = copy_of(name)
    with index.reader() as reader:
        ensure_sidecars(index.storage.folder, reader, min_docs=1)
        if derived == "some":
            first = reader.leaf_readers()[0][0].segment()
            for path in existing_sidecars(index.storage.folder, [first]):
                os.remove(path)
    index = open_index(index.storage.folder)  # caches that never saw the removed files
    with index.searcher() as searcher:
        caches = caches_of(searcher)
        held = [
            has_derived_positions(caches, leaf, "body_folded")
            for leaf, _ in searcher.reader().leaf_readers()
        ]
    assert held == [derived is True or n > 0 for n in range(len(held))]
    return index


@pytest.mark.parametrize("derived", [False, True])
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
def test_holders_equal_reading_every_text(
    request: pytest.FixtureRequest, copy_of: Any, derived: bool, typed: str, holders: int
) -> None:
    """Every holder passes the check, so the holders found are those reading every text
    finds."""
    run = tuple(fold_term(word) for word in typed.split())
    with opened(request, copy_of, "run_texts_index", derived).searcher() as searcher:
        docs = every_doc(searcher)
        expected = read_holders(searcher, run, docs)
        assert len(expected) >= holders  # the generated articles may hold a short run too
        assert expected <= set(may_hold_run(searcher, run, docs))
        found = holders_among(searcher, [(doc, 1.0) for doc in docs], run, float("inf"))
        assert [doc for doc, _ in found] == sorted(expected)


@pytest.mark.parametrize(
    ("typed", "passing_without", "passing_with"),
    [
        # held side by side as a body, a title and a summary; "Đây là mưa lớn trời ở nay
        # hôm" (3 more) holds the words out of order
        ("hom nay troi mua lon", 6, 3),
        ("nay hom troi mua lon", 6, 0),
        # "Họ ở thành.phố mới" (3): a word's prefix starts it, the next word is within reach;
        # "Họ sống ở ab.thanh.pho mới" (3 more): "sống" stands between "họ" and "ở"
        ("ho o thanhpho moi co", 6, 3),
    ],
)
def test_positions_narrow_the_reading(
    request: pytest.FixtureRequest,
    copy_of: Any,
    typed: str,
    passing_without: int,
    passing_with: int,
) -> None:
    """Of the texts written for the runs (not the generated ones), those passing: all
    holding the words with term sets alone, only those with the words in reach with
    positions."""
    run = tuple(fold_term(word) for word in typed.split())
    for derived, passing in ((False, passing_without), (True, passing_with)):
        with opened(request, copy_of, "run_texts_index", derived).searcher() as searcher:
            written = [d for d in every_doc(searcher) if searcher.stored_fields(d)["id"][0] == "R"]
            assert len(may_hold_run(searcher, run, written)) == passing, derived


@pytest.mark.parametrize(
    ("index_name", "derived", "most_passing"),
    [
        ("demo_index", False, 0.1),
        ("churned_index", False, 0.1),
        # generated articles draw from a small vocabulary: most hold any run's every word
        ("generated_index", False, 1.0),
        ("demo_index", True, 0.01),
        ("churned_index", True, 0.01),
        # ... but few hold them in reach of each other
        ("generated_index", True, 0.05),
        # one segment without decoded positions: its documents pass on their terms alone
        ("generated_index", "some", 0.6),
    ],
)
def test_sampled_runs_equal_reading_every_text(
    request: pytest.FixtureRequest,
    copy_of: Any,
    index_name: str,
    derived: bool | str,
    most_passing: float,
) -> None:
    """Runs of 5-8 words copied from bodies, titles and summaries, and shuffled: the
    documents passing the check include every holder, and few others."""
    rng = random.Random(3)
    held, passed, asked = 0, 0, 0
    with opened(request, copy_of, index_name, derived).searcher() as searcher:
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
    assert passed <= most_passing * asked  # the check narrows the reading down
