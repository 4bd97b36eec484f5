"""The JSON API through Flask's test client, over the demo index built by the real indexer."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from cli import main as cli
from search.engine import SearchRequest, run_search
from search.index.store import open_index
from web.params import SEARCH_PARAMS

OK_PATHS = [
    "/api/search?q=da+nang",
    "/api/search",
    "/api/search?q=%C4%91%C3%A0+n%E1%BA%B5ng&sort=newest&facets=false",
    "/api/search?q=b%E1%BB%87nh+vi%E1%BB%87n&category=Y+t%E1%BA%BF&from=2020&to=2024-12-31",
    "/api/articles/demo-001",
    "/api/articles/demo-001/related",
    "/api/suggest?q=benh+vi",
    "/api/suggest",
    "/api/openapi.json",
    "/healthz",
]


@pytest.mark.parametrize("path", OK_PATHS)
def test_api_paths_answer_json_with_cors(
    client: FlaskClient, path: str, assert_security_headers: Any
) -> None:
    resp = client.get(path)
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert_security_headers(resp)
    assert isinstance(resp.get_json(), dict)


def test_search_returns_the_search_core_shape_unchanged(app: Flask, client: FlaskClient) -> None:
    body = client.get("/api/search?q=da+nang&per_page=5").get_json()
    from web.index import get_searcher

    with app.test_request_context():
        expected = run_search(get_searcher(), SearchRequest.from_params(q="da nang", per_page=5))
    assert list(body) == list(expected)
    body.pop("took_ms"), expected.pop("took_ms")
    assert body == expected
    assert body["total"] > 5 and len(body["hits"]) == 5
    assert any("<mark>" in hit["title_highlight"] for hit in body["hits"])


BAD_REQUESTS = [
    ("page=0", "invalid_parameter"),
    ("per_page=1000", "invalid_parameter"),
    ("from=2020-13-45", "invalid_date"),
    ("sort=best", "invalid_sort"),
    ("q=" + "a" * 501, "query_too_long"),
    ("page=101&per_page=100", "result_window_too_deep"),
    ("page=abc", "invalid_parameter"),
    ("page=1&page=2", "invalid_parameter"),
    ("per_page=-1", "invalid_parameter"),
    ("from=2021-01-01&to=2020-01-01", "invalid_date"),
    ("format=xml", "invalid_format"),
    ("facets=year,nosuch", "invalid_facet"),
]


@pytest.mark.parametrize(("query", "code"), BAD_REQUESTS)
def test_bad_search_parameters_are_400_json(
    client: FlaskClient, query: str, code: str, assert_error: Any
) -> None:
    assert_error(client.get("/api/search?" + query), 400, code)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("get", "/api/nope", {}, 404),
        ("get", "/api/nope", {"headers": {"Accept": "text/html"}}, 404),
        ("get", "/api/articles/no-such-id", {}, 404),
        ("get", "/api/articles/no-such-id/related", {}, 404),
        ("post", "/api/search", {}, 405),
        ("delete", "/api/articles/demo-001", {}, 405),
        ("post", "/api/search", {"data": b"x" * 20_000}, 413),
        ("get", "/api/search?q=" + "x" * 9000, {}, 414),
        ("get", "/api/search", {"headers": {"X-Big": "y" * 20_000}}, 431),
        ("get", "/api/suggest?limit=500", {}, 400),
        ("get", "/api/articles/demo-001/related?limit=0", {}, 400),
    ],
)
def test_http_errors_under_api_are_json(
    client: FlaskClient,
    method: str,
    path: str,
    kwargs: dict,
    status: int,
    assert_error: Any,
    assert_security_headers: Any,
) -> None:
    resp = getattr(client, method)(path, **kwargs)
    assert_error(resp, status)
    assert_security_headers(resp)
    if status == 405:
        assert "GET" in resp.headers["Allow"]


def test_cors_preflight(client: FlaskClient) -> None:
    resp = client.options("/api/search", headers={"Origin": "https://example.org"})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in resp.headers["Access-Control-Allow-Methods"]


def test_unknown_article_is_a_json_404(client: FlaskClient, assert_error: Any) -> None:
    assert_error(client.get("/api/articles/no-such-id"), 404, "article_not_found")


def test_article_has_its_body(client: FlaskClient) -> None:
    article = client.get("/api/articles/demo-001").get_json()
    assert article["id"] == "demo-001"
    assert article["title"].startswith("Khởi công tuyến đường")
    assert len(article["body"]) > 500 and article["published"].endswith("+07:00")


def test_unexpected_error_is_500_json_without_traceback(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, assert_error: Any
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr("search.archive.run_search", broken)
    resp = client.get("/api/search?q=x")
    error = assert_error(resp, 500, "internal_error")
    assert "secret" not in error["message"] and b"RuntimeError" not in resp.data


def test_missing_index_is_503_json_with_retry_after(
    tmp_path: Path, assert_error: Any, make_app: Any
) -> None:
    app = make_app(tmp_path / "missing")
    for path in ("/api/search?q=x", "/healthz", "/api/suggest?q=ab"):
        resp = app.test_client().get(path)
        assert_error(resp, 503, "index_unavailable")
        assert resp.headers["Retry-After"].isdigit()


def test_suggest_shape(client: FlaskClient) -> None:
    body = client.get("/api/suggest?q=benh+vi").get_json()
    assert list(body) == ["suggestions"]
    assert all(isinstance(s, str) for s in body["suggestions"])
    assert client.get("/api/suggest?q=").get_json() == {"suggestions": []}
    assert "bệnh viện" in body["suggestions"]


def test_openapi_describes_every_endpoint_and_search_parameter(
    app: Flask, client: FlaskClient
) -> None:
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    documented = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert documented == {p.name for p in SEARCH_PARAMS}
    routes = {
        rule.rule.replace("<path:article_id>", "{id}")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api") or rule.rule == "/healthz"
    }
    assert routes == set(spec["paths"])
    for ref in re.findall(r'"\$ref": "#/([^"]+)"', json.dumps(spec)):
        node = spec
        for part in ref.split("/"):
            node = node[part]  # every $ref resolves


def test_csv_export_has_a_header_row_and_every_hit(client: FlaskClient) -> None:
    total = client.get("/api/search?q=da+nang").get_json()["total"]
    resp = client.get("/api/search?q=da+nang&format=csv&per_page=2&page=3")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    rows = list(csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert "title" in rows[0] and len(rows) == total
    assert any("Đà Nẵng" in row["title"] or "Ðà Nẵng" in row["title"] for row in rows)
    assert not any("<mark>" in value for row in rows for value in row.values())


def test_jsonl_export_is_capped_by_export_limit(demo_index_dir: Path, make_app: Any) -> None:
    app = make_app(demo_index_dir, EXPORT_LIMIT=3)
    resp = app.test_client().get("/api/search?format=jsonl")
    lines = resp.get_data(as_text=True).splitlines()
    assert resp.mimetype == "application/x-ndjson" and len(lines) == 3
    assert {"id", "title", "published", "url"} <= set(json.loads(lines[0]))
    assert int(resp.headers["X-Total-Count"]) > 3


def test_csv_cells_never_start_a_formula() -> None:
    from web.export import to_csv

    text = to_csv(
        [
            {
                "id": "1",
                "url": None,
                "title": "=HYPERLINK(1)",
                "published": None,
                "source": "@x",
                "category": "+1",
                "author": "-2",
                "summary": "ok",
                "score": 1,
            }
        ]
    )
    row = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1]
    assert row[2:7] == ["'=HYPERLINK(1)", "", "'@x", "'+1", "'-2"]


def test_etag_answers_304_and_changes_with_parameters(client: FlaskClient) -> None:
    first = client.get("/api/search?q=da+nang&sort=newest")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=30"
    again = client.get("/api/search?sort=newest&q=da+nang&utm=x", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/api/search?q=da+nang&sort=oldest").headers["ETag"] != etag
    assert client.get("/api/search?q=da+nang&sort=newest&format=csv").headers["ETag"] != etag


def test_link_header_pages(client: FlaskClient) -> None:
    first = client.get("/api/search?q=da+nang&per_page=5")
    assert 'rel="next"' in first.headers["Link"] and "page=2" in first.headers["Link"]
    second = client.get("/api/search?q=da+nang&per_page=5&page=2")
    assert 'rel="prev"' in second.headers["Link"] and "page=3" in second.headers["Link"]


def test_facets_parameter_selects_facets(client: FlaskClient) -> None:
    assert client.get("/api/search?q=da+nang&facets=false").get_json()["facets"] == {}
    chosen = client.get("/api/search?q=da+nang&facets=year,category").get_json()["facets"]
    assert sorted(chosen) == ["category", "year"]


def test_new_commit_is_visible_and_changes_the_etag(
    demo_index_dir: Path,
    tmp_path: Path,
    new_article: dict[str, str],
    build_index: Any,
    make_app: Any,
    write_jsonl: Any,
) -> None:
    live = tmp_path / "index"
    shutil.copytree(demo_index_dir, live)
    app = make_app(live)
    client = app.test_client()
    demo_documents = open_index(demo_index_dir).doc_count()
    before = client.get("/api/search?q=xanhquyt")
    assert before.get_json()["total"] == 0
    build_index(live, [write_jsonl(tmp_path / "new.jsonl", [new_article])])
    after = client.get("/api/search?q=xanhquyt", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.get_json()["total"] == 1
    assert client.get("/healthz").get_json()["documents"] == demo_documents + 1
    found = client.get("/api/articles/" + quote(new_article["id"], safe=""))
    assert found.status_code == 200 and found.get_json()["id"] == new_article["id"]
    page = client.get("/search?q=xanhquyt").get_data(as_text=True)
    permalink = "/bai-viet/hoi-thi-den-long-xanhquyt-o-phuong-vinh-loi-web/live-1%3Fx=1%20%232"
    assert f'href="{permalink}"' in page  # "?" and "#" stay in the path
    assert client.get(permalink).status_code == 200
    app.extensions["vnsearch_index"].close()


def test_a_rebuild_switch_is_followed(
    demo_index_dir: Path,
    tmp_path: Path,
    new_article: dict[str, str],
    make_app: Any,
    write_jsonl: Any,
) -> None:
    live = tmp_path / "index"
    shutil.copytree(demo_index_dir, live)
    app = make_app(live)
    client = app.test_client()
    demo_documents = open_index(demo_index_dir).doc_count()
    assert client.get("/healthz").get_json()["documents"] == demo_documents
    new = write_jsonl(tmp_path / "new.jsonl", [new_article])
    result = CliRunner().invoke(
        cli, ["index", "--rebuild", "-q", "--index-dir", str(live), str(new)]
    )
    assert result.exit_code == 0, result.output
    assert client.get("/healthz").get_json()["documents"] == 1
    assert client.get("/api/search?q=xanhquyt").get_json()["total"] == 1
    app.extensions["vnsearch_index"].close()


@pytest.fixture(scope="module")
def fuzz_app(demo_index_dir: Path, make_app: Any) -> Iterator[Flask]:
    """One app for every Hypothesis example (function-scoped fixtures are not reset per example)."""
    application = make_app(demo_index_dir)
    yield application
    application.extensions["vnsearch_index"].close()


HOSTILE = st.sampled_from(
    ["*", "*a*", "a*", "[a TO zzzz]", "n~9/0", 'r"(a+)+b"', "(" * 50, "\x00", "\u202e", "１", "OR"]
)
PARAM_VALUES = st.one_of(st.text(max_size=40), HOSTILE, st.integers(-5, 10**6).map(str))


@settings(max_examples=150, deadline=None)
@given(
    params=st.dictionaries(
        st.sampled_from([p.name for p in SEARCH_PARAMS] + ["limit", "x"]),
        st.lists(PARAM_VALUES, min_size=1, max_size=2),
        max_size=5,
    )
)
def test_any_search_parameters_give_200_or_a_400_json_error(
    fuzz_app: Flask, params: dict[str, list[str]], assert_error: Any
) -> None:
    resp = fuzz_app.test_client().get("/api/search", query_string=params)
    if resp.status_code != 200:
        assert_error(resp, 400)
    elif resp.mimetype == "application/json":
        assert {"query", "total", "hits", "facets"} <= set(resp.get_json())
