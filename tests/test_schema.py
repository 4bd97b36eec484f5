"""The document an article becomes: the URL slug's extra words and old-index compatibility."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from whoosh.index import create_in
from whoosh.query import Term

from search.engine import SearchRequest, run_search
from search.index.schema import SLUG_FIELD, Article, ArticleSchema, slug_extra_words, to_document
from search.index.store import open_index

# (url, title, the slug's words that the title lacks)
SLUG_CASES = [
    # a photo caption for a title: the slug keeps the headline
    (
        "https://x.vn/xa-hoi/ha-noi-mua-lon-ngap-sau-20210421124941144.htm",
        "Người dân lội nước trên phố",
        "ha noi mua lon ngap sau",
    ),
    ("https://x.vn/gia-vang-tang-manh-4925476.html", "Giá vàng hôm nay", "tang manh"),
    ("https://x.vn/thoi-su/hang-tram-nguoi-don-bao.html", "Hàng trăm người đón bão", ""),
    ("https://x.vn/bao-lu-mien-trung/", "Bão lũ", "mien trung"),  # a trailing slash
    ("https://x.vn/tin?id=7", "Tin", ""),  # the query string is not the slug
    ("https://x.vn/", "Trang chủ", ""),
    ("https://x.vn/%C4%91%C3%A0-n%E1%BA%B5ng-m%C6%B0a-1.html", "Đà Nẵng", "mua"),  # percent-encoded
    ("https://x.vn/duong-pho-da-nang-1.html", "Đường phố Đà Nẵng", ""),  # folded both sides
]


@pytest.mark.parametrize(("url", "title", "expected"), SLUG_CASES)
def test_slug_extra_words(url: str, title: str, expected: str) -> None:
    assert slug_extra_words(url, title) == expected


def _article(**overrides: Any) -> Article:
    fields = {"id": "a1", "title": "Xe qua cầu", "body": "Thân bài.", "url": "https://x.vn/"}
    return Article(**{**fields, **overrides})


def test_the_slug_field_holds_only_extra_words() -> None:
    doc = to_document(_article(url="https://x.vn/cau-moi-thong-xe-12.html"))
    assert doc[SLUG_FIELD] == "moi thong"
    assert SLUG_FIELD not in to_document(_article(url="https://x.vn/xe-qua-cau-12.html"))


def test_an_older_index_gets_only_the_fields_it_has() -> None:
    """An index built before the slug field existed keeps taking new articles."""
    article = _article(url="https://x.vn/cau-moi-thong-xe-12.html")
    full = to_document(article)
    older = to_document(article, fields=set(full) - {SLUG_FIELD})
    assert older == {name: value for name, value in full.items() if name != SLUG_FIELD}


def test_an_index_without_the_slug_field_still_takes_articles(
    tmp_path: Path, build_index: Any
) -> None:
    """Whoosh keeps the schema an index was made with: new code must write to old indexes."""
    older = ArticleSchema()
    older.remove(SLUG_FIELD)
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    create_in(str(index_dir), older)
    record = {"id": "a1", "title": "Xe qua cầu", "url": "https://x.vn/cau-moi-thong-xe-1.html"}
    source = tmp_path / "a.jsonl"
    source.write_text(json.dumps(record) + "\n", encoding="utf-8")
    builder = build_index(index_dir, [source])
    assert (builder.summary.added, builder.summary.rejected) == (1, 0)
    with open_index(index_dir).searcher() as searcher:
        assert SLUG_FIELD not in searcher.schema
        assert [hit["id"] for hit in searcher.search(Term("title_folded", "cau"))] == ["a1"]
        result = run_search(searcher, SearchRequest.from_params(q="cau moi"))
        assert [hit["id"] for hit in result["hits"]] == ["a1"]
