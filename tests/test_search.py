"""The search core on the real demo index: ranking, filters, facets, sort, highlights."""

from __future__ import annotations

import json
import time
import unicodedata
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from search.engine import SearchRequest, run_search
from search.errors import InvalidParameter, QueryTooExpensive
from search.features.highlight import MatchTerms, highlight, snippet
from search.query.parse import parse_query
from search.settings import Settings

DEMO = Path(__file__).resolve().parent.parent / "demo" / "articles.jsonl"
DEMO_ARTICLES = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]


def search(searcher: Any, q: str = "", **params: Any) -> dict[str, Any]:
    return run_search(searcher, SearchRequest.from_params(q=q, **params))


def ids(result: dict[str, Any]) -> list[str]:
    return [hit["id"] for hit in result["hits"]]


def rank_of(result: dict[str, Any], article_id: str) -> int:
    return ids(result).index(article_id) if article_id in ids(result) else 10**6


def with_word(word: str) -> list[str]:
    """Demo ids whose title, summary or body contain a word (NFC, case-insensitive)."""
    found = []
    for article in DEMO_ARTICLES:
        text = " ".join(article[k] or "" for k in ("title", "summary", "body"))
        if word in unicodedata.normalize("NFC", text).lower():
            found.append(article["id"])
    return found


def test_exact_accents_rank_above_folded_matches(searcher: Any) -> None:
    duong = "demo-028"  # "ông Dương Văn Minh", no "đường"
    assert duong not in with_word("đường")
    road = search(searcher, "đường", per_page=50)
    assert rank_of(road, duong) > max(
        rank_of(road, i) for i in with_word("đường") if i in ids(road)
    )
    assert ids(search(searcher, "dương"))[0] == duong


def test_adjacent_syllables_rank_above_scattered_ones(searcher: Any) -> None:
    result = search(searcher, "ha noi", per_page=50)
    ha_nam = "demo-010"  # "Hà Nam" ... "nội đồng", no "Hà Nội"
    for article_id in with_word("hà nội"):
        assert rank_of(result, article_id) < rank_of(result, ha_nam)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("hoà bình", "hòa bình"),
        ("thuỷ lợi", "thủy lợi"),
        ("đà nẵng", unicodedata.normalize("NFD", "Đà Nẵng")),
        ("đà nẵng", "ÐÀ NẴNG"),
    ],
)
def test_spelling_variants_give_the_same_results(searcher: Any, first: str, second: str) -> None:
    a, b = search(searcher, first), search(searcher, second)
    assert [(h["id"], h["score"]) for h in a["hits"]] == [(h["id"], h["score"]) for h in b["hits"]]
    assert a["total"] > 0


@pytest.mark.parametrize("article_id", ["demo-nfd-1", "demo-nfd-2", "demo-newtone-1", "demo-eth-1"])
def test_odd_spellings_in_documents_are_found_by_plain_queries(
    searcher: Any, article_id: str
) -> None:
    article = next(a for a in DEMO_ARTICLES if a["id"] == article_id)
    title = unicodedata.normalize("NFC", article["title"])
    assert ids(search(searcher, title))[0] == article_id


def test_an_extra_unknown_word_still_finds_articles(searcher: Any) -> None:
    strict = search(searcher, "giá vàng")
    relaxed = search(searcher, "giá vàng xyzzyq")
    assert relaxed["total"] > 0
    assert set(ids(relaxed)) >= set(ids(strict)[:3])


def test_a_caption_titled_article_is_found_by_its_headline_slug(searcher: Any) -> None:
    """Its title is a photo caption; the headline survives only in the URL slug."""
    assert not with_word("xáng xúc") and not with_word("thông xe")
    assert ids(search(searcher, "cau kenh xang xuc thong xe"))[0] == "demo-caption-1"
    assert ids(search(searcher, "kenh xang xuc"))[0] == "demo-caption-1"


def test_highlights_show_the_accented_original(searcher: Any) -> None:
    hit = search(searcher, "da nang")["hits"][0]
    assert "Nẵng</mark>" in hit["title_highlight"]
    assert "<mark>Đà Nẵng</mark>" in hit["snippet"] or "<mark>Ðà Nẵng</mark>" in hit["snippet"]


