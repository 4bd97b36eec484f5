"""The reranking of the scored window reads only what can still reach the page."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from search.engine import SearchRequest, run_search
from search.execute import candidates, ranking, rerank, retrieve
from search.execute.bitmaps import docset
from search.execute.docsets import query_docs
from search.query import weights
from search.query.build import restoration_bonus, scoring_query
from search.query.parse import parse_query

QUERIES = [
    "giao thong",  # common words: many near-equal scores
    "so giao duc va dao tao",  # a run of words, in titles and bodies
    "ha noi",
    "bao lu mien trung",
    "Đà Nẵng du lịch",
]


def scored(searcher: Any, q: str) -> tuple[Any, list[tuple[int, float | None]]]:
    """The query parsed, and its matches as the plan scores them before the reranking."""
    parsed = parse_query(q)
    restored = restoration_bonus(parsed.words, ranking.restored_words(searcher, parsed.words))
    matched = query_docs(searcher, parsed, "any") or frozenset()  # many: more to leave
    deadline = time.perf_counter() + 30
    ranked = ranking.score(searcher, scoring_query(parsed, restored), matched, 100, deadline)
    return parsed, ranked.hits


@pytest.mark.parametrize("q", QUERIES)
@pytest.mark.parametrize("need", [1, 3, 10])
def test_the_first_needed_are_the_same_as_with_every_document_read(
    searcher: Any, q: str, need: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed, ranked = scored(searcher, q)
    assert len(ranked) > need  # else there is nothing to leave unread
    everything = rerank.rerank_window(searcher, ranked, parsed, len(ranked))
    reads = []
    read = rerank.stored_fields  # the articles the rerank asks for, cached or not
    monkeypatch.setattr(rerank, "stored_fields", lambda s, d: reads.append(d) or read(s, d))
    pruned = rerank.rerank_window(searcher, ranked, parsed, need)
    assert pruned[:need] == everything[:need]
    assert sorted(d for d, _ in pruned) == sorted(d for d, _ in ranked)  # nothing dropped
    assert len(reads) <= len(ranked)


def test_some_documents_are_left_unread(searcher: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed, ranked = scored(searcher, "giao thong")
    reads: list[int] = []
    read = rerank.stored_fields
    monkeypatch.setattr(rerank, "stored_fields", lambda s, d: reads.append(d) or read(s, d))
    rerank.rerank_window(searcher, ranked, parsed, 1)
    assert 0 < len(reads) < len(ranked)


# Two articles hold every word of "cho noi cai rang don khach", scattered through long bodies;
# the one the reader means has all but "đón" in its title; "body-near" has them in its body.
WIDENING = [
    {"id": "meant", "title": "Chợ nổi Cái Răng tấp nập khách", "published": "2024-03-02"},
    {
        "id": "scattered-1",
        "title": "Ghi chép cuối tuần ở miền Tây",
        "body": "Sáng sớm chúng tôi ra chợ mua cái nồi đất. Chiều đón mưa, nước nổi lên "
        "mấy tấc. Bà cụ bảo răng yếu nên chỉ ăn cháo. Tối về nhà nghỉ gặp nhiều khách.",
        "published": "2024-03-05",
    },
    {
        "id": "scattered-2",
        "title": "Nhật ký một chuyến xe đêm",
        "body": "Người khách ngồi cạnh kể chuyện cái răng sâu, chuyện đi chợ, chuyện con đò "
        "nổi trên sông. Xe dừng đón thêm người ở ngã ba.",
        "published": "2024-03-04",
    },
    {"id": "other", "title": "Giá lúa tăng ở Cần Thơ", "published": "2024-03-01"},
    {
        "id": "body-near",
        "title": "Một ngày ở bến Ninh Kiều",
        "body": "Khách phương xa hỏi đường ra chợ nổi Cái Răng.",
        "published": "2024-03-03",
    },
]


def searcher_over(
    build_index: Any,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    records: list[dict[str, str]],
) -> Iterator[Any]:
    """A searcher over a real index of `records`, built in a fresh folder."""
    folder = tmp_path_factory.mktemp(name)
    source = folder / "articles.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    with build_index(folder / "ix", [source]).index.searcher() as searcher:
        yield searcher


@pytest.fixture(scope="module")
def widening_searcher(tmp_path_factory: pytest.TempPathFactory, build_index: Any) -> Iterator[Any]:
    yield from searcher_over(build_index, tmp_path_factory, "widening", WIDENING)


@pytest.mark.parametrize(
    ("q", "sort", "total", "first"),
    [
        # fewer than a page hold every word: titles with all but one join, ranked together
        # (not bodies: "body-near" stays out)
        ("cho noi cai rang don khach", "relevance", 3, "meant"),
        # date sorts keep the strict level: near misses would sit among exact matches
        ("cho noi cai rang don khach", "newest", 2, "scattered-1"),
        # two words: "all but one" would be any word, so no widening
        ("cai rang", "relevance", 4, "meant"),
        ("cho gia lua", "relevance", 1, "other"),  # nothing holds all three: all but one
    ],
)
def test_few_strict_matches_widen_to_titles_missing_one_word(
    widening_searcher: Any, q: str, sort: str, total: int, first: str
) -> None:
    result = run_search(widening_searcher, SearchRequest.from_params(q=q, sort=sort))
    assert (result["total"], result["hits"][0]["id"]) == (total, first)


@pytest.mark.parametrize(
    ("q", "widen", "level", "matched"),
    [
        ("cho noi cai rang don khach", True, "all", {"meant", "scattered-1", "scattered-2"}),
        ("cho noi cai rang don khach", False, "all", {"scattered-1", "scattered-2"}),
        ("cho gia lua", True, "most", {"other"}),
        ("zzzz cai", True, "any", {"body-near", "meant", "scattered-1", "scattered-2"}),
        ("zzzz qqqq", True, "any", set()),
        ("", True, "all", {r["id"] for r in WIDENING}),
    ],
)
def test_matching_step_names_its_level(
    widening_searcher: Any, q: str, widen: bool, level: str, matched: set[str]
) -> None:
    matches = retrieve.match(widening_searcher, parse_query(q), {}, widen)
    assert matches.level == level
    assert {widening_searcher.stored_fields(d)["id"] for d in matches.docs} == matched


# Twelve long bodies hold every word of "le hoi hoa ban dien bien nam" scattered and no title
# holds them all; the article meant has all but "năm" side by side in its title. One more
# title holds every word of "le hoi hoa ban dien nam", two every word of "hoa ban dien nam".
# Eleven titles hold every word of "mua hoa ban no trang nui
# rung" but one, ten of them all.
SCATTERED_BODY = (
    "Năm {year} ban tổ chức mở hội chợ. Khách mua hoa ở vùng biên giới. Lễ khai mạc mất điện."
)
MANY_MATCHES = [
    {"id": "meant", "title": "Lễ hội hoa ban ở Điện Biên", "published": "2024-03-01"},
    *(
        {
            "id": f"scattered-{i}",
            "title": f"Ghi chép số {i}",
            "body": SCATTERED_BODY.format(year=2010 + i),
            "published": f"2024-04-{10 + i}",
        }
        for i in range(12)
    ),
    {"id": "one-title", "title": "Năm nay hoa ban nở sớm, điện lực báo cắt điện"},
    {"id": "year-title", "title": "Lễ hội hoa ban năm nay mất điện"},
    *({"id": f"titled-{i}", "title": f"Mùa hoa ban nở trắng núi rừng số {i}"} for i in range(10)),
    {"id": "near-titled", "title": "Mùa hoa ban nở trắng núi đồi"},
]


@pytest.fixture(scope="module")
def many_matches_searcher(
    tmp_path_factory: pytest.TempPathFactory, build_index: Any
) -> Iterator[Any]:
    yield from searcher_over(build_index, tmp_path_factory, "many-matches", MANY_MATCHES)


@pytest.mark.parametrize(
    ("q", "sort", "total", "first", "absent"),
    [
        # 7 words, 12 matches, none in a title: the titles missing one word join (the meant
        # and year-title), and the meant leads
        ("le hoi hoa ban dien bien nam", "relevance", 14, "meant", "near-titled"),
        ("le hoi hoa ban dien bien nam", "newest", 12, "scattered-11", "meant"),
        # 6 words, one title holds them all: fewer than a page, so the same
        ("le hoi hoa ban dien nam", "relevance", 14, None, "near-titled"),
        # 4 words, no title holds them all: the near misses join
        ("le hoi hoa khach", "relevance", 14, None, "near-titled"),
        # 4 words, two titles hold them all: they beat the near misses, which stay out
        ("hoa ban dien nam", "relevance", 14, None, "meant"),
        # 7 words, ten titles hold every word: the near miss stays out
        ("mua hoa ban no trang nui rung", "relevance", 10, None, "near-titled"),
    ],
)
def test_near_miss_titles_join_when_no_title_holds_every_word(
    many_matches_searcher: Any, q: str, sort: str, total: int, first: str | None, absent: str
) -> None:
    result = run_search(many_matches_searcher, SearchRequest.from_params(q=q, sort=sort))
    ids = [hit["id"] for hit in result["hits"]]
    assert result["total"] == total
    assert ids[0] == first or first is None
    assert absent not in ids


@pytest.mark.parametrize(
    ("q", "missing"),
    [
        # the near-miss title lacks "năm"; the scattered bodies hold every word
        ("le hoi hoa ban dien bien nam", {"meant": ["nam"], "scattered-0": []}),
        # nothing holds all three: each hit says which it lacks, as typed
        ("rung nui ghi", {"titled-0": ["ghi"], "near-titled": None}),
        ("Lễ hội rừng", {"meant": ["rừng"], "year-title": ["rừng"]}),
        # a word with an alternative is never listed
        ("hội OR rừng ghi", {"scattered-0": []}),
    ],
)
def test_hits_name_the_typed_words_they_lack(
    many_matches_searcher: Any, q: str, missing: dict[str, list[str]]
) -> None:
    request = SearchRequest.from_params(q=q, per_page=100)
    result = run_search(many_matches_searcher, request)
    lacking = {hit["id"]: hit["missing"] for hit in result["hits"]}
    assert {k: lacking.get(k) for k in missing} == missing  # None: not a hit


def test_bounded_candidates_keep_the_near_miss_titles(
    many_matches_searcher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "ghi", the stray word, is the rarest: narrowing by it first keeps only the scattered
    # bodies, and the headline holding the six other words must still be scored
    monkeypatch.setattr(candidates, "MAX_CANDIDATES", 3)
    searcher = many_matches_searcher
    everything = docset(searcher.reader().all_doc_ids())
    kept = candidates.bound_candidates(
        searcher, parse_query("le hoi hoa ban dien bien ghi"), everything, 2
    )
    ids = {searcher.stored_fields(d)["id"] for d in kept}
    assert "meant" in ids and "year-title" not in ids  # year-title lacks two: biên, ghi
    assert len(kept) == 3 + 1


# The rewards compound: a body's pair bonus is added first, then a title opening with the
# typed words multiplies the sum. A document left unread must not be able to reach the page.
CEILING = [
    {
        "id": "read",
        "title": "Giá vàng hôm nay",
        "body": "Không có gì mới.",
        "published": "2024-01-01",
    },
    {
        "id": "opens",
        "title": "Mưa lớn ở Huế",
        "body": "Trận mưa lớn kéo dài.",
        "published": "2024-01-01",
    },
]


@pytest.fixture(scope="module")
def ceiling_searcher(tmp_path_factory: pytest.TempPathFactory, build_index: Any) -> Iterator[Any]:
    yield from searcher_over(build_index, tmp_path_factory, "ceiling", CEILING)


@pytest.mark.parametrize("below", [0.01, 0.5, 2.0])
def test_a_title_opening_and_body_pairs_together_are_never_left_unread(
    ceiling_searcher: Any, below: float
) -> None:
    """The first article's score sits just under what the second's rewards lift it to."""
    searcher, parsed = ceiling_searcher, parse_query("mưa lớn")
    docnum = {searcher.stored_fields(d)["id"]: d for d in searcher.reader().all_doc_ids()}
    pair_idf = searcher.idf("summary_bigram_folded", "mua_lon")
    rewarded = (10.0 + weights.body_pair_bonus([pair_idf])) * (1.0 + weights.TITLE_PREFIX_SHARE)
    ranked = [(docnum["read"], rewarded - below), (docnum["opens"], 10.0)]
    everything = rerank.rerank_window(searcher, ranked, parsed, len(ranked))
    assert everything[0] == (docnum["opens"], pytest.approx(rewarded))
    assert rerank.rerank_window(searcher, ranked, parsed, 1)[0] == everything[0]
