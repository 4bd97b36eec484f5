"""Did-you-mean (accent restoration, typos, Telex) and autocomplete on the real demo index."""

from __future__ import annotations

import gzip
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from search.analysis.chains import exact_terms, fold_term
from search.features.suggest import autocomplete, did_you_mean
from search.index.lexicon import get_lexicon, telex_decode
from search.index.store import open_index


@pytest.mark.parametrize(
    ("query", "total", "expected"),
    [
        # Accent-free queries: the reading the demo's titles and summaries support.
        ("gia vang", 4, "giá vàng"),
        ("thu tuong", 3, "thủ tướng"),
        ("ha noi", 2, "hà nội"),
        ("bao lu mien trung", 2, "bão lũ miền trung"),
        ("Benh Vien", 5, "bệnh viện"),
        ("HA NOI", 2, "hà nội"),
        ("bong da", 1, "bóng đá"),
        ("da nang", 2, "đà nẵng"),
        # Half-accented: what was accented stays, the rest is restored.
        ("giá vang", 4, "giá vàng"),
        ("gia vàng", 4, "giá vàng"),
        ("gia\u0301 vang", 4, "giá vàng"),  # typed decomposed (NFD)
        # One syllable, several common spellings (đường, dương): ambiguous, no suggestion.
        ("duong", 5, None),
        ("bao", 5, None),
        # Already right, or nothing to restore.
        ("giá vàng", 4, None),
        ("hoà bình", 2, None),  # the other tone style is the same word
        ("covid", 3, None),
        ("", 0, None),
        ("!!! ...", 0, None),
        # Typos (a syllable the index never saw) and Telex typed with the input method off.
        ("gia vnag", 0, "giá vàng"),
        ("giá vàgn", 0, "giá vàng"),
        ("vieejt nam", 0, "việt nam"),
        ("ddaf nawxng", 0, "đà nẵng"),
        # "tirnh" is Telex for "tỉnh" and a slip for "trình": alone, Telex; after "công", the
        # pair "công trình" overrules it.
        ("tirnh", 0, "tỉnh"),
        ("cong tirnh", 0, "công trình"),
        # Other tokens, phrases and operators are kept as typed.
        ("gia vang 2019", 4, "giá vàng 2019"),
        ('"thu tuong" OR title:gia vang', 5, '"thủ tướng" OR title:giá vàng'),
        ("-duong ha noi", 2, "-duong hà nội"),
    ],
)
def test_did_you_mean(searcher: Any, query: str, total: int, expected: str | None) -> None:
    assert did_you_mean(searcher, query, total) == expected


def test_long_queries_are_bounded(searcher: Any) -> None:
    query = "gia vang " * 200
    suggestion = did_you_mean(searcher, query, 4)
    assert suggestion is not None and suggestion.startswith("giá vàng giá vàng")
    assert "gia vang" in suggestion  # words past the first MAX_WORDS are left as typed


def test_accented_query_without_hits_may_be_reaccented(searcher: Any) -> None:
    # "vạng" is a real spelling elsewhere, but never next to "giá" in this archive.
    assert did_you_mean(searcher, "giá vạng", 4) in (None, "giá vàng")
    assert did_you_mean(searcher, "giá vạng", 0) == "giá vàng"


@pytest.mark.parametrize(
    ("word", "decoded"),
    [
        ("vieejt", "việt"),
        ("ddaf", "đà"),
        ("nawxng", "nẵng"),
        ("hoaf", "hòa"),
        ("truwowngf", "trường"),
        ("nam", None),  # no Telex key: not a Telex word
        ("xyz", None),
    ],
)
def test_telex_decode(word: str, decoded: str | None) -> None:
    assert telex_decode(word) == decoded


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ha n", ["hà nội", "hà nam"]),
        ("ha ", ["hà nội", "hà nam"]),  # the next word
        ("HA N", ["hà nội", "hà nam"]),
        ("hà n", ["hà nội", "hà nam"]),
        ("thu t", ["thủ tướng"]),
        ("benh v", ["bệnh viện"]),
        ("song h", ["sông hậu"]),
        ("da n", ["đà nẵng"]),
        ("ng", ["người"]),
    ],
)
def test_autocomplete_includes(searcher: Any, typed: str, expected: list[str]) -> None:
    completions = autocomplete(searcher, typed)
    assert set(expected) <= set(completions), completions


def test_autocomplete_orders_by_frequency_and_keeps_the_typed_words(searcher: Any) -> None:
    assert autocomplete(searcher, "thu t")[0] == "thủ tướng"  # 3 titles, "thủ tục" 1
    completions = autocomplete(searcher, "nguoi dan s")
    assert completions and all(c.startswith("người dân s") for c in completions)
    assert autocomplete(searcher, "gia vang g") == ["giá vàng giảm"]
    assert autocomplete(searcher, "gia vang q") == []  # no title continues that way


