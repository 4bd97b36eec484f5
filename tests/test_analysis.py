"""The analysis chains, as (input, expected terms) tables."""

from __future__ import annotations

import pickle
import unicodedata

import pytest

from search.analysis.chains import (
    ExactAnalyzer,
    ExactBigramAnalyzer,
    FoldedAnalyzer,
    FoldedBigramAnalyzer,
)
from search.analysis.syllables import place_tone


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def terms(analyzer: object, text: str) -> list[str]:
    return [token.text for token in analyzer(text)]  # type: ignore[operator]


EXACT_CASES = [
    ("Đà Nẵng", ["đà", "nẵng"]),
    ("Ðà Nẵng", ["đà", "nẵng"]),  # Eth look-alike U+00D0
    ("HÐND tỉnh", ["hđnd", "tỉnh"]),
    (nfd("Thị trường"), ["thị", "trường"]),  # decomposed input
    ("trươ\u0300ng", ["trường"]),  # mixed: one mark decomposed
    (nfd("Hòa bình"), ["hòa", "bình"]),
    ("hoà hòa", ["hòa", "hòa"]),  # both tone styles, one term
    ("thuỷ thủy khoẻ khỏe hoá hóa", ["thủy", "thủy", "khỏe", "khỏe", "hóa", "hóa"]),
    ("Uỷ ban", ["ủy", "ban"]),
    ("hoàng huỳnh quý già gìn", ["hoàng", "huỳnh", "quý", "già", "gìn"]),  # no style difference
    ("người muốn chuyện rượu ngoài khuỷu", ["người", "muốn", "chuyện", "rượu", "ngoài", "khuỷu"]),
    ("baỏ lựơng nghịêm đaị Ðảm", ["bảo", "lượng", "nghiệm", "đại", "đảm"]),  # misplaced marks
    ("XỊT CHỐNG NẮNG", ["xịt", "chống", "nắng"]),
    ("ở ô tô, ý kiến; Ý", ["ở", "ô", "tô", "ý", "kiến", "ý"]),  # one-letter syllables kept
    ("máy bay an toàn có thể", ["máy", "bay", "an", "toàn", "có", "thể"]),  # no stop list
    ("1.268 tỷ, tăng 17,8%", ["1", "268", "1268", "tỷ", "tăng", "17", "8", "178"]),
    ("1.000 người", ["1", "000", "1000", "người"]),
    ("ngày 24/10/2019", ["ngày", "24", "10", "2019"]),
    ("2.000.000đ", ["2", "000", "000", "2000000", "đ"]),
    ("«Hà Nội» — (mưa) lớn!!!", ["hà", "nội", "mưa", "lớn"]),
    ("Mưa 🌧️ to 😀", ["mưa", "to"]),
    ("COVID-19 Smart City TP.HCM", ["covid", "19", "smart", "city", "tp", "hcm", "tphcm"]),
    ("TP. HCM", ["tp", "hcm"]),
    ("U.23 Việt Nam, U23", ["u", "23", "u23", "việt", "nam", "u23"]),
    ("cafe coffee running", ["cafe", "coffee", "running"]),  # English untouched, not stemmed
    (
        "zero\u200bwidth soft\u00adhyphen",
        ["zero", "width", "zerowidth", "soft", "hyphen", "softhyphen"],
    ),
    ("snake_case", ["snake", "case"]),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), EXACT_CASES)
def test_exact_terms(text: str, expected: list[str]) -> None:
    assert terms(ExactAnalyzer(), text) == expected


FOLDED_CASES = [
    ("Đà Nẵng", ["da", "nang"]),
    ("Ðà Nẵng", ["da", "nang"]),
    (nfd("Thị trường"), ["thi", "truong"]),
    ("đường Dương đương", ["duong", "duong", "duong"]),
    ("Đài đại dài", ["dai", "dai", "dai"]),
    ("hoà hòa", ["hoa", "hoa"]),
    ("XỊT CHỐNG NẮNG", ["xit", "chong", "nang"]),
    ("ở Ý", ["o", "y"]),
    ("Hà Nội 2019", ["ha", "noi", "2019"]),
]


@pytest.mark.parametrize(("text", "expected"), FOLDED_CASES)
def test_folded_terms(text: str, expected: list[str]) -> None:
    assert terms(FoldedAnalyzer(), text) == expected


