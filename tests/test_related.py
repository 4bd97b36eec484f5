"""More like this on the demo corpus: same topic, never itself, never a near-duplicate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from search.engine import SearchRequest, run_search
from search.errors import NotFound
from search.features.related import related_articles
from search.index.store import open_index
from search.query.weights import weighting

GOLD = {"demo-003", "demo-017", "demo-031", "demo-nfd-4"}  # "Giá vàng ..." articles


def ids(hits: list[dict[str, Any]]) -> list[str]:
    return [hit["id"] for hit in hits]


@pytest.mark.parametrize(
    ("article_id", "same_topic"),
    [
        ("demo-003", GOLD - {"demo-003"}),
        ("demo-nfd-4", GOLD - {"demo-nfd-4"}),
        ("demo-007", {"demo-019", "demo-044"}),  # help for the flooded centre (miền Trung)
        ("demo-013", {"demo-030", "demo-051"}),  # the prime minister (Thủ tướng) and Sông Hậu
    ],
)
def test_related_are_about_the_same_thing(
    searcher: Any, article_id: str, same_topic: set[str]
) -> None:
    related = ids(related_articles(searcher, article_id))
    assert article_id not in related
    assert len(set(related) & same_topic) >= 2, related


def test_related_respects_limit(searcher: Any) -> None:
    assert len(related_articles(searcher, "demo-003", limit=2)) == 2
    assert related_articles(searcher, "demo-003", limit=0) == []


def test_related_hits_have_the_search_hit_shape(searcher: Any) -> None:
    related = related_articles(searcher, "demo-053")
    found = run_search(searcher, SearchRequest.from_params(q="giá vàng"))["hits"][0]
    assert related and all(set(hit) == set(found) for hit in related)
    assert all(hit["published"] is None or hit["published"].endswith("+07:00") for hit in related)


def test_unknown_article_is_not_found(searcher: Any) -> None:
    with pytest.raises(NotFound):
        related_articles(searcher, "no-such-article")


@pytest.fixture(scope="module")
def with_copies(
    tmp_path_factory: pytest.TempPathFactory, build_index: Any, demo_paths: list[Path]
) -> Iterator[Any]:
    """The demo articles plus a republished copy and a retitled copy of demo-003, and another
    gold-price story whose title needs escaping."""
    folder = tmp_path_factory.mktemp("related")
    original = next(
        json.loads(line)
        for line in demo_paths[0].read_text(encoding="utf-8").splitlines()
        if json.loads(line)["id"] == "demo-003"
    )
    copies = [
        {**original, "id": "copy-003", "url": "https://other.example.vn/copy-003"},
        {
            **original,
            "id": "retitled-003",
            "url": "https://other.example.vn/retitled-003",
            "title": original["title"] + " cuối tuần",
        },
        {
            "id": "quoted-gold",
            "url": "https://other.example.vn/quoted-gold",
            "title": 'Giá vàng "nhảy múa", người mua & người bán vàng đều lo',
            "summary": "Giá vàng trong nước đổi chiều liên tục, tiệm vàng vắng khách.",
        },
    ]
    extra = folder / "copies.jsonl"
    extra.write_text(
        "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in copies), encoding="utf-8"
    )
    build_index(folder / "index", [demo_paths[0], extra])
    with open_index(folder / "index").searcher(weighting=weighting()) as searcher:
        yield searcher


@pytest.mark.parametrize("article_id", ["demo-003", "copy-003", "retitled-003"])
def test_near_duplicates_are_not_related(with_copies: Any, article_id: str) -> None:
    related = ids(related_articles(with_copies, article_id, limit=10))
    assert not {"demo-003", "copy-003", "retitled-003"} & set(related), related
    assert {"demo-017", "demo-031"} <= set(related)


def test_related_titles_are_escaped_without_marks(with_copies: Any) -> None:
    related = {hit["id"]: hit for hit in related_articles(with_copies, "demo-003", limit=10)}
    assert "quoted-gold" in related, list(related)
    assert related["quoted-gold"]["title_highlight"] == (
        "Giá vàng &quot;nhảy múa&quot;, người mua &amp; người bán vàng đều lo"
    )