@pytest.mark.parametrize(
    ("text", "query", "expected"),
    [
        ('Giá "vé" tăng & nhanh', "ve", "Giá &quot;<mark>vé</mark>&quot; tăng &amp; nhanh"),
        (
            "<script>alert(1)</script> Hà Nội",
            "ha noi",
            "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Hà Nội</mark>",
        ),
        ("' onmouseover='x' Đà", "da", "&#x27; onmouseover=&#x27;x&#x27; <mark>Đà</mark>"),
        ("Không khớp gì", "xyz", "Không khớp gì"),
    ],
)
def test_highlights_escape_everything_else(text: str, query: str, expected: str) -> None:
    terms = MatchTerms.from_query(parse_query(query))
    assert highlight(text, terms) == expected
    assert snippet(text, terms) == expected


def test_search_hits_are_escaped(searcher: Any) -> None:
    hit = next(h for h in search(searcher, "nhanh", per_page=100)["hits"] if h["id"] == "demo-009")
    assert "&quot;" in hit["snippet"] + hit["title_highlight"] or '"' not in hit["summary"]
    for fragment in (hit["snippet"], hit["title_highlight"]):
        assert "<b>" not in fragment and '"' not in fragment


def test_browse_is_newest_first_and_counts_match_the_corpus(
    searcher: Any, indexed_articles: list[Any]
) -> None:
    result = search(searcher, per_page=100)
    dates = [h["published"] for h in result["hits"] if h["published"]]
    assert dates == sorted(dates, key=datetime.fromisoformat, reverse=True)
    expected = Counter(a.category for a in indexed_articles if a.category)
    got = {f["value"]: f["count"] for f in result["facets"]["category"]}
    assert got == dict(expected.most_common(10))
    assert result["total"] == len({a.id for a in indexed_articles})


def test_month_facet_uses_vietnam_time(searcher: Any) -> None:
    months = {f["value"]: f["count"] for f in search(searcher, per_page=1)["facets"]["month"]}
    expected = Counter(
        a["published"][:7] if a["published"] else "undated" for a in DEMO_ARTICLES
    )  # the demo corpus writes +07:00 offsets, so its local month is the text's
    assert months["2025-08"] >= expected["2025-08"]  # 2025-08-01T03:00+07:00 (31 July in UTC)
    assert months["undated"] >= expected["undated"] == 3


def test_category_filter_gives_exact_totals(searcher: Any, indexed_articles: list[Any]) -> None:
    result = search(searcher, category=["Y tế"])
    assert result["total"] == sum(1 for a in indexed_articles if a.category == "Y tế")
    assert {h["category"] for h in result["hits"]} == {"Y tế"}


def test_date_filters_are_inclusive_and_exclude_undated(searcher: Any) -> None:
    expected = [a for a in DEMO_ARTICLES if a["published"] and a["published"][:4] == "2019"]
    result = search(searcher, date_from="1/1/2019", date_to="2019-12-31", per_page=100)
    demo_hits = [h for h in result["hits"] if h["id"].startswith("demo-")]
    assert len(demo_hits) == len(expected)  # includes 2019-12-31T23:30+07:00
    assert all(h["published"] for h in result["hits"])


def test_a_facets_own_filter_does_not_narrow_it(searcher: Any) -> None:
    everything = search(searcher, per_page=1)["facets"]["category"]
    filtered = search(searcher, category=["Y tế"], per_page=1)["facets"]["category"]
    assert [(f["value"], f["count"]) for f in filtered] == [
        (f["value"], f["count"]) for f in everything
    ]
    assert [f["value"] for f in filtered if f["selected"]] == ["Y tế"]


