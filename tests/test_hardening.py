"""What a review of the live server found (issue 21), one regression test per defect; the
fuzzer that looks for the next ones is tests/test_fuzz_requests.py."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

import pytest
from flask import Flask
from flask.testing import FlaskClient

from search.engine import SearchRequest, run_search
from search.query.parse import MAX_CLAUSES, parse_query
from search.settings import Settings
from web.export import export_request

EVIL = "evil.example"
BASE = "https://tin.example.vn"
ATOM = {"a": "http://www.w3.org/2005/Atom"}
WORDS = "song hau nong nghiep lua gao mien tay can tho".split() * 10  # 100 words


def _filters(name: str, count: int, prefix: str = "") -> str:
    return "&".join(f"{name}={prefix}{n}" for n in range(count))


# 1. Repeated filter values made pages quadratic in the URL.


@pytest.mark.parametrize(
    ("query", "status"),
    [
        (_filters("author", 745), 400),  # the review's 8 KB URL (an 8.4 MB page before)
        (_filters("author", 21), 400),  # more than 20 values of one filter
        (_filters("category", 20) + "&" + _filters("source", 11), 400),  # more than 30 in all
        ("source=" + "x" * 301, 400),  # longer than any value the importer keeps
        (_filters("author", 20) + "&" + _filters("source", 10), 200),
        ("author=0&" * 500, 200),  # one value given 500 times is one value
    ],
)
@pytest.mark.parametrize("path", ["/search", "/api/search", "/search.atom"])
def test_filter_values_are_capped(
    client: FlaskClient, path: str, query: str, status: int, assert_error: Any
) -> None:
    resp = client.get(f"{path}?{query}")
    assert resp.status_code == status
    if status == 200:
        return
    if path.startswith("/api/"):
        assert_error(resp, 400)
    else:
        assert resp.mimetype == "text/html" and "Yêu cầu không hợp lệ" in resp.text
        assert len(resp.data) < 4096


def test_links_carry_each_filter_value_once(client: FlaskClient) -> None:
    html = client.get("/search?" + "author=0&" * 500 + "author=+0+").text
    assert "author=0&amp;author=0" not in html
    assert len(html) < 200_000


# 2. The clause limit counted chunks; missing words ignored the deadline and exports.


@pytest.mark.parametrize(
    "text",
    [
        ",".join(WORDS),
        "-" + ",".join(WORDS),
        ";".join(WORDS[:50]) + " " + ".".join(WORDS[50:]),
        " ".join(WORDS[:20]) + " " + "/".join(WORDS[20:]),
        " OR ".join(WORDS),  # alternatives are clauses too
        "title:" + ",".join(WORDS),
    ],
)
def test_the_clause_limit_counts_what_the_parser_makes(text: str) -> None:
    parsed = parse_query(text)
    assert sum(len(group) for group in parsed.groups) + len(parsed.excluded) == MAX_CLAUSES


def _search(searcher: Any, request: SearchRequest) -> list[list[str]]:
    return [hit["missing"] for hit in run_search(searcher, request)["hits"]]


def test_missing_words_stop_at_the_deadline(searcher: Any) -> None:
    def request(limit_ms: int) -> SearchRequest:
        settings = Settings(search_time_limit_ms=limit_ms)
        return SearchRequest.from_params(q="giao thông xyzqq", settings=settings)

    assert ["xyzqq"] in _search(searcher, request(60_000))
    out_of_time = run_search(searcher, request(0))
    assert out_of_time["partial"] is True and out_of_time["hits"]
    assert all(hit["missing"] == [] for hit in out_of_time["hits"])


def test_exports_skip_missing_words(searcher: Any) -> None:
    request = SearchRequest.from_params(q="giao thông xyzqq")
    assert ["xyzqq"] in _search(searcher, request)
    assert set(map(tuple, _search(searcher, export_request(request, 100)))) == {()}


# 3. Every query argument went to url_for: reserved names made 500s, _external used the Host.


@pytest.mark.parametrize("name", ["_anchor", "_scheme", "_method", "endpoint", "_external"])
def test_reserved_names_are_ignored_in_paging_links(client: FlaskClient, name: str) -> None:
    resp = client.get(f"/api/search?per_page=1&{name}=1&q=giao", headers={"Host": EVIL})
    assert resp.status_code == 200
    assert resp.headers["Link"] == '</api/search?q=giao&per_page=1&page=2>; rel="next"'


def test_paging_links_keep_the_facets_choice(client: FlaskClient) -> None:
    link = client.get("/api/search?per_page=1&page=2&facets=year&x=1").headers["Link"]
    assert link == (
        '</api/search?per_page=1&page=3&facets=year>; rel="next", '
        '</api/search?per_page=1&page=1&facets=year>; rel="prev"'
    )


# 4. The Host header went into cacheable absolute URLs.


@pytest.fixture()
def public_app(demo_index_dir: Path, make_app: Any) -> Iterator[Flask]:
    application = make_app(demo_index_dir, PUBLIC_BASE_URL=BASE + "/")
    yield application
    application.extensions["vnsearch_index"].close()


@pytest.mark.parametrize(
    "path", ["/search.atom?q=giao", "/api/openapi.json", "/bai-viet/demo-001", "/search?q=x"]
)
def test_no_url_is_built_from_the_host_header(client: FlaskClient, path: str) -> None:
    resp = client.get(path, headers={"Host": EVIL, "X-Forwarded-Host": EVIL}, follow_redirects=True)
    assert resp.status_code == 200
    assert EVIL not in resp.text and "localhost" not in resp.text


def test_without_a_base_url_links_are_relative_and_ids_host_free(client: FlaskClient) -> None:
    feed = ET.fromstring(client.get("/search.atom?q=giao&sort=oldest").data)
    assert feed.findtext("a:id", namespaces=ATOM).startswith("urn:uuid:")  # type: ignore[union-attr]
    hrefs = [link.get("href") for link in feed.iter(f"{{{ATOM['a']}}}link")]
    assert hrefs[0] == "/search.atom?q=giao"
    assert hrefs[1] == "/search?q=giao&sort=newest"
    assert client.get("/api/openapi.json").get_json()["servers"] == [{"url": "/"}]


def test_the_public_base_url_starts_absolute_urls(public_app: Flask) -> None:
    client = public_app.test_client()
    feed = ET.fromstring(client.get("/search.atom?q=giao", headers={"Host": EVIL}).data)
    assert feed.findtext("a:id", namespaces=ATOM) == BASE + "/search.atom?q=giao"
    entry_ids = [e.findtext("a:id", namespaces=ATOM) for e in feed.findall("a:entry", ATOM)]
    assert entry_ids and all(i.startswith(BASE + "/article/") for i in entry_ids)  # type: ignore[union-attr]
    assert client.get("/api/openapi.json").get_json()["servers"] == [{"url": BASE + "/"}]
    page = client.get("/bai-viet/demo-001", follow_redirects=True).text
    assert f'<link rel="canonical" href="{BASE}/bai-viet/' in page


@pytest.mark.parametrize(
    ("path", "location", "mimetype"),
    [
        ("/article//demo-001", "/article/demo-001?q=x", "text/html"),
        ("/bai-viet//x//y", "/bai-viet/x/y?q=x", "text/html"),  # Werkzeug merges all
        ("/api//search", "/api/search?q=x", "application/json"),  # 7: JSON under /api
        ("/api/articles//demo-001", "/api/articles/demo-001?q=x", "application/json"),
    ],
)
def test_slash_redirects_are_relative(
    client: FlaskClient, path: str, location: str, mimetype: str
) -> None:
    resp = client.get(
        "/", query_string="q=x", environ_overrides={"PATH_INFO": path}, headers={"Host": EVIL}
    )
    assert (resp.status_code, resp.headers["Location"], resp.mimetype) == (308, location, mimetype)
    assert EVIL not in resp.text


# 5. If-None-Match: * answered 304 for articles that do not exist.


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/articles/nope", 404),
        ("/api/articles/nope/related", 404),
        ("/api/articles/demo-001", 304),
        ("/api/articles/demo-001/related", 304),
    ],
)
def test_if_none_match_star_needs_an_article(client: FlaskClient, path: str, status: int) -> None:
    assert client.get(path, headers={"If-None-Match": "*"}).status_code == status


# 6. Ids no URL can reach are refused at import; every other id round-trips.


REACHABLE_IDS = ["x/y//z/", "a..b/.c/related-news", "tab\there", "a%2Fb?c#d", "related", "đ/1"]
UNREACHABLE_IDS = ["evil/related", "line\nbreak", "/leading", "a/../b", ".."]


@pytest.fixture(scope="module")
def ids_index(
    tmp_path_factory: pytest.TempPathFactory, write_jsonl: Any
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("ids")
    records = [
        {"id": i, "title": f"Tin {n}"} for n, i in enumerate(REACHABLE_IDS + UNREACHABLE_IDS)
    ]
    source = write_jsonl(folder / "ids.jsonl", records)
    command = [sys.executable, "-m", "cli", "index", "-q", "--index-dir", str(folder / "ix")]
    done = subprocess.run([*command, str(source)], capture_output=True, text=True)
    return folder / "ix", done


def test_unreachable_ids_are_refused_with_file_and_line(ids_index: Any) -> None:
    _, done = ids_index
    assert done.returncode == 2
    refused = [line for line in done.stderr.splitlines() if "no URL could reach" in line]
    lines = [len(REACHABLE_IDS) + n for n in range(1, len(UNREACHABLE_IDS) + 1)]
    assert [line.split(": ")[0].rsplit(":", 1)[1] for line in refused] == list(map(str, lines))


@pytest.mark.parametrize("article_id", REACHABLE_IDS)
def test_accepted_ids_are_reached_by_every_url(
    ids_index: Any, make_app: Any, article_id: str
) -> None:
    app = make_app(ids_index[0])
    client = app.test_client()
    encoded = quote(article_id, safe="/")
    for path in (f"/api/articles/{encoded}", f"/api/articles/{encoded}/related"):
        assert client.get(path).get_json()["id"] == article_id, path
    page = client.get(f"/article/{encoded}", follow_redirects=True)
    assert (
        page.status_code == 200 and f"<h1>Tin {REACHABLE_IDS.index(article_id)}</h1>" in page.text
    )
    app.extensions["vnsearch_index"].close()
