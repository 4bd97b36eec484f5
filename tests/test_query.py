"""Query parsing: what a user typed becomes a syntax tree, tested as (typed text, rendering).

The renderings hold no weights: building the weighted query is tested in test_build.py.
"""

from __future__ import annotations

import ast
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.errors import QueryTooExpensive
from search.query.parse import ParsedQuery, parse_query

QUERY_LAYER = Path(__file__).resolve().parent.parent / "search" / "query"

PARSED = [
    # normalized as typed: composed, lower case, accents kept (folding is build's business)
    ("bão", "AND(word bão)"),
    ("Bão", "AND(word bão)"),
    (unicodedata.normalize("NFD", "bão"), "AND(word bão)"),
    ("  bão  ", "AND(word bão)"),
    ("bao", "AND(word bao)"),
    ("gia vang -bão", "AND(word gia, word vang, NOT word bão)"),
    ("bão OR lũ miền trung", "AND(OR(word bão, word lũ), word miền, word trung)"),
    ("a | b OR c", "AND(OR(word a, word b, word c))"),
    # scopes
    ("title:Đà", "AND(word title:đà)"),
    ("TITLE:hoà", "AND(word title:hòa)"),
    ("title:hoa", "AND(word title:hoa)"),
    ('author:"Minh Hòa"', 'AND(phrase author:"minh hòa")'),
    ("source:tuoi-tre", 'AND(phrase source:"tuoi tre")'),
    ("category:thời", "AND(word category:thời)"),
    ('title:"bão lũ"', 'AND(phrase title:"bão lũ")'),
    # wildcards and exclusions
    ("nguy*", "AND(prefix nguy*)"),
    ("title:nguy*", "AND(prefix title:nguy*)"),
    ("-bão mưa", "AND(word mưa, NOT word bão)"),
    ('mưa -"bão lũ"', 'AND(word mưa, NOT phrase "bão lũ")'),
    ("-bão", "AND(NOT word bão)"),
    # nothing to look for
    ("", "AND()"),
    (")", "AND()"),
    ("NOT", "AND()"),
    ("*", "AND()"),
    ("?", "AND()"),
    ("-", "AND()"),
    # odd input is read as words
    ('"unbalanced quote', "AND(word unbalanced, word quote)"),
    ("OR bão", "AND(word or, word bão)"),
    ("bão OR", "AND(word bão)"),
    ("NOT bão", "AND(word bão)"),
    ("foo:bar", "AND(word foo, word bar)"),
    ('foo:"bar baz"', 'AND(phrase "foo bar baz")'),
    ("[a TO zzzz]", "AND(word a, word to, word zzzz)"),
    ('r"(a+)+b"', 'AND(word r, phrase "a b")'),
    ("x^1e308", "AND(word x, word 1e308)"),
    ("n~9/0", "AND(word n)"),
    ("TP.HCM", "AND(word tp, word hcm)"),
    ("“hàng không”", 'AND(phrase "hàng không")'),
    ("a\x00b", "AND(word a, word b)"),
    ("(" * 1000 + "bão" + ")" * 1000, "AND(word bão)"),  # deep nesting is just punctuation
    # fuzzy words: the edit distance grows with the word
    ("nguyen~9", "AND(fuzzy nguyen~1)"),  # six letters: one edit at most
    ("nguyen~", "AND(fuzzy nguyen~1)"),
    ("thanhpho~2", "AND(fuzzy thanhpho~2)"),
    ("thanhpho~9", "AND(fuzzy thanhpho~2)"),
    ("nhan~2", "AND(fuzzy nhan~1)"),
    ("title:nguyen~1", "AND(fuzzy title:nguyen~1)"),
    ("nba~2", "AND(word nba)"),  # three letters: a plain word
    ("nap~2/0", "AND(word nap)"),
    ("nguyen~0", "AND(word nguyen)"),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parsed_syntax(text: str, expected: str) -> None:
    assert str(parse_query(text)) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Hà Nội -bão title:mưa", ("hà", "nội")),  # neither excluded nor scoped words
        ('"bão lũ" OR miền trung', ("bão", "lũ", "miền", "trung")),
        ("nguy* thanhpho~2", ("nguy", "thanhpho")),
        ("", ()),
    ],
)
def test_typed_words_are_kept_in_order(text: str, words: tuple[str, ...]) -> None:
    assert parse_query(text).words == words  # the pairs that search.query.build rewards


def test_clause_count_is_bounded() -> None:
    parsed = parse_query(" ".join(f"w{n}" for n in range(500)))
    assert len(parsed.groups) == 32


@pytest.mark.parametrize("text", ["*abc", "ng*n", "ab*", "*a*", "body:*x", "a* b"])
def test_expensive_wildcards_are_refused(text: str) -> None:
    with pytest.raises(QueryTooExpensive):
        parse_query(text)


@pytest.mark.parametrize(
    "text", [" ".join(f"nguyen{n}~2" for n in range(4)), " ".join(f'"a{n} b"' for n in range(7))]
)
def test_many_expanding_clauses_are_refused(text: str) -> None:
    with pytest.raises(QueryTooExpensive):
        parse_query(text)


# The grammar's tokens, so that random input often combines them.
QUERY_PIECES = [" ", "bão", "Đà", "nguy", "*", "~", "2", "-", '"', "OR", "|", "NOT", "title:"]
QUERY_PIECES += ["x:", "nguyen~1", "nguy*", '"a b"']


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.lists(st.sampled_from(QUERY_PIECES) | st.text(max_size=2), max_size=10).map("".join),
    )
)
def test_any_input_parses_or_is_refused_as_too_expensive(text: str) -> None:
    try:
        parsed = parse_query(text)
    except QueryTooExpensive:
        return
    assert isinstance(parsed, ParsedQuery)
    assert str(parsed).startswith("AND(")


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_only_building_uses_the_ranking_weights() -> None:
    users = {
        path.name
        for path in QUERY_LAYER.glob("*.py")
        if "search.query.weights" in _imported_modules(path)
    }
    assert users == {"build.py"}
    parse_uses = _imported_modules(QUERY_LAYER / "parse.py")  # syntax only: no Whoosh queries
    assert not [m for m in parse_uses if m.startswith(("whoosh", "search.query."))]