def test_year_selection_scopes_months(searcher: Any) -> None:
    facets = search(searcher, date_from="2019-01-01", date_to="2019-12-31")["facets"]
    assert {f["value"][:4] for f in facets["month"]} == {"2019"}
    assert [f["value"] for f in facets["year"] if f["selected"]] == ["2019"]


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_sorting_by_date(searcher: Any, sort: str) -> None:
    result = search(searcher, "giao thông", sort=sort, per_page=100)
    dates = [h["published"] for h in result["hits"]]
    dated = [d for d in dates if d]
    assert dated == sorted(dated, key=datetime.fromisoformat, reverse=sort == "newest")
    assert dates[: len(dated)] == dated  # undated ones come last either way


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"page": 0}, "invalid_parameter"),
        ({"page": "abc"}, "invalid_parameter"),
        ({"page": "１"}, "invalid_parameter"),
        ({"per_page": 1000}, "invalid_parameter"),
        ({"sort": "body"}, "invalid_sort"),
        ({"date_from": "31/02/2021"}, "invalid_date"),
        ({"date_from": "2021-01-02", "date_to": "2021-01-01"}, "invalid_date"),
        ({"q": "x" * 501}, "query_too_long"),
        ({"page": 101, "per_page": 100}, "result_window_too_deep"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, Any], code: str) -> None:
    with pytest.raises(InvalidParameter) as error:
        SearchRequest.from_params(**params)
    assert error.value.code == code and error.value.status == 400


def test_expensive_queries_are_refused(searcher: Any) -> None:
    with pytest.raises(QueryTooExpensive):
        search(searcher, "*ong")


def test_result_shape(searcher: Any) -> None:
    result = search(searcher, "bệnh viện")
    assert set(result) == {
        "query",
        "total",
        "page",
        "per_page",
        "took_ms",
        "hits",
        "facets",
        "suggestion",
        "partial",
    }
    assert set(result["hits"][0]) == {
        "id",
        "url",
        "title",
        "title_highlight",
        "summary",
        "snippet",
        "published",
        "source",
        "category",
        "author",
        "score",
        "missing",
    }
    assert set(result["facets"]) == {"year", "month", "category", "source", "author"}
    assert result["hits"][0]["published"].endswith("+07:00")


def test_a_search_past_its_time_budget_returns_what_it_has(searcher: Any) -> None:
    result = search(searcher, "giao thông", settings=Settings(search_time_limit_ms=0))
    assert result["partial"] is True
    unbounded = search_unbounded(searcher)
    assert result["total"] == unbounded["total"]  # the count is exact, only the order is not
    assert len(result["hits"]) == len(unbounded["hits"]) > 0


def search_unbounded(searcher: Any) -> dict[str, Any]:
    result = search(searcher, "giao thông", settings=Settings(search_time_limit_ms=60000))
    assert result["partial"] is False
    return result


@pytest.mark.parametrize("q", ["giao thông", "ha noi", "bệnh viện", "nông dân", "tỉnh"])
def test_totals_are_exact(searcher: Any, q: str, indexed_articles: list[Any]) -> None:
    """Every article holding every word, counted by hand (Whoosh's top-N count falls short)."""
    from search.analysis.chains import folded_terms

    words = set(folded_terms(q))
    expected = sum(
        1
        for a in indexed_articles
        if words <= set(folded_terms(" ".join((a.title, a.summary, a.body))))
    )
    assert search(searcher, q, per_page=1)["total"] == expected


def test_facets_survive_segments_without_a_field(tmp_path: Path, build_index: Any) -> None:
    records = [
        {"id": "x1", "title": "Một", "author": "An", "category": "Y tế"},
        {"id": "x2", "title": "Hai"},
        {"id": "x3", "title": "Ba", "author": "Bình"},
    ]
    source = tmp_path / "r.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    index = build_index(tmp_path / "ix", [source], batch_size=1).index
    with index.searcher() as s:
        facets = search(s)["facets"]
    assert {f["value"]: f["count"] for f in facets["author"]} == {"An": 1, "Bình": 1}
    assert {f["value"]: f["count"] for f in facets["category"]} == {"Y tế": 1}


@pytest.mark.parametrize("q", ["tphcm", "tp hcm", "TP.HCM", "110 000 đồng", "110.000 đồng"])
def test_slug_and_stripped_spellings_find_dotted_words_and_numbers(searcher: Any, q: str) -> None:
    """demo-009's body writes "Vĩnh Hậu – TP.HCM từ 110.000 đồng"."""
    assert "demo-009" in ids(search(searcher, q, per_page=100))


