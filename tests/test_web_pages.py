"""Reader pages and staff tools through Flask's test client, over the demo index."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from web.pages import advanced_query
from web.present import article_href, safe_href, vn_datetime

HTML_PATHS = [
    "/",
    "/search?q=da+nang",
    "/search?q=%C4%91%C3%A0+n%E1%BA%B5ng&sort=newest&page=2",
    "/search",
    "/search?q=da+nang&from=2019-01-01&to=2019-12-31",
    "/search?q=zzzqqq",
    "/advanced",
    "/bai-viet/khoi-cong-tuyen-duong-giao-thong-noi-thanh-pho-vinh-hau-voi-huyen-cai-sao-demo-001",
]
VN_DATE = re.compile(r"(Thứ (Hai|Ba|Tư|Năm|Sáu|Bảy)|Chủ Nhật), \d\d/\d\d/\d{4} \d\d:\d\d")


def page(client: FlaskClient, path: str) -> str:
    resp = client.get(path)
    assert resp.status_code == 200, path
    return resp.get_data(as_text=True)


def links(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]*)"', html)]


def params(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@pytest.mark.parametrize("path", HTML_PATHS)
def test_pages_are_vietnamese_html_with_security_headers(
    client: FlaskClient, path: str, assert_security_headers: Any
) -> None:
    resp = client.get(path)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert '<html lang="vi">' in html and 'name="viewport"' in html
    assert_security_headers(resp)


def test_home_has_one_search_form(client: FlaskClient) -> None:
    html = page(client, "/")
    assert html.count("<form") == 1
    assert 'action="/search"' in html and 'method="get"' in html and 'name="q"' in html


def test_results_show_highlights_dates_sources_and_paging(client: FlaskClient) -> None:
    html = page(client, "/search?q=da+nang")
    assert re.search(r"<mark>[ÐĐ]à Nẵng</mark>", html)
    assert VN_DATE.search(html)
    assert "Báo Sông Hậu" in html and "Bộ lọc" in html
    hrefs = links(html)
    assert any(params(h).get("page") == ["2"] for h in hrefs)  # 25 hits, 20 a page
    assert any(params(h).get("sort") == ["newest"] for h in hrefs)
    assert any("format=csv" in h for h in hrefs) and any("/search.atom?" in h for h in hrefs)
    assert "https://baosonghau.example.vn/" in html


def test_hits_missing_a_typed_word_say_which(client: FlaskClient) -> None:
    html = page(client, "/search?q=da+nang+zzqx")  # no article has "zzqx": any word
    assert html.count("Không có: <s>zzqx</s>") == html.count('class="hit-title"') > 0
    assert "Không có" not in page(client, "/search?q=da+nang")


def test_an_accent_free_query_gets_a_suggestion_link(client: FlaskClient) -> None:
    html = page(client, "/search?q=da+nang")
    assert re.search(r'Có phải bạn muốn tìm: <a href="/search\?q=[^"]+">', html)


def test_year_facet_filters_and_the_chip_removes_it(client: FlaskClient) -> None:
    html = page(client, "/search?q=da+nang")
    year_links = [h for h in links(html) if params(h).get("from") == ["2019-01-01"]]
    assert year_links and params(year_links[0])["to"] == ["2019-12-31"]
    filtered = page(client, year_links[0])
    assert "Năm 2019" in filtered  # the active filter
    assert len(re.findall(r'<li class="hit">', filtered)) == 3
    assert all(d.endswith("2019") for d in re.findall(r"\d\d/\d\d/(\d{4}) \d\d:\d\d", filtered))
    assert "Số bài theo tháng, năm 2019" in filtered  # the timeline now shows months
    month = [h for h in links(filtered) if params(h).get("from") == ["2019-10-01"]]
    assert month and params(month[0])["to"] == ["2019-10-31"]
    unfiltered = [h for h in links(filtered) if "from" not in params(h) and "q=da" in h]
    assert unfiltered


def test_value_facets_toggle_and_combine(client: FlaskClient) -> None:
    html = page(client, "/search?q=da+nang&category=Kinh+t%E1%BA%BF")
    assert "Chuyên mục: Kinh tế" in html
    hrefs = links(html)
    both = [h for h in hrefs if len(params(h).get("category", [])) == 2]
    assert both, "another section adds to the filter"
    removal = [
        h for h in hrefs if "category" not in params(h) and params(h).get("q") == ["da nang"]
    ]
    assert removal, "the chosen section links back to no section"


def test_timeline_is_inline_svg_with_links(client: FlaskClient) -> None:
    html = page(client, "/search?q=da+nang")
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "<rect" in svg and 'href="/search?' in svg and "Năm 2020: 4 bài" in svg


def test_empty_state_helps(client: FlaskClient) -> None:
    html = page(client, "/search?q=zzzqqq&category=Y+t%E1%BA%BF")
    assert "Không tìm thấy bài nào" in html and "Bỏ các bộ lọc" in html


def test_page_past_the_end_is_explained(client: FlaskClient) -> None:
    assert "Trang này không có kết quả" in page(client, "/search?q=da+nang&page=9")


def test_bad_parameters_on_pages_are_html_400(client: FlaskClient) -> None:
    resp = client.get("/search?q=da+nang&page=0")
    assert resp.status_code == 400 and resp.mimetype == "text/html"
    assert "Yêu cầu không hợp lệ" in resp.get_data(as_text=True)


def test_html_404_and_503_are_friendly_pages(
    client: FlaskClient, tmp_path: Path, assert_security_headers: Any, make_app: Any
) -> None:
    for path in ("/nope", "/article/no-such-id", "/bai-viet/khong-co-bai-nay-no-such-id"):
        resp = client.get(path)
        assert resp.status_code == 404 and resp.mimetype == "text/html"
        assert_security_headers(resp)
    resp = make_app(tmp_path / "missing").test_client().get("/search?q=x")
    assert resp.status_code == 503 and resp.mimetype == "text/html"
    assert "thử lại" in resp.get_data(as_text=True) and resp.headers["Retry-After"]


def test_article_page_has_paragraphs_and_related_section(client: FlaskClient) -> None:
    html = page(
        client,
        "/bai-viet/khoi-cong-tuyen-duong-giao-thong-noi-thanh-pho-vinh-hau-voi-huyen-cai-sao-demo-001",
    )
    assert "<h1>Khởi công tuyến đường" in html and "Bài liên quan" in html
    assert html.count("<p>") >= 3 and VN_DATE.search(html)


def test_advanced_form_redirects_to_a_search_permalink(client: FlaskClient) -> None:
    html = page(client, "/advanced")
    for name in ("all", "any", "phrase", "none", "category", "source", "author", "from", "to"):
        assert f'name="{name}"' in html
    resp = client.get("/advanced?all=bệnh+viện&none=bão&category=Y+tế&from=2020-01-01&to=")
    assert resp.status_code == 303
    target = params(resp.headers["Location"])
    assert target == {"q": ["bệnh viện -bão"], "category": ["Y tế"], "from": ["2020-01-01"]}


@pytest.mark.parametrize(
    ("fields", "query"),
    [
        ({"all": "lũ lụt"}, "lũ lụt"),
        ({"any": "Huế Quảng"}, "Huế OR Quảng"),
        ({"phrase": 'bệnh "viện'}, '"bệnh viện"'),
        ({"none": "bão -lũ"}, "-bão -lũ"),
        ({"all": "a", "any": "b OR c", "phrase": "d e", "none": "f"}, 'a b OR c "d e" -f'),
        ({"all": "  "}, ""),
    ],
)
def test_advanced_query(fields: dict[str, str], query: str) -> None:
    assert advanced_query(MultiDict(fields)) == query


def test_atom_feed_is_newest_first(client: FlaskClient, assert_security_headers: Any) -> None:
    resp = client.get("/search.atom?q=da+nang")
    assert resp.mimetype == "application/atom+xml"
    assert_security_headers(resp)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.fromstring(resp.data)
    dates = [e.findtext("a:published", namespaces=ns) for e in feed.findall("a:entry", ns)]
    dated = [d for d in dates if d]
    assert len(dated) > 5 and dated == sorted(dated, reverse=True)
    assert feed.findtext("a:title", namespaces=ns) == "vnsearch: da nang"


@pytest.mark.parametrize(
    ("iso", "text"),
    [
        ("2019-10-24T13:27:00+07:00", "Thứ Năm, 24/10/2019 13:27"),
        ("2019-10-24T23:30:00+00:00", "Thứ Sáu, 25/10/2019 06:30"),
        ("2020-03-01T08:00:00+07:00", "Chủ Nhật, 01/03/2020 08:00"),
        ("2021-04-25T00:00:00+07:00", "Chủ Nhật, 25/04/2021"),  # day precision only
        (None, "Không rõ ngày"),
        ("garbage", "Không rõ ngày"),
    ],
)
def test_vietnamese_dates(iso: str | None, text: str) -> None:
    assert vn_datetime(iso) == text


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://baosonghau.example.vn/a.html", True),
        ("http://example.vn/a", True),
        ("javascript:alert(1)", False),
        (" JavaScript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("/relative/path", False),
        ("//evil.example/x", False),
        ("https:///nohost", False),
        (None, False),
    ],
)
def test_only_http_links_leave_the_site(app: Flask, url: str | None, safe: bool) -> None:
    assert (safe_href(url) is not None) is safe
    with app.test_request_context():
        href = article_href({"id": "x/1", "title": "Lũ về", "url": url})
    assert href == (url.strip() if safe and url else "/bai-viet/lu-ve-x/1")
