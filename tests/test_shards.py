"""Shards for real: the sharded import, and searching it on a 2-worker Dask LocalCluster on
127.0.0.1 against the single index of the same articles (search.cluster)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from search.engine import SearchRequest, run_search
from search.index.lexicon import get_lexicon
from search.index.shard_layout import LayoutError, layout_for_import, read_layout, shard_of
from search.index.store import open_index
from search.query.weights import weighting
from web.index import attach_sharded
from web.serve import bind_socket, run_worker

pytestmark = pytest.mark.serial

QUERIES = [
    "da nang",
    "đà nẵng",
    "hà nội",
    "",
    "bão lũ miền trung",
    "kinh te",
    "giá vàng tăng",
    "xyzzy",
    "nguy*",
    '"thành phố"',
    "du lịch -biển",
    "title:lễ hội",
]


@pytest.mark.parametrize(
    ("article_id", "shards", "expected"),
    [("demo-001", 2, 1), ("demo-002", 2, 0), ("demo-001", 4, 1), ("tin-ă-đ", 3, 1), ("", 2, 0)],
)
def test_routing_is_a_stable_hash_of_the_id(article_id: str, shards: int, expected: int) -> None:
    assert shard_of(article_id, shards) == expected


@pytest.mark.parametrize(
    ("saved", "asked", "problem"),
    [(2, 3, "holds 2 shards"), (None, 0, "between 1 and"), (None, 300, "between 1 and")],
)
def test_a_layout_that_would_change_routing_is_refused(
    tmp_path: Path, saved: int | None, asked: int, problem: str
) -> None:
    if saved:
        layout_for_import(str(tmp_path), saved)
    with pytest.raises(LayoutError, match=problem):
        layout_for_import(str(tmp_path), asked)


def test_later_imports_route_like_the_first_and_updates_stay_on_their_shard(
    tmp_path: Path, build_sharded: Any, demo_paths: list[Path], write_jsonl: Any
) -> None:
    root = tmp_path / "archive"
    build_sharded(root, demo_paths)
    layout = read_layout(str(root))
    before = [open_index(path).doc_count() for path in layout.shard_dirs()]
    update = {"id": "demo-001", "title": "Bản cập nhật xanhquyt", "body": "Nội dung mới."}
    bad = {"id": 7, "title": "sai"}
    more = write_jsonl(tmp_path / "more.jsonl", [update, bad])
    builder = build_sharded(root, [more])  # no shard count: read from shards.json
    assert builder.summary.updated == 1 and builder.summary.rejected == 1
    assert any(m.startswith(f"{more}:2: ") for m in builder.messages)
    after = [open_index(path).doc_count() for path in layout.shard_dirs()]
    assert after == before
    home = layout.shard_for("demo-001")
    for number, path in enumerate(layout.shard_dirs()):
        with open_index(path).searcher() as searcher:
            found = searcher.document(id="demo-001")
        assert (found is not None and found["title"] == update["title"]) == (number == home)


@pytest.fixture(scope="module")
def single_searcher(demo_index_dir: Path) -> Iterator[Any]:
    with open_index(demo_index_dir).searcher(weighting=weighting()) as searcher:
        yield searcher


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
@pytest.mark.parametrize("q", QUERIES)
def test_shards_answer_as_the_single_index(
    sharded_engine: Any, single_searcher: Any, q: str, sort: str
) -> None:
    request = SearchRequest.from_params(q=q, sort=sort)
    single = run_search(single_searcher, request)
    sharded = sharded_engine.search(request)
    assert sharded["total"] == single["total"]
    assert sharded["facets"] == single["facets"]
    assert [h["id"] for h in sharded["hits"][:10]] == [h["id"] for h in single["hits"][:10]]
    assert not sharded["partial"] and sharded["missing_shards"] == []


# A word only one shard's titles hold, typed without accents beside words every shard holds:
# the other shard must read it as the archive does, a known word, not correct it into one of
# its own words ("ret" into "két"), which scored other articles than one index does.
ONE_SHARD_WORDS = [("ret mien bac", "ret"), ("xin loi", "xin")]


@pytest.mark.parametrize(("q", "word"), ONE_SHARD_WORDS)
def test_a_word_one_shard_holds_is_no_typo_on_the_others(
    sharded_engine: Any, single_searcher: Any, sharded_demo_dir: Path, q: str, word: str
) -> None:
    holding = []
    for path in read_layout(str(sharded_demo_dir)).shard_dirs():
        with open_index(path).searcher() as searcher:
            holding.append(word in get_lexicon(searcher))
    assert sorted(holding) == [False, True]  # the case this test is about
    request = SearchRequest.from_params(q=q)
    single = run_search(single_searcher, request)["hits"]
    sharded = sharded_engine.search(request)["hits"]
    assert [h["id"] for h in sharded] == [h["id"] for h in single]
    assert [h["score"] for h in sharded] == pytest.approx([h["score"] for h in single])


@pytest.mark.parametrize(
    ("q", "params"),
    [("da nang", {"page": 2, "per_page": 5}), ("", {"category": ["Thời sự"]}), ("lũ", {})],
)
def test_pages_and_filters_merge_as_the_single_index(
    sharded_engine: Any, single_searcher: Any, q: str, params: dict[str, Any]
) -> None:
    request = SearchRequest.from_params(q=q, **params)
    single = run_search(single_searcher, request)
    sharded = sharded_engine.search(request)
    assert (sharded["total"], sharded["facets"]) == (single["total"], single["facets"])
    assert [h["id"] for h in sharded["hits"]] == [h["id"] for h in single["hits"]]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/search?q=abc*+abd*+abe*+abf*", 400),
        ("/api/search?q=da+nang&page=0", 400),
        ("/api/search?q=da+nang&sort=best", 400),
        ("/api/articles/no-such-id", 404),
        ("/api/articles/no-such-id/related", 404),
        ("/api/search?q=%22a+b%22+%22c+d%22", 200),
    ],
)
def test_bad_requests_to_a_sharded_archive_are_the_single_index_errors(
    sharded_engine: Any, make_app: Any, sharded_demo_dir: Path, url: str, status: int
) -> None:
    app = make_app(sharded_demo_dir)
    attach_sharded(app, sharded_engine)
    response = app.test_client().get(url)
    assert response.status_code == status
    assert response.is_json


def test_articles_and_completions_come_from_every_shard(
    sharded_engine: Any, single_searcher: Any
) -> None:
    from search.features.articles import get_article

    for article_id in ("demo-001", "demo-002"):
        assert sharded_engine.article(article_id) == get_article(single_searcher, article_id)
    assert sharded_engine.article("no-such-id") is None
    related = sharded_engine.related("demo-001", 5)
    assert related and all(hit["id"] != "demo-001" for hit in related)
    assert "hà" in sharded_engine.suggest("ha", 8)


@pytest.fixture()
def sharded_server(sharded_engine: Any, make_app: Any, sharded_demo_dir: Path) -> Iterator[str]:
    """A real waitress on 127.0.0.1 serving the sharded archive; yields its URL."""
    app = make_app(sharded_demo_dir)
    attach_sharded(app, sharded_engine)
    sock = bind_socket("127.0.0.1", 0)
    stop = threading.Event()  # serve's own loop: it drains requests in progress, then closes
    thread = threading.Thread(target=run_worker, args=(sock, app, 4, stop), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    stop.set()
    thread.join(10)
    sock.close()


def fetch(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read()


def test_a_lost_worker_gives_a_partial_answer_then_a_whole_one(
    sharded_server: Any, sharded_engine: Any, dask_client: Any
) -> None:
    whole = json.loads(fetch(sharded_server + "api/search?q=da+nang")[1])
    assert whole["partial"] is False and whole["missing_shards"] == []
    pids = dask_client.run(os.getpid)
    address = sorted(pids)[0]
    lost = [s for s in range(2) if sharded_engine.holders.held_on(s) == {address}]
    assert lost
    os.kill(pids[address], signal.SIGKILL)
    status, body = fetch(sharded_server + "api/search?q=da+nang")
    partial = json.loads(body)
    assert status == 200 and partial["partial"] is True
    assert partial["missing_shards"] == lost and partial["total"] < whole["total"]
    deadline = time.monotonic() + 60  # the nanny restarts the worker, the actor follows
    while time.monotonic() < deadline:
        again = json.loads(fetch(sharded_server + "api/search?q=da+nang")[1])
        if not again["partial"]:
            break
        time.sleep(0.5)
    assert again["missing_shards"] == [] and again["total"] == whole["total"]
    assert json.loads(fetch(sharded_server + "healthz")[1])["documents"] == 87


def test_a_lost_shard_is_named_on_the_page_and_in_the_api_until_it_returns(
    tmp_path: Path, sharded_demo_dir: Path, dask_client: Any, make_app: Any
) -> None:
    from search.cluster.connect import sharded_engine as make_engine
    from search.settings import Settings

    root = tmp_path / "archive"
    shutil.copytree(sharded_demo_dir, root)
    engine = make_engine(str(root), Settings(), dask_client)
    app = make_app(root)
    attach_sharded(app, engine)
    client = app.test_client()
    try:
        whole = client.get("/api/search?q=da+nang").get_json()
        shard = root / "shards" / "01"
        shard.rename(tmp_path / "away")  # the shard's disk is gone
        for _ in range(3):
            answer = client.get("/api/search?q=da+nang")
            assert answer.status_code == 200
            assert answer.get_json()["partial"] is True
            assert answer.get_json()["missing_shards"] == [1]
        page = client.get("/search?q=da+nang")
        assert page.status_code == 200
        assert "Kết quả chưa đầy đủ: thiếu phân đoạn 1" in page.get_data(as_text=True)
        (tmp_path / "away").rename(shard)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            again = client.get("/api/search?q=da+nang").get_json()
            if not again["partial"]:
                break
            time.sleep(0.2)
        assert again["missing_shards"] == [] and again["total"] == whole["total"]
        assert "Kết quả chưa đầy đủ" not in client.get("/search?q=da+nang").get_data(as_text=True)
    finally:
        engine.close()


def test_with_a_replica_of_each_shard_a_lost_worker_costs_nothing(
    sharded_demo_dir: Path, dask_client: Any
) -> None:
    from search.cluster.connect import sharded_engine as make_engine
    from search.settings import Settings

    dask_client.wait_for_workers(2, timeout=60)  # after a test killed one
    engine = make_engine(str(sharded_demo_dir), Settings(shard_replicas=2), dask_client)
    try:
        request = SearchRequest.from_params(q="da nang")
        whole = engine.search(request)
        assert all(len(engine.holders.held_on(s)) == 2 for s in range(2))
        pids = dask_client.run(os.getpid)
        os.kill(pids[sorted(pids)[0]], signal.SIGKILL)
        for _ in range(3):
            again = engine.search(request)
            assert not again["partial"] and again["total"] == whole["total"]
            assert [h["id"] for h in again["hits"]] == [h["id"] for h in whole["hits"]]
    finally:
        engine.close()


def test_with_a_replica_of_each_shard_a_stalled_worker_costs_nothing(
    sharded_demo_dir: Path, dask_client: Any
) -> None:
    from search.cluster.connect import sharded_engine as make_engine
    from search.settings import Settings

    dask_client.wait_for_workers(2, timeout=60)
    engine = make_engine(str(sharded_demo_dir), Settings(shard_replicas=2), dask_client)
    pids = dask_client.run(os.getpid)
    stalled = pids[sorted(pids)[0]]  # alive to the scheduler, answering nothing
    try:
        request = SearchRequest.from_params(q="da nang")
        whole = engine.search(request)
        os.kill(stalled, signal.SIGSTOP)
        for _ in range(2):
            again = engine.search(request)
            assert not again["partial"] and again["total"] == whole["total"]
            assert [h["id"] for h in again["hits"]] == [h["id"] for h in whole["hits"]]
    finally:
        os.kill(stalled, signal.SIGCONT)
        engine.close()


def test_the_cluster_builds_the_shards_the_sharded_import_builds(
    tmp_path: Path,
    dask_client: Any,
    sharded_demo_dir: Path,
    demo_paths: list[Path],
    everything: Any,
) -> None:
    from indexer.distributed import DistributedShardedBuilder
    from indexer.readers import read_paths

    layout = layout_for_import(str(tmp_path / "built"), 2)
    assert layout is not None
    messages: list[str] = []
    builder = DistributedShardedBuilder(
        layout, dask_client, report=messages.append, merged_at_end=False, batch_size=50, procs=1
    )
    summary = builder.add_records(read_paths(str(p) for p in demo_paths))
    assert (summary.added, summary.rejected) == (87, 0), messages
    reference = read_layout(str(sharded_demo_dir))
    for built, expected in zip(layout.shard_dirs(), reference.shard_dirs(), strict=True):
        assert everything(open_index(built)) == everything(open_index(expected))


def test_vnsearch_index_on_a_cluster_reports_bad_records_by_line(
    tmp_path: Path, demo_paths: list[Path], write_jsonl: Any
) -> None:
    from click.testing import CliRunner

    from cli import main as cli

    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "x-1", "title": "Tin"}, {"id": 3}])
    root = tmp_path / "archive"
    command = ["index", "-q", "--cluster", "local:2", "--shards", "2", "--index-dir", str(root)]
    result = CliRunner().invoke(cli, [*command, *map(str, demo_paths), str(bad)])
    assert result.exit_code == 2, result.output
    assert f"{bad}:2: " in result.output
    assert "88 added" in result.output
    counts = [open_index(path).doc_count() for path in read_layout(str(root)).shard_dirs()]
    assert sum(counts) == 88 and all(counts)


@pytest.mark.parametrize(
    ("q", "counts", "titles", "expected"),
    [
        ("a b", [(0, 3), (2,)], [0, 0], ("all", True)),  # one shard holds every word
        ("a b", [(0, 3), (0, 1)], [0, 0], ("most", False)),
        ("a b c", [(0, 0, 4), (0, 0, 1)], [0, 0], ("any", False)),
        ("a b c", [(6,), (5,)], [1, 0], ("all", False)),  # 11 strict, a title holds them
        ("a b c", [(6,), (5,)], [0, 0], ("all", True)),  # 11 strict, no title: near misses
        ("a", [(0,), (0,)], [0, 0], ("all", False)),
    ],
)
def test_the_shards_agree_the_plan_one_index_would_follow(
    q: str, counts: list[tuple[int, ...]], titles: list[int], expected: tuple[str, bool]
) -> None:
    from search.execute.agreement import ShardFacts, agreed_plan
    from search.query.parse import parse_query

    facts = [ShardFacts(c, t) for c, t in zip(counts, titles, strict=True)]
    plan = agreed_plan(parse_query(q), facts, ranked=True)
    assert (plan.level, plan.near_misses) == expected


RUN = "đoàn tàu chở khách chạy thử tuyến đường sắt mới"
# (shard, title, body, date): the run's holders on both shards, and titles holding most of its
# words (the best scores, all on shard 0) so that the shards' own best scores differ.
RUN_ARTICLES = [
    (0, "Đường sắt mới: đoàn tàu chở khách chạy thử", "Tin ngắn về giao thông.", "2024-05-01"),
    (0, "Tàu chở khách chạy thử tuyến mới", "Một tin khác trong ngày.", "2024-04-20"),
    (0, "Bản tin sáng", f"Sáng nay {RUN} từ ga trung tâm.", "2023-01-10"),
    (1, "Bản tin chiều", f"Chiều nay {RUN} qua ba tỉnh.", "2024-03-05"),
    (1, "Giao thông cuối tuần", f"Cuối tuần {RUN}, hành khách đông.", "2022-07-15"),
    (1, "Tin vắn", "Đoàn khách du lịch đến thăm nhà ga.", "2024-02-01"),
]


def _run_corpus(folder: Path) -> Path:
    """RUN_ARTICLES as JSONL, each with an id that routes it to its shard of 2."""
    lines = []
    for number, (shard, title, body, date) in enumerate(RUN_ARTICLES):
        suffix = 0
        while shard_of(f"run-{number}-{suffix}", 2) != shard:
            suffix += 1
        article = {
            "id": f"run-{number}-{suffix}",
            "url": f"https://example.vn/run-{number}.html",
            "title": title,
            "summary": "",
            "body": body,
            "published": f"{date}T08:00:00+07:00",
            "source": "example.vn",
        }
        lines.append(json.dumps(article, ensure_ascii=False))
    path = folder / "runs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# The accent-free form orders the holders as one index does; its scores still differ by a
# few points on the shard whose words' accents are restored with other counts (open).
RUN_QUERIES = [(RUN, True), ("doan tau cho khach chay thu tuyen duong sat moi", False)]


@pytest.mark.parametrize(("q", "same_scores"), RUN_QUERIES)
def test_a_runs_holders_on_both_shards_rank_as_in_one_index(
    tmp_path: Path,
    dask_client: Any,
    build_index: Any,
    build_sharded: Any,
    q: str,
    same_scores: bool,
) -> None:
    """Holders of a remembered run get twice the archive's best score, not their shard's."""
    from search.cluster.connect import sharded_engine as make_engine
    from search.settings import Settings

    corpus = _run_corpus(tmp_path)
    build_index(tmp_path / "single", [corpus])
    build_sharded(tmp_path / "sharded", [corpus])
    request = SearchRequest.from_params(q=q)
    with open_index(tmp_path / "single").searcher(weighting=weighting()) as searcher:
        single = run_search(searcher, request)
    dask_client.wait_for_workers(2, timeout=60)
    engine = make_engine(str(tmp_path / "sharded"), Settings(cluster_timeout_ms=5000), dask_client)
    try:
        sharded = engine.search(request)
    finally:
        engine.close()
    holders = {h["id"] for h in single["hits"] if "Bản tin" in h["title"] or "Giao" in h["title"]}
    assert len(holders) == 3  # the run is found, and its holders come first
    assert {h["id"] for h in single["hits"][:3]} == holders
    assert [h["id"] for h in sharded["hits"]] == [h["id"] for h in single["hits"]]
    if same_scores:
        assert [h["score"] for h in sharded["hits"]] == [h["score"] for h in single["hits"]]


@pytest.mark.parametrize(("warm_terms", "warmed"), [(0, False), (20, True)])
def test_a_shard_actor_warms_the_caches_its_calls_read(
    sharded_demo_dir: Path, warm_terms: int, warmed: bool
) -> None:
    """As `serve` warms one index before its workers fork, an actor warms its shard's caches
    (search.warmup), in the very index object its calls then read."""
    from search.cluster.shard import ShardActor, ShardWarming

    shard_dir = read_layout(str(sharded_demo_dir)).shard_dirs()[0]
    actor = ShardActor(0, shard_dir, ShardWarming(sidecar_min_docs=10**9, warm_terms=warm_terms))
    actor.sidecars_written()  # waits for the warm-up
    try:
        index, _ = actor._reader()  # the index its calls read
        assert (len(index.caches.segment_postings) > 0) is warmed
        assert actor.ping()["documents"] > 0
    finally:
        actor.close()
