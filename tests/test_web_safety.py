"""Web safety: escaping everywhere, security headers on every response, no writer in web/."""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

import pytest
from flask import Flask
from flask.testing import FlaskClient

from web.serve import WAITRESS_LIMITS, server_options

WEB = Path(__file__).resolve().parent.parent / "web"
PAYLOADS = [
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    "'onmouseover=alert(1) x='",
    "</title><script>alert(1)</script>",
    "{{7*7}}<svg onload=alert(1)>",
    '" autofocus onfocus="alert(1)',
]


class TagAudit(HTMLParser):
    """Every start tag a browser would build from a page, to look for injected markup."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        if tag in ("img", "iframe", "object", "embed", "style"):
            self.problems.append(f"<{tag}>")
        self.problems += [f"{tag} {n}" for n in names if n.startswith("on") or n == "style"]
        if "autofocus" in names and tag != "input":
            self.problems.append(f"{tag} autofocus")


def live_markup(html: str) -> list[str]:
    audit = TagAudit()
    audit.feed(html)
    return audit.problems


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize(
    "template",
    [
        "/search?q={p}",
        "/search?q=da+nang&category={p}",
        "/search?q={p}&author={p}&source={p}",
        "/search?q={p}&page=0",
        "/article/{p}",
        "/bai-viet/{p}",
        "/bai-viet/tieu-de-{p}",
        "/advanced?all={p}",
    ],
)
def test_payloads_never_become_markup(
    client: FlaskClient, template: str, payload: str, assert_security_headers: Any
) -> None:
    resp = client.get(template.format(p=quote(payload)), follow_redirects=True)
    assert resp.status_code in (200, 400, 404)
    body = resp.get_data(as_text=True)
    assert payload not in body
    assert live_markup(body) == []
    assert_security_headers(resp)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_in_the_atom_feed_stay_text(client: FlaskClient, payload: str) -> None:
    resp = client.get("/search.atom?q=" + quote(payload))
    if resp.status_code == 400:  # refused by the query parser (e.g. an inner wildcard)
        assert live_markup(resp.get_data(as_text=True)) == []
        return
    feed = ET.fromstring(resp.data)
    assert {e.tag.split("}")[0] for e in feed.iter()} == {"{http://www.w3.org/2005/Atom"}
    assert feed.findtext("{http://www.w3.org/2005/Atom}title") == "vnsearch: " + payload


def test_query_is_echoed_escaped_in_page_and_feed(client: FlaskClient) -> None:
    payload = PAYLOADS[0]
    html = client.get("/search?q=" + quote(payload)).get_data(as_text=True)
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    atom = client.get("/search.atom?q=" + quote(payload)).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in atom


HEADER_PATHS = [
    "/",
    "/search?q=da+nang",
    "/api/search?q=da+nang",
    "/api/search?q=da+nang&format=csv",
    "/search.atom?q=da+nang",
    "/nope",
    "/api/nope",
    "/api/search?page=0",
    "/static/style.css",
    "/static/app.js",
    "/healthz",
]


@pytest.mark.parametrize("path", HEADER_PATHS)
def test_security_headers_on_every_response(
    client: FlaskClient, path: str, assert_security_headers: Any
) -> None:
    with client.get(path) as resp:
        assert_security_headers(resp)


def test_security_headers_on_304_and_405(client: FlaskClient, assert_security_headers: Any) -> None:
    etag = client.get("/api/search?q=x").headers["ETag"]
    assert_security_headers(client.get("/api/search?q=x", headers={"If-None-Match": etag}))
    assert_security_headers(client.post("/search"))


def test_templates_have_no_inline_script_style_or_handlers() -> None:
    for template in (WEB / "templates").glob("*.html"):
        text = template.read_text("utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template.name
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", text), template.name
        unquoted = re.findall(r"\s[a-z-]+=\{\{", text)
        assert not unquoted, f"unquoted attribute in {template.name}: {unquoted}"


def test_safe_filter_only_on_engine_escaped_fields_in_element_content() -> None:
    uses = []
    for template in (WEB / "templates").glob("*.html"):
        for match in re.finditer(
            r"\{\{\s*([\w.]+)\s*\|\s*safe\s*\}\}", template.read_text("utf-8")
        ):
            uses.append(match.group(1))
            before = template.read_text("utf-8")[: match.start()]
            assert before.rstrip().endswith(">"), "|safe only as element content"
    assert sorted(set(uses)) == ["hit.snippet", "hit.title_highlight"]


def test_web_never_opens_a_writer() -> None:
    forbidden = (
        "writer",
        "optimize",
        "AsyncWriter",
        "BufferedWriter",
        "create_in",
        "open_or_create",
    )
    for source in WEB.rglob("*.py"):
        text = source.read_text("utf-8")
        for word in ("writer(", "optimize(", "AsyncWriter", "BufferedWriter"):
            assert word not in text, f"{word} in {source}"
        for node in ast.walk(ast.parse(text)):
            name = getattr(node, "attr", None) or getattr(node, "id", None)
            assert name not in forbidden, f"{name} in {source}"
            if isinstance(node, ast.ImportFrom):
                assert all(alias.name not in forbidden for alias in node.names), source


def test_debug_is_off_and_limits_are_set(app: Flask) -> None:
    assert app.debug is False and app.config["MAX_CONTENT_LENGTH"] == 16 * 1024
    options = server_options(4)
    assert options["threads"] == 4
    assert options["max_request_body_size"] == 16384
    assert options["max_request_header_size"] == 32768
    assert options["channel_timeout"] == 30
    assert options["clear_untrusted_proxy_headers"] is True
    assert "trusted_proxy" not in WAITRESS_LIMITS


def test_smoke_tool_runs_one_request(
    demo_index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from web.__main__ import main

    assert main(["--index-dir", str(demo_index_dir), "--get", "/api/search?q=đà nẵng"]) == 0
    assert '"total":' in capsys.readouterr().out
    assert main(["--index-dir", str(demo_index_dir), "--get", "/api/articles/nope"]) == 1
    assert "article_not_found" in capsys.readouterr().out
