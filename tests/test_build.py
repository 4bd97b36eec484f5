"""Building the weighted Whoosh queries from parsed ones: the one place weights show.

The expected strings carry the weights of search.query.weights, so tuning a weight changes
these tables only. Inputs are typed text for readability; their parsing is test_query.py's.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.errors import QueryTooExpensive
from search.query.build import build_query, restoration_bonus, scoring_query
from search.query.parse import LEVELS, parse_query

# Accented query words: exact matches count double, accent-free-only matches a quarter.
BAO = (
    "(title:bão^6.0 OR title_folded:bao^0.75 OR summary:bão^3.0 OR summary_folded:bao^0.375 "
    "OR body:bão^2.0 OR body_folded:bao^0.25 OR slug_folded:bao^2.25)"
)
MUA = (
    "(title:mưa^6.0 OR title_folded:mua^0.75 OR summary:mưa^3.0 OR summary_folded:mua^0.375 "
    "OR body:mưa^2.0 OR body_folded:mua^0.25 OR slug_folded:mua^2.25)"
)
# Accent-free query words: the folded fields carry the match, a literal match counts double.
BAO_PLAIN = (
    "(title:bao^6.0 OR title_folded:bao^3.0 OR summary:bao^3.0 OR summary_folded:bao^1.5 "
    "OR body:bao^2.0 OR body_folded:bao OR slug_folded:bao^9.0)"
)
# Excluded words match without accents and unweighted by accents.
NOT_BAO = (
    "ANDNOT (title_folded:bao^3.0 OR summary_folded:bao^1.5 OR body_folded:bao "
    "OR slug_folded:bao^9.0))"
)

WEIGHTED = [
    ("bão", BAO),
    ("bao", BAO_PLAIN),
    ("title:Đà", "(title:đà^6.0 OR title_folded:da^0.75)"),
    ("title:hoa", "(title:hoa^6.0 OR title_folded:hoa^3.0)"),
    ('author:"Minh Hòa"', 'author_folded:"minh hoa"'),
    ("source:tuoi-tre", 'source_folded:"tuoi tre"'),
    ("category:thời", "category_folded:thoi"),
    (
        "nguy*",
        "(title_folded:nguy* OR summary_folded:nguy* OR body_folded:nguy* OR slug_folded:nguy*)",
    ),
    (
        "nguyen~1",
        "(title_folded:nguyen~^3.000000 OR summary_folded:nguyen~^1.500000 "
        "OR body_folded:nguyen~ OR slug_folded:nguyen~^9.000000)",
    ),
    ("-bão mưa", f"({MUA} {NOT_BAO}"),
    ("-bão", f"(None:* {NOT_BAO}"),
    (
        'mưa -"bão lũ"',
        f'({MUA} ANDNOT (title_folded:"bao lu" OR '
        'summary_folded:"bao lu" OR body_folded:"bao lu"))',
    ),
    ("", "None:*"),
]


@pytest.mark.parametrize(("text", "expected"), WEIGHTED)
def test_weighted_query_strings(text: str, expected: str) -> None:
    assert str(build_query(parse_query(text))) == expected


ADJACENCY = "ANDMAYBE (title_bigram_folded:ha_noi^9.0 OR summary_bigram_folded:ha_noi^4.5))"


def test_adjacent_words_are_rewarded_not_required() -> None:
    built = str(build_query(parse_query("ha noi")))
    assert built.endswith(ADJACENCY)
    assert " AND (title:noi^6.0" in built
    assert built.count("ANDMAYBE") == 1


def test_accented_pairs_also_reward_the_exact_pair() -> None:
    built = str(build_query(parse_query("hàng không")))
    assert "title_bigram:hàng_không^18.0" in built
    assert "title_bigram_folded:hang_khong^9.0" in built


def test_alternatives_are_one_group() -> None:
    built = str(build_query(parse_query("bão OR mưa")))
    assert built.startswith(f"(({BAO} OR {MUA}) ANDMAYBE (title_bigram:bão_mưa^18.0")


@pytest.mark.parametrize(
    ("text", "level", "expected_top"),
    [
        ("a b c", "all", "(((title:a"),
        ("a b c", "most", "((((title:b"),
        ("a b c", "any", "(((title:a"),
    ],
)
def test_relaxation_levels(text: str, level: str, expected_top: str) -> None:
    built = str(build_query(parse_query(text), level))
    assert built.startswith(expected_top)
    joiner = {"all": ") AND (", "most": ") AND (", "any": ") OR ("}[level]
    assert joiner in built


def test_most_means_all_but_one() -> None:
    built = build_query(parse_query("mot hai ba"), "most")
    required = built.a  # type: ignore[attr-defined]  # AndMaybe(required, bonus)
    assert len(required.subqueries) == 3
    assert all(len(part.subqueries) == 2 for part in required.subqueries)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bão", BAO),
        ("mưa -bão", MUA),  # excluded words never score
        (
            "ha noi",
            "(title:ha^6.0 OR title_folded:ha^3.0 OR summary:ha^3.0 OR summary_folded:ha^1.5 "
            "OR body:ha^2.0 OR body_folded:ha OR slug_folded:ha^9.0 "
            "OR title:noi^6.0 OR title_folded:noi^3.0 OR summary:noi^3.0 "
            "OR summary_folded:noi^1.5 OR body:noi^2.0 OR body_folded:noi OR slug_folded:noi^9.0 "
            "OR title_bigram_folded:ha_noi^9.0 OR summary_bigram_folded:ha_noi^4.5)",
        ),
        ("", "None:*"),
    ],
)
def test_scoring_query_is_one_flat_or(text: str, expected: str) -> None:
    assert str(scoring_query(parse_query(text))) == expected


@pytest.mark.parametrize(
    ("words", "restored", "expected"),
    [
        (
            ("da", "nang"),
            ["đà", "nẵng"],
            "title:đà^3.0 summary:đà^1.5 body:đà title:nẵng^3.0 summary:nẵng^1.5 body:nẵng "
            "title_bigram:đà_nẵng^9.0 summary_bigram:đà_nẵng^4.5",
        ),
        (
            ("gia", "vang", "mieng"),
            ["giá", "vang", "mieng"],
            "title:giá^3.0 summary:giá^1.5 body:giá "
            "title_bigram:giá_vang^9.0 summary_bigram:giá_vang^4.5",
        ),
        (("duong",), ["duong"], ""),  # nothing restored: no reward
    ],
)
def test_restored_accents_count_half_a_typed_accent(
    words: tuple[str, ...], restored: list[str], expected: str
) -> None:
    assert " ".join(map(str, restoration_bonus(words, restored))) == expected


# The grammar's tokens, so that random input often combines them.
QUERY_PIECES = [" ", "bão", "Đà", "nguy", "*", "~", "2", "-", '"', "OR", "|", "NOT", "title:"]
QUERY_PIECES += ["x:", "nguyen~1", "nguy*", '"a b"']


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(QUERY_PIECES) | st.text(max_size=2), max_size=10).map("".join))
def test_whatever_parses_builds_at_every_level(text: str) -> None:
    try:
        parsed = parse_query(text)
    except QueryTooExpensive:
        return
    for level in LEVELS:
        build_query(parsed, level)
    scoring_query(parsed)
