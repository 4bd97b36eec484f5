"""Accent-insensitive word patterns find what the analysis chain finds, at the text's offsets."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.analysis.chains import ExactAnalyzer, fold_term
from search.analysis.textmatch import (
    char_class,
    find_words,
    holds_run,
    opens_with,
    pairs_side_by_side,
    run_regex,
    runs,
    words_regex,
)
from search.features.highlight import densest_window

WORDS_TABLE = [
    ("Đà Nẵng mở rộng", {"da", "nang"}, (), ["Đà", "Nẵng"]),
    ("ĐÀ NẴNG, đa năng", {"da", "nang"}, (), ["ĐÀ", "NẴNG", "đa", "năng"]),
    ("Danang và da_nang", {"da", "nang"}, (), ["da", "nang"]),
    ("giá 50.000 đồng, 1,5 tỷ", {"50000", "15"}, (), ["50.000", "1,5"]),
    ("TP.HCM hôm nay", {"tp", "hcm"}, (), ["TP", "HCM"]),
    ("TP.HCM hôm nay", {"tphcm"}, (), ["TP.HCM"]),
    ("Thủ tướng thu hút", set(), ("thu",), ["Thủ", "thu"]),
    ("Ðà Lạt", {"da"}, (), ["Ðà"]),  # the Eth look-alike
    ("Müller và Nguyễn", {"muller", "nguyen"}, (), ["Müller", "Nguyễn"]),
    ("hoà bình, hòa bình", {"hoa"}, (), ["hoà", "hòa"]),
    ("nothing here", {"da"}, (), []),
    # a separated number ends a word even when a letter follows it, as the chain reads it
    ("vé 50.000đ, 17,8A", {"50000", "d", "178", "a"}, (), ["50.000", "đ", "17,8", "A"]),
    ("vé 50.000đ", {"000"}, (), ["000"]),
    ("năm 2024, 2025 và 1.202", set(), ("202",), ["2024", "2025", "202"]),  # a group too
    ("Đà Nẵng", set(), (), []),
    ("mã a1,2b", {"2", "a", "b"}, (), []),  # "a1" and "2b" are words: no number here
    ("mã a1,2b", {"a1", "2b"}, (), ["a1", "2b"]),
]


CLASS_TABLE = [
    "Aa",  # Latin-1 alone: one class
    "AaÀÁÂÃÄÅàáâãäåĂăẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặ",  # a: Latin-1, then two runs
    "UuÙÚÛÜùúûüŨũƯưỤụỦủỨứỪừỬửỮữỰự",  # u: Latin-1, then four runs
    "DdĐđ",  # one run past Latin-1
    "ĂĐƠ",  # nothing in Latin-1, three single code points
    "ж",
    "-]^\\",  # characters a class would read as syntax
    "Ă-]^",  # the same beside a character past Latin-1
]


@pytest.mark.parametrize("chars", CLASS_TABLE)
def test_a_char_class_matches_its_characters_and_no_other(chars: str) -> None:
    pattern = re.compile(char_class(chars))
    probes = {chr(c) for c in range(0x2000)} | set(chars) | {"ẠA", "Ạ{"}
    assert {p for p in probes if pattern.fullmatch(p)} == set(chars)


@pytest.mark.parametrize(("text", "words", "prefixes", "expected"), WORDS_TABLE)
def test_words_are_found_accents_ignored(
    text: str, words: set[str], prefixes: tuple[str, ...], expected: list[str]
) -> None:
    spans = find_words(text, words_regex(frozenset(words), prefixes))
    assert [text[a:b] for a, b in spans] == expected


@pytest.mark.parametrize(
    ("text", "pair", "found"),
    [
        ("sân bay Đà Nẵng", ("da", "nang"), True),
        ("Đà, Nẵng", ("da", "nang"), True),
        ("Đà Nam Nẵng", ("da", "nang"), False),
        ("Đàn Nẵng", ("da", "nang"), False),
        ("hàng không", ("hang", "khong"), True),
    ],
)
def test_pairs_side_by_side(text: str, pair: tuple[str, str], found: bool) -> None:
    regex = words_regex(frozenset(pair))
    assert (pair in pairs_side_by_side(runs(text, regex))) is found
    assert bool(run_regex(pair).search(text)) is found


def test_runs_group_words_side_by_side() -> None:
    text = "Sân bay Đà Nẵng, sân bay Huế"
    found = runs(text, words_regex(frozenset({"san", "bay", "da", "nang", "hue"})))
    assert found == [(0, ["san", "bay", "da", "nang", "san", "bay", "hue"])]
    assert holds_run(found, ("da", "nang", "san")) and not holds_run(found, ("nang", "hue"))
    gapped = runs("Đà Lạt và Nẵng", words_regex(frozenset({"da", "nang"})))
    assert gapped == [(0, ["da"]), (10, ["nang"])]


VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
)
ALPHABET = VIETNAMESE + VIETNAMESE.upper() + "0123456789 ,;-()\n"  # dotted runs: the table


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=80), st.data())
def test_spans_equal_the_chains_tokens(text: str, data: st.DataObject) -> None:
    text = unicodedata.normalize("NFC", text)
    tokens = [
        (fold_term(t.text), t.startchar, t.endchar) for t in ExactAnalyzer()(text, chars=True)
    ]
    if not tokens:
        return
    wanted = frozenset(data.draw(st.sets(st.sampled_from([t for t, _, _ in tokens]), min_size=1)))
    expected = {i for term, start, end in tokens if term in wanted for i in range(start, end)}
    got = {i for start, end in find_words(text, words_regex(wanted)) for i in range(start, end)}
    assert got == expected


@pytest.mark.parametrize(
    ("text", "words", "found"),
    [
        ("Đà Nẵng mở rộng sân bay", ("da", "nang"), True),
        ("“Đà Nẵng” mở rộng", ("da", "nang"), True),
        ("Sân bay Đà Nẵng", ("da", "nang"), False),
        ("Đà Nẵngx", ("da", "nang"), False),
    ],
)
def test_openings(text: str, words: tuple[str, ...], found: bool) -> None:
    regex = words_regex(frozenset(words))
    assert opens_with(text, runs(text, regex), list(words)) is found


def test_runs_read_capitals_as_the_chain_does() -> None:
    text = "CHIA Sẻ thông tin"
    found = runs(text, words_regex(frozenset({"chia", "se", "thong", "tin"})))
    assert found == [(0, ["chia", "se", "thong", "tin"])]
    assert opens_with(text, found, ["chia", "se"])


def _densest_window_by_counting(spans: list[tuple[int, int]], width: int) -> int:
    """The snippet window as first written: every window counted span by span."""
    best_start, best_count = 0, -1
    for span_start, _ in spans:
        window_start = max(0, span_start - width // 4)
        count = sum(1 for s, e in spans if s >= window_start and e <= window_start + width)
        if count > best_count:
            best_start, best_count = window_start, count
    return best_start


@settings(max_examples=300, deadline=None)
@given(
    gaps=st.lists(st.tuples(st.integers(0, 60), st.integers(1, 30)), min_size=1, max_size=40),
    width=st.integers(20, 200),
)
def test_the_snippet_window_is_the_densest(gaps: list[tuple[int, int]], width: int) -> None:
    """Spans in order and apart (as match_spans gives them): the window found by bisection
    is the one counting every window gives."""
    spans, at = [], 0
    for gap, length in gaps:
        spans.append((at + gap, at + gap + length))
        at += gap + length
    text = "x" * (at + 1)  # no spaces: the start is not moved to a word's beginning
    assert densest_window(text, spans, width) == _densest_window_by_counting(spans, width)