BIGRAM_CASES = [
    (ExactBigramAnalyzer(), "hàng không Việt Nam", ["hàng_không", "không_việt", "việt_nam"]),
    (FoldedBigramAnalyzer(), "Hàng không Việt Nam", ["hang_khong", "khong_viet", "viet_nam"]),
    (ExactBigramAnalyzer(), "hoà bình", ["hòa_bình"]),
    (FoldedBigramAnalyzer(), nfd("chính quyền"), ["chinh_quyen"]),
    (ExactBigramAnalyzer(), "một", []),
    # a dotted word pairs with its neighbours as written with spaces and as one word
    (
        FoldedBigramAnalyzer(),
        "siêu đô thị ‘TP.HCM mới’",
        ["sieu_do", "do_thi", "thi_tp", "thi_tphcm", "tp_hcm", "hcm_moi", "tphcm_moi"],
    ),
    (
        ExactBigramAnalyzer(),
        "TP.HCM 50.000 đồng",
        ["tp_hcm", "hcm_50", "hcm_50000", "tphcm_50", "tphcm_50000", "50_000"]
        + ["000_đồng", "50000_đồng"],
    ),
    (ExactBigramAnalyzer(), "", []),
]


@pytest.mark.parametrize(("analyzer", "text", "expected"), BIGRAM_CASES)
def test_bigram_terms(analyzer: object, text: str, expected: list[str]) -> None:
    assert terms(analyzer, text) == expected


def test_nfc_and_nfd_give_identical_tokens() -> None:
    title = "Trường học ở Đà Nẵng hoà nhịp cùng thành phố"
    for analyzer in (ExactAnalyzer(), FoldedAnalyzer(), FoldedBigramAnalyzer()):
        assert terms(analyzer, nfd(title)) == terms(analyzer, title)


def test_offsets_point_into_the_stored_text() -> None:
    text = "Ông Dương ở «Đà Nẵng»: 1.268 tỷ"
    for token in ExactAnalyzer()(text, chars=True):
        original = text[token.startchar : token.endchar]
        assert token.text in terms(ExactAnalyzer(), original)


def test_bigram_offsets_cover_both_syllables() -> None:
    text = "về Đà Nẵng"
    spans = [
        (t.text, text[t.startchar : t.endchar]) for t in FoldedBigramAnalyzer()(text, chars=True)
    ]
    assert spans == [("ve_da", "về Đà"), ("da_nang", "Đà Nẵng")]


def test_positions_are_consecutive() -> None:
    positions = [t.pos for t in ExactAnalyzer()("một hai ba bốn", positions=True)]
    assert positions == [0, 1, 2, 3]


def test_a_number_and_its_digit_groups_share_a_position() -> None:
    tokens = [(t.text, t.pos) for t in ExactAnalyzer()("giá 50.000 đồng", positions=True)]
    assert tokens == [("giá", 0), ("50", 1), ("000", 1), ("50000", 1), ("đồng", 2)]
    pairs = [t.text for t in FoldedBigramAnalyzer()("50.000 đồng")]
    assert "50000_dong" in pairs and "50_000" in pairs


@pytest.mark.parametrize(
    "text",
    [text for text, _ in EXACT_CASES + FOLDED_CASES]
    + ["Hoà  bình\tthuỷ\n", "ÐÀ NẴNG 2019", "x²", "TP.HCM 1.268", "abc_def ghi", "  "],
)
def test_exact_terms_is_the_chain_in_query_mode(text: str) -> None:
    """exact_terms reads plain words without the chain: the same terms as the chain's."""
    from search.analysis.chains import exact_terms, fold_term, folded_terms

    chain = [token.text for token in ExactAnalyzer()(text, mode="query")]
    assert exact_terms(text) == chain
    assert folded_terms(text) == [fold_term(term) for term in chain]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("1.268 tỷ", ["1268", "tỷ"]),
        ("50 000", ["50", "000"]),
        ("17,8%", ["178"]),
        ("TP.HCM", ["tp", "hcm"]),
        ("tphcm", ["tphcm"]),
        ("u23", ["u23"]),
        ("U.23", ["u", "23"]),
    ],
)
def test_queries_keep_numbers_whole(query: str, expected: list[str]) -> None:
    from search.analysis.chains import exact_terms

    assert exact_terms(query) == expected


@pytest.mark.parametrize(
    ("syllable", "expected"),
    [
        ("hoà", "hòa"),
        ("thuỷ", "thủy"),
        ("quý", "quý"),
        ("gìn", "gìn"),
        ("giữ", "giữ"),
        ("coffee", "coffee"),
        ("mưa", "mưa"),
        ("thuở", "thuở"),
        ("khuya", "khuya"),
    ],
)
def test_place_tone(syllable: str, expected: str) -> None:
    assert place_tone(syllable) == expected


@pytest.mark.parametrize(
    "make", [ExactAnalyzer, FoldedAnalyzer, ExactBigramAnalyzer, FoldedBigramAnalyzer]
)
def test_chains_survive_pickling(make: object) -> None:
    """Whoosh pickles the schema into the index: chains must reload and behave the same."""
    analyzer = make()  # type: ignore[operator]
    sample = "Ðà Nẵng hoà bình, 1.268 người ở " + nfd("Thị trường")
    reloaded = pickle.loads(pickle.dumps(analyzer))
    assert terms(reloaded, sample) == terms(analyzer, sample)
    assert reloaded == analyzer