def test_query_length_is_measured_composed() -> None:
    text = "trường học " * 40  # 440 characters composed, about 530 decomposed
    decomposed = unicodedata.normalize("NFD", text)
    assert len(decomposed) > 500
    assert SearchRequest.from_params(q=decomposed).q == text.strip()


def test_every_searcher_of_an_index_shares_its_caches(demo_index: Any) -> None:
    from search.index.caches import caches_of, generation

    with demo_index.searcher() as first, demo_index.searcher() as second:
        assert caches_of(first) is caches_of(second) is demo_index.caches
        assert generation(first) == generation(second)


@pytest.mark.parametrize("newest_first", [True, False])
def test_date_order_is_the_same_for_many_and_few_matches(
    searcher: Any, reference_columns: Any, newest_first: bool
) -> None:
    from search.execute.retrieve import by_date

    published = reference_columns[0](searcher)
    everything = frozenset(searcher.reader().all_doc_ids())
    dated = [d for d in everything if published[d] is not None]
    expected = sorted(dated, key=lambda d: (published[d], d), reverse=newest_first)
    undated = sorted(d for d in everything if published[d] is None)
    many = [d for d, _ in by_date(searcher, everything, len(everything), newest_first)]
    assert many == expected + undated  # walked in time order
    few = frozenset(expected[3:5])
    assert [d for d, _ in by_date(searcher, few, 10, newest_first)] == expected[3:5]  # sorted


@pytest.mark.parametrize(
    ("q", "run"),
    [
        ("cho biet day la cong trinh", ("cho", "biet", "day", "la", "cong", "trinh")),
        ("đây là công trình được", ("day", "la", "cong", "trinh", "duoc")),
        ("day la cong trinh", None),  # four words: an ordinary query
        ("cho biet day OR la cong trinh", None),
        ("cho biet day la cong -trinh", None),
        ("title:cho biet day la cong trinh", None),
    ],
)
def test_long_plain_queries_are_looked_for_as_a_run(q: str, run: tuple[str, ...] | None) -> None:
    from search.execute.passages import passage_run
    from search.query.parse import parse_query

    assert passage_run(parse_query(q)) == run


@pytest.mark.parametrize(
    ("run", "holders"),
    [
        ("song hau quyen gop hon", {"demo-007"}),  # a title
        ("trung tam thanh pho vinh hau", {"demo-001", "demo-026", "demo-040"}),  # summaries
        ("cua benh vien da khoa tinh", {"demo-005", "demo-035"}),  # a summary and a body
        ("so giao duc va dao tao", {"demo-004", "demo-022", "demo-036", "demo-043", "demo-052"}),
        (
            "nong nghiep va phat trien nong thon",
            {"demo-002", "demo-010", "demo-013", "demo-020", "demo-045", "demo-054", "demo-061"},
        ),
        ("thanh pho vinh hau trung tam", set()),  # every word in many bodies, never this run
        # "3.000" and "TP.HCM" typed whole or as their groups (pairs read both ways)
        ("hon 3000 nguoi lao dong tu", {"demo-047"}),
        ("lao dong tu tp hcm ve que", {"demo-047"}),
        ("dong tu tphcm ve que an", {"demo-047"}),
        ("hon 9000 ha lua he thu", {"demo-002"}),
    ],
)
def test_every_holder_of_a_run_is_listed(searcher: Any, run: str, holders: set[str]) -> None:
    from search.analysis.textmatch import run_regex
    from search.execute.passages import run_holders

    found = run_holders(searcher, tuple(run.split()))
    assert found is not None
    assert {searcher.stored_fields(d)["id"] for d in found} == holders
    regex = run_regex(tuple(run.split()))  # the same, read off every document's stored text
    assert set(found) == {
        docnum
        for docnum, fields in searcher.iter_docs()
        if any(regex.search(fields.get(name, "")) for name in ("title", "summary", "body"))
    }