@pytest.mark.parametrize("typed", ["", "   ", "!!", "zzzzq"])
def test_autocomplete_nothing_to_complete(searcher: Any, typed: str) -> None:
    assert autocomplete(searcher, typed) == []


def test_autocomplete_respects_limit(searcher: Any) -> None:
    assert len(autocomplete(searcher, "ng", limit=3)) == 3
    assert autocomplete(searcher, "ng", limit=0) == []


def test_lexicon_follows_the_index_generation(tmp_path: Path, build_index: Any) -> None:
    """A word added by a later commit is known to the next searcher (cache per generation)."""
    source = tmp_path / "a.jsonl"
    source.write_text(_line("a1", "Giá vàng tăng mạnh"), encoding="utf-8")
    build_index(tmp_path / "ix", [source])
    index = open_index(tmp_path / "ix")  # one index object, as a server keeps
    with index.searcher() as searcher:
        assert "xang" not in get_lexicon(searcher)
        assert did_you_mean(searcher, "gia vang", 1) == "giá vàng"
    source.write_text(_line("a2", "Giá xăng giảm"), encoding="utf-8")
    build_index(tmp_path / "ix", [source])
    with index.searcher() as searcher:
        assert get_lexicon(searcher).spellings("xang") == ("xăng",)
        assert did_you_mean(searcher, "gia xang", 1) == "giá xăng"


def _line(article_id: str, title: str) -> str:
    record = {"id": article_id, "title": title, "url": f"https://example.vn/{article_id}"}
    return json.dumps(record, ensure_ascii=False) + "\n"


CORPUS_ARTICLES = 1200


@pytest.fixture(scope="module")
def corpus_sample(
    corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory, build_index: Any
) -> Iterator[Any]:
    """The first articles of news-2025-2026 indexed into a temporary index (read, never kept)."""
    folder = tmp_path_factory.mktemp("corpus-suggest")
    with gzip.open(corpus_dir / "news-2025-2026.jsonl.gz", "rt", encoding="utf-8") as lines:
        sample = list(itertools.islice(lines, CORPUS_ARTICLES))
    (folder / "sample.jsonl").write_text("".join(sample), encoding="utf-8")
    build_index(folder / "index", [folder / "sample.jsonl"], batch_size=CORPUS_ARTICLES)
    articles = [json.loads(line) for line in sample]
    with open_index(folder / "index").searcher() as searcher:
        yield searcher, articles


@pytest.mark.corpus
def test_accent_free_url_slugs_get_their_titles_back(corpus_sample: Any) -> None:
    """The newspapers' accent-free URL slugs, cut to 2-4 words, restore to the title's words."""
    searcher, articles = corpus_sample
    cases = [case for i, article in enumerate(articles) if (case := _slug_case(article, 2 + i % 3))]
    outcomes = Counter(_judge(did_you_mean(searcher, q, 1), q, want) for q, want in cases)
    assert len(cases) > 200, len(cases)
    assert outcomes["right"] >= 0.85 * len(cases), outcomes  # measured: 92%
    assert outcomes["wrong"] <= 0.01 * len(cases), outcomes  # measured: 0.3%


def _slug_case(article: dict[str, Any], words: int) -> tuple[str, str] | None:
    """(first words of the URL slug, first words of the title), when they are the same words."""
    match = re.search(r"/([a-z0-9-]+?)(?:-\d{6,})?\.html?$", article.get("url") or "")
    slug = match.group(1).split("-")[:words] if match else []
    title = exact_terms(article["title"])[:words]
    if len(slug) < words or [fold_term(term) for term in title] != slug:
        return None
    return " ".join(slug), " ".join(title)


def _judge(got: str | None, typed: str, want: str) -> str:
    """right: the title's words; partial: some words restored right, the rest left as typed."""
    if got is None:
        return "none"
    if got == want:
        return "right"
    triples = zip(got.split(), want.split(), typed.split(), strict=True)
    return "partial" if all(g in (w, t) for g, w, t in triples) else "wrong"


def test_a_dear_lexicon_serves_newer_generations_for_a_while(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, build_index: Any
) -> None:
    from search.index import lexicon

    source = tmp_path / "a.jsonl"
    source.write_text(_line("a1", "Giá vàng tăng mạnh"), encoding="utf-8")
    build_index(tmp_path / "ix", [source])
    monkeypatch.setattr(lexicon, "LEXICON_CHEAP_SECONDS", -1.0)  # every build counts as dear
    index = open_index(tmp_path / "ix")  # one index object, as a server keeps
    with index.searcher() as searcher:
        assert "xang" not in get_lexicon(searcher)
    source.write_text(_line("a2", "Giá xăng giảm"), encoding="utf-8")
    build_index(tmp_path / "ix", [source])
    with index.searcher() as searcher:
        assert "xang" not in get_lexicon(searcher)  # the older one, still young
        monkeypatch.setattr(lexicon, "LEXICON_MAX_AGE", -1.0)
        assert get_lexicon(searcher).spellings("xang") == ("xăng",)  # too old: rebuilt
