"""Query parsing and building: pure functions, tested as tables of str(query)."""

from __future__ import annotations

import unicodedata

import pytest

from search.errors import QueryTooExpensive
from search.query.build import build_query
from search.query.parse import parse_query

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

GOLDEN = [
    ("bão", BAO),
    ("Bão", BAO),
    (unicodedata.normalize("NFD", "bão"), BAO),
    ("  bão  ", BAO),
    ("bao", BAO_PLAIN),
    ("title:Đà", "(title:đà^6.0 OR title_folded:da^0.75)"),
    ("TITLE:hoà", "(title:hòa^6.0 OR title_folded:hoa^0.75)"),
    ("title:hoa", "(title:hoa^6.0 OR title_folded:hoa^3.0)"),
    ('author:"Minh Hòa"', 'author_folded:"minh hoa"'),
    ("source:tuoi-tre", 'source_folded:"tuoi tre"'),
    ("category:thời", "category_folded:thoi"),
    (
        "nguy*",
        "(title_folded:nguy* OR summary_folded:nguy* OR body_folded:nguy* OR slug_folded:nguy*)",
    ),
    (
        "-bão mưa",
        f"({MUA} ANDNOT (title_folded:bao^3.0 OR summary_folded:bao^1.5 OR body_folded:bao "
        "OR slug_folded:bao^9.0))",
    ),
    (
        'mưa -"bão lũ"',
        f'({MUA} ANDNOT (title_folded:"bao lu" OR '
        'summary_folded:"bao lu" OR body_folded:"bao lu"))',
    ),
    ("", "None:*"),
    (")", "None:*"),
    ("NOT", "None:*"),
    ("*", "None:*"),
    ("?", "None:*"),
    ("-", "None:*"),
]


@pytest.mark.parametrize(("text", "expected"), GOLDEN)
def test_golden_query_strings(text: str, expected: str) -> None:
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
    ("text", "groups"),
    [
        ("bão OR lũ miền trung", [["bão", "lũ"], ["miền"], ["trung"]]),
        ('"unbalanced quote', [["unbalanced"], ["quote"]]),
        ("OR bão", [["or"], ["bão"]]),
        ("bão OR", [["bão"]]),
        ("foo:bar", [["foo"], ["bar"]]),
        ("[a TO zzzz]", [["a"], ["to"], ["zzzz"]]),
        ('r"(a+)+b"', [["r"], ["a", "b"]]),
        ("x^1e308", [["x"], ["1e308"]]),
        ("n~9/0", [["n"]]),
        ("TP.HCM", [["tp"], ["hcm"]]),
        ("“hàng không”", [["hàng", "không"]]),
        ("a\x00b", [["a"], ["b"]]),
    ],
)
def test_odd_input_is_read_as_words(text: str, groups: list[list[str]]) -> None:
    parsed = parse_query(text)
    assert [[t for c in g for t in c.terms] for g in parsed.groups] == groups


@pytest.mark.parametrize(
    ("text", "kind", "distance"),
    [
        ("nguyen~9", "fuzzy", 1),  # six letters: one edit at most
        ("nguyen~", "fuzzy", 1),
        ("thanhpho~2", "fuzzy", 2),
        ("thanhpho~9", "fuzzy", 2),
        ("nhan~2", "fuzzy", 1),
        ("nba~2", "terms", 0),  # three letters: a plain word
        ("nap~2/0", "terms", 0),
        ("nguyen~0", "terms", 0),
    ],
)
def test_fuzzy_distance_grows_with_the_word(text: str, kind: str, distance: int) -> None:
    clause = parse_query(text).groups[0][0]
    assert (clause.kind, clause.distance) == (kind, distance)


def test_clause_count_is_bounded() -> None:
    parsed = parse_query(" ".join(f"w{n}" for n in range(500)))
    assert len(parsed.groups) == 32


@pytest.mark.parametrize("text", ["*abc", "ng*n", "ab*", "*a*", "body:*x", "a* b"])
def test_expensive_wildcards_are_refused(text: str) -> None:
    with pytest.raises(QueryTooExpensive):
        parse_query(text)


def test_deep_nesting_is_just_punctuation() -> None:
    parsed = parse_query("(" * 1000 + "bão" + ")" * 1000)
    assert str(build_query(parsed)) == BAO


@pytest.mark.parametrize(
    "text", [" ".join(f"nguyen{n}~2" for n in range(4)), " ".join(f'"a{n} b"' for n in range(7))]
)
def test_many_expanding_clauses_are_refused(text: str) -> None:
    with pytest.raises(QueryTooExpensive):
        parse_query(text)