def test_holders_that_cannot_be_listed_cheaply(
    searcher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from search.execute import passages as passage

    run = ("trung", "tam", "thanh", "pho", "vinh", "hau")  # in 3 summaries
    assert passage.run_holders(searcher, run) is not None
    monkeypatch.setattr(passage, "MAX_TEXTS_READ", 2)
    assert passage.run_holders(searcher, run) is None
    run = ("so", "giao", "duc", "va", "dao", "tao")  # in 5 bodies
    assert passage.run_holders(searcher, run) is not None
    monkeypatch.setattr(passage, "MAX_BODIES_CHECKED", 3)
    assert passage.run_holders(searcher, run) is None


def test_a_remembered_passage_ranks_its_holders_first(searcher: Any) -> None:
    from search.engine import SearchRequest, run_search

    request = SearchRequest.from_params(q="so giao duc va dao tao", facets=False)
    ids = [hit["id"] for hit in run_search(searcher, request)["hits"]]
    holders = {"demo-004", "demo-022", "demo-036", "demo-043", "demo-052"}
    assert set(ids[: len(holders)]) == holders and len(ids) > len(holders)


def test_documents_holding_the_run_go_first(searcher: Any) -> None:
    from search.execute.passages import scan_for_run

    docnum = {fields["id"]: n for n, fields in searcher.iter_docs()}
    target, others = docnum["demo-001"], [docnum["demo-002"], docnum["demo-003"]]
    run = ("cho", "biet", "day", "la", "cong", "trinh")  # in demo-001 and demo-013, not 002/003
    head = [(others[0], 10.0), (others[1], 5.0)]
    ranked, promotion = scan_for_run(
        searcher, head, [(target, 1.0)], run, deadline=time.perf_counter() + 9
    )
    assert [d for d, _ in ranked] == [target, others[0]]  # the head's length is kept
    assert ranked[0][1] == 21.0  # its score plus twice the best
    assert (promotion.best, promotion.holders) == (10.0, {target: 1.0})  # what a shard reports
    unchanged, promotion = scan_for_run(searcher, head, [], run, time.perf_counter() + 9)
    assert unchanged == head and (promotion.best, promotion.holders) == (10.0, {})


def test_scored_candidates_are_bounded_rarest_words_first(
    searcher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from search.execute import candidates
    from search.execute.bitmaps import docset, union
    from search.execute.docsets import clause_docs
    from search.query.parse import parse_query

    monkeypatch.setattr(candidates, "MAX_CANDIDATES", 10)
    everything = docset(searcher.reader().all_doc_ids())
    parsed = parse_query("tỉnh giao thông")
    kept = candidates.bound_candidates(searcher, parsed, everything, needed=2)
    groups = [union(clause_docs(searcher, c) for c in g) for g in parsed.groups]
    rarest = min(groups, key=len)
    assert 2 <= len(kept) and kept <= rarest  # narrowed by the rarest word first
    assert candidates.bound_candidates(
        searcher, parsed, docset(list(everything)[:10]), needed=2
    ) == docset(list(everything)[:10])  # few enough: untouched
    stray = parse_query("zzzz tỉnh giao thông")  # a word nothing holds is skipped, not an end
    assert candidates.bound_candidates(searcher, stray, everything, needed=2) == kept
    newest = candidates.bound_candidates(searcher, parse_query("zzzz"), everything, needed=2)
    assert len(newest) == 10  # nothing to narrow by: the newest


@pytest.mark.parametrize(
    ("q", "words"),
    [
        ("gia vang mieng", ["giá", "vàng", "miếng"]),  # accents restored
        ("tong thu ngan sahc", ["tổng", "thu", "ngân", "sách"]),  # a word never seen: corrected
        ("ngan sach nha nuco", ["ngân", "sách", "nhà", "nước"]),
        ("khai giang nam hoc mio", ["khai", "giảng", "năm", "học", "mio"]),  # nothing dominates
        ("gia banh", ["giá", "banh"]),  # "bánh" is in bodies only: a word, not a slip of "bán"
        ("duong", ["duong"]),  # đường or dương: left as typed
        ("Giá vàng", ["Giá", "vàng"]),  # typed with accents: as typed
    ],
)
def test_ranking_reads_restored_accents_and_corrected_typos(
    searcher: Any, q: str, words: list[str]
) -> None:
    from search.execute.ranking import restored_words

    assert restored_words(searcher, tuple(q.split())) == words
