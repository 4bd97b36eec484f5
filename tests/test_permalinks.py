"""Article permalinks, /bai-viet/<slug>-<id>: slugs of Vietnamese titles, how a permalink is
resolved (canonical, redirected, unknown) and that every page links articles by permalink."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from flask import Flask
from flask.testing import FlaskClient

from web.permalinks import MAX_SLUG_CHARS, article_slug

DEMO_001 = (
    "/bai-viet/khoi-cong-tuyen-duong-giao-thong-noi-thanh-pho-vinh-hau-voi-huyen-cai-sao-demo-001"
)
SLUG_SHAPE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
HOA_BINH_NFD = unicodedata.normalize("NFD", "Hoà Bình")


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Đà Nẵng hút khách miền Tây", "da-nang-hut-khach-mien-tay"),
        (unicodedata.normalize("NFD", "Đà Nẵng hút khách miền Tây"), "da-nang-hut-khach-mien-tay"),
        ("Ðà Nẵng (Ð: the look-alike Icelandic eth)", "da-nang-d-the-look-alike-icelandic-eth"),
        ("ĐỒNG THÁP: “lũ” về sớm — 50%!", "dong-thap-lu-ve-som-50"),
        ("Hoà Bình", "hoa-binh"),  # old tone placement
        ("Hòa Bình", "hoa-binh"),  # new tone placement
        (HOA_BINH_NFD, "hoa-binh"),
        ("COVID-19: 3.000 ca mới ở TP.HCM", "covid-19-3-000-ca-moi-o-tp-hcm"),
        ("  --Giá vàng 24K--  ", "gia-vang-24k"),
        (
            "Khởi công tuyến đường giao thông nối thành phố Vĩnh Hậu với huyện Cái Sao và các "
            "xã vùng sâu vùng xa",  # cut at the last whole word within 80 characters
            "khoi-cong-tuyen-duong-giao-thong-noi-thanh-pho-vinh-hau-voi-huyen-cai-sao-va-cac",
        ),
        ("x" * 100, "x" * MAX_SLUG_CHARS),  # one word longer than a slug: cut inside it
        ("🎉🎉", "bai-viet"),  # nothing to transliterate
    ],
)
def test_slug_of_a_title(title: str, slug: str) -> None:
    assert article_slug(title) == slug
    assert SLUG_SHAPE.fullmatch(slug) and len(slug) <= MAX_SLUG_CHARS


@pytest.mark.parametrize(
    ("path", "status", "location"),
    [
        (DEMO_001, 200, None),
        ("/bai-viet/tieu-de-cu-demo-001", 301, DEMO_001),  # an outdated slug
        ("/bai-viet/Khởi-công-demo-001", 301, DEMO_001),  # a slug typed with accents
        ("/bai-viet/demo-001", 301, DEMO_001),  # the id alone
        ("/article/demo-001", 301, DEMO_001),  # a link from before permalinks
        (  # an id with two '-'
            "/bai-viet/da-nang-hut-khach-mien-tay-dip-he-voi-le-hoi-phao-hoa-quoc-te-demo-eth-1",
            200,
            None,
        ),
        ("/bai-viet/khong-co-bai-nay", 404, None),
        ("/bai-viet/khoi-cong-demo-999", 404, None),
        ("/article/no-such-id", 404, None),
    ],
)
def test_permalink_routing(
    client: FlaskClient, path: str, status: int, location: str | None
) -> None:
    resp = client.get(path)
    assert resp.status_code == status, path
    assert resp.headers.get("Location") == location
    if status == 200:
        html = resp.get_data(as_text=True)
        assert f'<link rel="canonical" href="{path}">' in html  # relative: no base URL set
    if status == 404:
        assert resp.mimetype == "text/html" and "Không tìm thấy" in resp.get_data(as_text=True)


TRICKY = [  # (id, title, canonical permalink as linked)
    ("001", "Giá lúa tăng", "/bai-viet/gia-lua-tang-001"),
    ("demo-001", "Đà Nẵng hút khách miền Tây", "/bai-viet/da-nang-hut-khach-mien-tay-demo-001"),
    (
        "tin/2024/05?a=1&b=2 #x%20",
        "Mưa lớn ở Cần Thơ",
        "/bai-viet/mua-lon-o-can-tho-tin/2024/05%3Fa=1&b=2%20%23x%2520",
    ),
    ("a//b", "Hai gạch chéo", "/bai-viet/hai-gach-cheo-a//b"),
    ("đ-1", "Hoà bình", "/bai-viet/hoa-binh-%C4%91-1"),
]


@pytest.fixture(scope="module")
def tricky_app(
    tmp_path_factory: pytest.TempPathFactory, build_index: Any, write_jsonl: Any, make_app: Any
) -> Iterator[Flask]:
    """An index of articles whose ids hold '-', '/', '?', '#', '%', spaces or 'đ', one id
    the end of another, and none with a url of its own (so results link the permalink)."""
    folder = tmp_path_factory.mktemp("permalinks")
    records = [
        {"id": article_id, "title": title, "body": f"{title}. Tin thử đường dẫn."}
        for article_id, title, _ in TRICKY
    ]
    build_index(folder / "index", [write_jsonl(folder / "tricky.jsonl", records)])
    application = make_app(folder / "index")
    yield application
    application.extensions["vnsearch_index"].close()


@pytest.mark.parametrize(("article_id", "title", "permalink"), TRICKY)
def test_tricky_ids_round_trip(
    tricky_app: Flask, article_id: str, title: str, permalink: str
) -> None:
    client = tricky_app.test_client()
    html = client.get("/search").get_data(as_text=True)
    assert f'href="{permalink.replace("&", "&amp;")}"' in html
    resp = client.get(permalink)
    assert resp.status_code == 200, permalink
    assert f"<h1>{title}</h1>" in resp.get_data(as_text=True)
    wrong_slug = client.get(permalink.replace(article_slug(title), "sai", 1))
    assert (wrong_slug.status_code, wrong_slug.headers.get("Location")) == (301, permalink)


def test_a_stale_slug_goes_to_the_longest_id_that_exists(tricky_app: Flask) -> None:
    resp = tricky_app.test_client().get("/bai-viet/tieu-de-khac-demo-001")  # "001" exists too
    assert resp.headers["Location"] == "/bai-viet/da-nang-hut-khach-mien-tay-demo-001"


@pytest.mark.parametrize("path", ["/search?q=da+nang", "/search", DEMO_001])
def test_pages_link_articles_by_permalink(client: FlaskClient, path: str) -> None:
    html = client.get(path).get_data(as_text=True)
    hrefs = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]*)"', html)]
    assert [h for h in hrefs if "/article/" in h] == []
    permalinks = [h for h in hrefs if h.startswith("/bai-viet/")]
    assert permalinks and len(permalinks) >= html.count('class="hit-title"')
    for href in permalinks:
        assert client.get(href).status_code == 200, href  # canonical: no redirect


def test_atom_entries_link_permalinks_and_keep_stable_ids(tricky_app: Flask) -> None:
    ns = {"a": "http://www.w3.org/2005/Atom"}
    seen = []
    for host in ("localhost", "other.example"):  # ids depend on neither the Host nor the time
        resp = tricky_app.test_client().get("/search.atom", headers={"Host": host})
        entries = ET.fromstring(resp.data).findall("a:entry", ns)
        assert len(entries) == len(TRICKY)
        links = {e.find("a:link", ns).get("href") for e in entries}  # type: ignore[union-attr]
        assert links == {permalink for _, _, permalink in TRICKY}  # relative: no base URL set
        seen.append([e.find("a:id", ns).text for e in entries])  # type: ignore[union-attr]
    assert seen[0] == seen[1] and len(set(seen[0])) == len(TRICKY)
    assert all(i and i.startswith("urn:uuid:") for i in seen[0]), seen[0]
