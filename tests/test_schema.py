"""The document an article becomes: the URL slug's extra words and old-index compatibility."""

from __future__ import annotations

import copy
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from whoosh.index import create_in
from whoosh.query import DateRange, Term

from search.analysis.dates import VIETNAM, to_index_value
from search.engine import SearchRequest, run_search
from search.index.bulk_writer import BulkWriter
from search.index.schema import (
    DATE_SHIFT_STEP,
    SLUG_FIELD,
    Article,
    ArticleSchema,
    slug_extra_words,
    to_document,
)
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


DATE_RANGES = [
    (datetime(2008, 1, 1), datetime(2027, 1, 1)),
    (datetime(2015, 3, 1), datetime(2015, 3, 31, 23, 59, 59)),
    (datetime(2019, 12, 31, 17, 0), datetime(2020, 1, 1, 16, 59, 59)),  # a Vietnam-time year's edge
    (datetime(2012, 6, 1, 8, 30, 15), datetime(2012, 6, 1, 8, 30, 15)),  # one second
    (datetime(2030, 1, 1), datetime(2031, 1, 1)),  # none
]


@pytest.fixture(scope="module")
def dated_articles() -> list[Article]:
    moments = random.Random(19).sample(range(0, 19 * 365 * 86400), 400)
    start = datetime(2008, 1, 1, tzinfo=VIETNAM)
    articles = [
        Article(id=f"d{n}", title=f"tin {n}", published=start + timedelta(seconds=s))
        for n, s in enumerate(moments)
    ]
    return [
        *articles,
        Article(id="edge", title="tin", published=datetime(2012, 6, 1, 15, 30, 15, tzinfo=VIETNAM)),
    ]


@pytest.mark.parametrize("shift_step", [DATE_SHIFT_STEP, 8])  # ours, and DATETIME's own
@pytest.mark.parametrize(("start", "end"), DATE_RANGES)
def test_whoosh_date_ranges_find_the_documents_of_their_dates(
    tmp_path: Path, dated_articles: list[Article], shift_step: int, start: datetime, end: datetime
) -> None:
    schema = ArticleSchema()
    field = copy.copy(schema["published"])  # the class's field is shared: leave it be
    field.shift_step = shift_step
    schema.remove("published")
    schema.add("published", field)
    ix = create_in(str(tmp_path), schema)
    writer = BulkWriter(ix)
    for article in dated_articles:
        writer.add_document(**to_document(article))
    writer.commit()
    expected = {
        a.id for a in dated_articles if a.published and start <= to_index_value(a.published) <= end
    }
    with ix.searcher() as searcher:
        assert searcher.schema["published"].shift_step == shift_step
        hits = searcher.search(DateRange("published", start, end), limit=None)
        assert {hit["id"] for hit in hits} == expected
    assert ArticleSchema()["published"].shift_step == DATE_SHIFT_STEP
