"""Shared fixtures: a tiny real index built from the demo corpus by the real indexer, the web
app over it, a real `vnsearch serve`, and the checks the web tests share.

Helpers are fixtures too (a fixture returning the function), so no test module imports
another, or this one, by name.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import pwd
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse
from whoosh.formats import Positions
from whoosh.index import FileIndex

from indexer.build import IndexBuilder
from indexer.readers import read_paths
from indexer.records import RawRecord
from indexer.validate import check_record
from search.analysis.chains import TermMemo
from search.index.durability import live_dir
from search.index.schema import Article, to_document
from search.index.store import ArchiveIndex, open_index
from web import CONTENT_SECURITY_POLICY, create_app
from web.serve import bind_socket

ROOT = Path(__file__).resolve().parent.parent
DEMO_PATHS = [ROOT / "demo" / "articles.jsonl", ROOT / "demo" / "pages", ROOT / "demo" / "feeds"]
CORPUS = ROOT.parent / "shared" / "corpus"
NEW_ARTICLE = {
    "id": "web/live-1?x=1 #2",
    "url": "https://baosonghau.example.vn/web-live-1.html",
    "title": "Hội thi đèn lồng xanhquyt ở phường Vĩnh Lợi",
    "summary": "Bài viết thử cho kiểm tra cập nhật trực tiếp.",
    "body": "Hội thi đèn lồng xanhquyt diễn ra tối thứ bảy.",
    "published": "2024-05-02T19:30:00+07:00",
    "source": "Báo Sông Hậu",
    "category": "Văn hóa",
    "author": "Lê Dương",
}


def index_files(index_dir: Path, paths: list[Path], batch_size: int = 50) -> IndexBuilder:
    """Index files into a directory with the real indexer; returns the builder (summary)."""
    messages: list[str] = []
    builder = IndexBuilder(str(index_dir), batch_size=batch_size, report=messages.append)
    builder.add_records(read_paths(str(p) for p in paths))
    builder.messages = messages  # type: ignore[attr-defined]
    return builder


@pytest.fixture(scope="session")
def build_index() -> Callable[..., IndexBuilder]:
    """index_files(index_dir, paths, batch_size=50): the real indexer into a directory."""
    return index_files


@pytest.fixture(scope="session")
def term_memos() -> tuple[TermMemo, ...]:
    """Two indexer term memos kept across tests: one with room for every word, one whose
    tables fill after three entries (then every other piece of text is worked out anew)."""
    return TermMemo(), TermMemo(limit=3)


@pytest.fixture(scope="session")
def demo_paths() -> list[Path]:
    """The demo corpus: articles (JSONL), saved pages, a feed."""
    return list(DEMO_PATHS)


@pytest.fixture(scope="session")
def indexed_articles() -> list[Article]:
    """Everything the demo index holds (articles, saved pages, feed), as the readers see it."""
    return [check_record(raw).article for raw in read_paths(str(p) for p in DEMO_PATHS)]


@pytest.fixture(scope="session")
def demo_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo corpus (articles, saved pages, feed) indexed once per test run."""
    index_dir = tmp_path_factory.mktemp("demo-index")
    builder = index_files(index_dir, DEMO_PATHS)
    assert builder.summary.rejected == 0, builder.messages  # type: ignore[attr-defined]
    return index_dir


@pytest.fixture(scope="session")
def demo_index(demo_index_dir: Path) -> FileIndex:
    return open_index(demo_index_dir)


@pytest.fixture()
def searcher(demo_index: FileIndex) -> Iterator[object]:
    from search.query.weights import weighting

    with demo_index.searcher(weighting=weighting()) as s:
        yield s


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """../shared/corpus (outside the repository), or a clean skip when it is absent."""
    if not (CORPUS / "dantri-2020-2021.jsonl.gz").exists():
        pytest.skip("../shared/corpus is not available")
    return CORPUS


@pytest.fixture(scope="session")
def churned_index(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo corpus in many small segments, with some articles deleted and re-added."""
    directory = tmp_path_factory.mktemp("churn")
    builder = index_files(directory / "ix", DEMO_PATHS, batch_size=7)
    lines = (DEMO_PATHS[0]).read_text(encoding="utf-8").splitlines()[:20]
    again = directory / "again.jsonl"
    again.write_text("\n".join(lines), encoding="utf-8")
    index_files(directory / "ix", [again], batch_size=3)  # replaces: deletions in old segments
    builder.delete([json.loads(line)["id"] for line in lines[:5]])
    return builder.index


@pytest.fixture()
def two_segment_index(tmp_path: Path) -> Any:
    """The demo corpus in two imports, with the sidecars of both segments written."""
    index_files(tmp_path / "ix", DEMO_PATHS[:1], batch_size=10_000)
    builder = index_files(tmp_path / "ix", DEMO_PATHS[1:], batch_size=10_000)
    from search.index.derived import ensure_sidecars

    with builder.index.reader() as reader:
        ensure_sidecars(builder.index.storage.folder, reader, min_docs=1)
    return builder.index


def stored_dates(searcher: Any) -> list[int | None]:
    """Per document number, its publication time as Whoosh's sortable number from its stored
    fields, None when undated: what search.index.columns.date_values must give."""
    from whoosh.util.times import datetime_to_long

    reader, dates = searcher.reader(), []
    for docnum in range(searcher.doc_count_all()):
        published = reader.stored_fields(docnum).get("published")
        dates.append(None if published is None else datetime_to_long(published))
    return dates


def leaf_column_values(searcher: Any, fieldname: str) -> list[str]:
    """Per document number, a column's value read one segment at a time by Whoosh itself (""
    where a segment has no such column): what the coded columns must give."""
    values: list[str] = []
    for leaf, _offset in searcher.reader().leaf_readers():
        held = [""] * leaf.doc_count_all()
        if leaf.has_column(fieldname):
            read = [v if isinstance(v, str) else "" for v in leaf.column_reader(fieldname)]
            held[: len(read)] = read[: len(held)]
        values.extend(held)
    return values


@pytest.fixture(scope="session")
def reference_columns() -> tuple[Callable[..., list[int | None]], Callable[..., list[str]]]:
    """(stored_dates, leaf_column_values): plain readings the cached columns are checked on."""
    return stored_dates, leaf_column_values


# Few syllables, so that every one is in most bodies, many times, runs of them recur, and
# posting lists span several W3 blocks.
GENERATED_SYLLABLES = ["mưa", "lớn", "ở", "Đà", "Nẵng", "giao", "thông", "ùn", "tắc", "bão"]


@pytest.fixture(scope="session")
def generated_index(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """400 articles of random text over GENERATED_SYLLABLES (seeded), in two segments, some
    of them deleted: for checks against Whoosh's own matchers on long, repetitive lists."""
    directory = tmp_path_factory.mktemp("generated")
    rng = random.Random(11)
    records = []
    for n in range(400):
        words = rng.choices(GENERATED_SYLLABLES, k=rng.randint(5, 160))
        records.append(
            {
                "id": f"G{n}",
                "url": f"https://bao.example.vn/g-{n}.html",
                "title": " ".join(rng.choices(GENERATED_SYLLABLES, k=6)),
                "body": ". ".join(" ".join(words[i : i + 9]) for i in range(0, len(words), 9)),
                "published": f"20{10 + n % 15}-05-01T08:00:00+07:00",
            }
        )
    source = jsonl_file(directory / "generated.jsonl", records)
    builder = index_files(directory / "ix", [source], batch_size=200)
    builder.delete([f"G{n}" for n in range(0, 400, 11)])
    return builder.index


# Texts whose words the tokenizer and the run expression (search.analysis.textmatch) cut
# differently: dotted abbreviations and numbers, a word split at a dot, invisible hyphens.
RUN_TEXTS = [
    "Hôm nay trời mưa lớn ở Đà Nẵng, giao thông ùn tắc.",
    "Người dân TP.HCM có thêm tuyến metro mới.",
    "Giá 50.000 đồng mỗi kg, tăng 1,5 lần.",
    "Giá 50.000đ mỗi kg rau xanh.",
    "Họ ở thành.phố mới có nhà riêng.",
    "Ông đi xy.abc.de rồi về nhà ngay.",
    "Chiều nay vào trư\u00adờng học mới của con.",
    "Đội U.23 Việt Nam thắng đậm.",
    "Họ sống ở ab.thanh.pho mới có nhà.",
    "Đây là mưa lớn trời ở nay hôm.",
]


@pytest.fixture(scope="session")
def run_texts_index(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """RUN_TEXTS, each as a body, as a title and as a summary of its own article (30 in
    all), beside 200 generated articles that share their words."""
    directory = tmp_path_factory.mktemp("run-texts")
    rng = random.Random(7)
    vocabulary = " ".join(RUN_TEXTS).split()
    records = []
    for n, text in enumerate(RUN_TEXTS):
        for field in ("body", "title", "summary"):
            record = {"title": "Tin ngắn", "body": "Nội dung.", field: text}
            records.append({**record, "id": f"R{n}{field}", "url": f"https://b.vn/{n}{field}"})
    for n in range(200):
        records.append(
            {
                "id": f"F{n}",
                "url": f"https://b.vn/f{n}",
                "title": " ".join(rng.choices(vocabulary, k=6)),
                "body": " ".join(rng.choices(vocabulary, k=rng.randint(20, 120))),
            }
        )
    records = [{**r, "published": "2024-05-01T08:00:00+07:00"} for r in records]
    return index_files(directory / "ix", [jsonl_file(directory / "r.jsonl", records)]).index


# Whoosh documents and what a reader sees of an index: the writer and merge tests compare ours
# with Whoosh's own.


def make_demo_documents() -> list[dict[str, Any]]:
    """The demo articles, then 150 mixes of them (so that common terms span several blocks)."""
    articles = []
    lines = DEMO_PATHS[0].read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        articles.append(check_record(RawRecord("demo", number, json.loads(line))).article)
    rng = random.Random(7)
    docs = [to_document(a) for a in articles]
    for i in range(150):
        a, b = rng.sample(articles, 2)
        doc = to_document(a)
        doc["id"] = f"mix-{i}"
        doc["body"] = doc["body_folded"] = f"{a.body} {b.title} {b.title}"
        docs.append(doc)
    return docs


@pytest.fixture(scope="session")
def demo_documents() -> Callable[[], list[dict[str, Any]]]:
    """make_demo_documents(): a fresh list of Whoosh documents on each call."""
    return make_demo_documents


def value_decoder(format: Any) -> Callable[[Any], Any]:
    """What a posting's value means: the positions for a Positions field (the writer pickles
    them in fewer bytes than Whoosh: search/index/compact_pickle.py), else the value itself."""
    if isinstance(format, Positions):
        return lambda value: format.decode_positions(value)
    return lambda value: value or None


def index_contents(ix: Any) -> dict[str, Any]:
    """What a reader sees: every posting and term statistic, lengths, stored fields, columns."""
    out: dict[str, Any] = {}
    with ix.reader() as reader:
        for leaf, offset in reader.leaf_readers():
            for fieldname, text in leaf.all_terms():
                decoded = value_decoder(leaf.schema[fieldname].format)
                info = leaf.term_info(fieldname, text)
                matcher = leaf.postings(fieldname, text)
                postings = []
                while matcher.is_active():
                    # value-less formats (ID fields): None from a block, "" when inlined
                    postings.append((matcher.id(), matcher.weight(), decoded(matcher.value())))
                    matcher.next()
                out[f"{offset} {fieldname} {text!r}"] = (
                    info.weight(),
                    info.doc_frequency(),
                    info.min_length(),
                    info.max_length(),
                    info.max_weight(),
                    info.min_id(),
                    info.max_id(),
                    postings,
                )
            names = leaf.schema.names()
            for docnum in leaf.all_doc_ids():
                out[f"{offset} lengths {docnum}"] = [
                    leaf.doc_field_length(docnum, n) for n in names
                ]
            out[f"{offset} totals"] = [leaf.field_length(n) for n in names]
            out[f"{offset} stored"] = list(leaf.all_stored_fields())
            for name in names:
                if leaf.has_column(name):
                    out[f"{offset} column {name}"] = list(leaf.column_reader(name, translate=False))
    return out


@pytest.fixture(scope="session")
def everything() -> Callable[[Any], dict[str, Any]]:
    """index_contents(ix): everything a reader of the index sees, comparable with ==."""
    return index_contents


def run_in_daemon(work: Callable[..., None], *args: Any) -> str:
    """Run work(*args) in a daemonic process; "" when it succeeded, else its traceback."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def target() -> None:
        try:
            work(*args)
        except BaseException:  # noqa: BLE001 - reported to the test
            sender.send(traceback.format_exc())
        else:
            sender.send("")

    process = context.Process(target=target, daemon=True)
    process.start()
    outcome: str = receiver.recv()
    process.join()
    return outcome


@pytest.fixture(scope="session")
def in_daemon() -> Callable[..., str]:
    """run_in_daemon(work, *args): work(*args) in a daemonic process (as in a Dask worker);
    "" when it succeeded, else its traceback."""
    return run_in_daemon


# The web app: flaskr's fixtures over the demo index, and the checks every web test shares.


def app_over(index_dir: Path | str, **config: Any) -> Flask:
    return create_app({"INDEX_DIR": str(index_dir), "TESTING": True, **config})


@pytest.fixture(scope="session")
def make_app() -> Callable[..., Flask]:
    """app_over(index_dir, **config): the app in testing mode over an index directory."""
    return app_over


@pytest.fixture()
def app(demo_index_dir: Path) -> Iterator[Flask]:
    """The app over the demo index."""
    application = app_over(demo_index_dir)
    yield application
    application.extensions["vnsearch_index"].close()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def new_article() -> dict[str, str]:
    """An article the demo corpus lacks, with an id that needs escaping in a URL."""
    return dict(NEW_ARTICLE)


def check_api_error(resp: TestResponse, status: int, code: str | None = None) -> dict[str, str]:
    """The canonical API error: JSON `{"error": {"code", "message"}}`, no stack text."""
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert list(body) == ["error"]
    assert sorted(body["error"]) == ["code", "message"]
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    assert "Traceback" not in resp.get_data(as_text=True)
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Cache-Control"] == "no-store"
    error: dict[str, str] = body["error"]
    return error


@pytest.fixture(scope="session")
def assert_error() -> Callable[..., dict[str, str]]:
    """check_api_error(resp, status, code=None): the one check of the API's error shape."""
    return check_api_error


def check_security_headers(resp: TestResponse) -> None:
    assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.fixture(scope="session")
def assert_security_headers() -> Callable[[TestResponse], None]:
    """check_security_headers(resp): the headers every response carries."""
    return check_security_headers


def jsonl_file(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


@pytest.fixture(scope="session")
def write_jsonl() -> Callable[[Path, list[dict[str, Any]]], Path]:
    """jsonl_file(path, records): records written as JSONL; returns the path."""
    return jsonl_file


# Real servers: `vnsearch serve` in a child process, or workers started in this process.


@contextmanager
def serve_in_child(index_dir: Path, log_path: Path, workers: int = 1) -> Iterator[ServerProcess]:
    """`vnsearch serve` on a free port of 127.0.0.1, stopped with SIGTERM afterwards."""
    command = [sys.executable, "-m", "cli", "serve", "--index-dir", str(index_dir)]
    command += ["--host", "127.0.0.1", "--port", "0", "--workers", str(workers), "--threads", "4"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(process, log_path)
    try:
        server.wait_for_log(r"serving .* on (http://\S+/)")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def running_server() -> Callable[..., AbstractContextManager[ServerProcess]]:
    """serve_in_child(index_dir, log_path, workers=1): a context with the running server."""
    return serve_in_child


class ServerProcess:
    """A running `vnsearch serve` and its log."""

    def __init__(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path
        self.url = ""

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log())
            if match:
                if not self.url and match.groups():
                    self.url = match.group(1)
                return match
            assert self.process.poll() is None, f"server exited:\n{self.log()}"
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not logged in {timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@pytest.fixture()
def slow_page_socket(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[float], tuple[socket.socket, str]]:
    """A function of `seconds` giving a listening socket on 127.0.0.1 and its URL, for servers
    started in this process (run_worker, Supervisor); they get the real app plus a /slow page
    that answers "done" after `seconds`: a request in progress, on demand."""
    import web

    real_create_app = web.create_app

    def with_slow_page(seconds: float) -> tuple[socket.socket, str]:
        def slow() -> str:
            time.sleep(seconds)
            return "done"

        def create_app_with_slow_page(config: dict[str, Any]) -> Flask:
            application = real_create_app(config)
            application.add_url_rule("/slow", "slow", slow)
            return application

        monkeypatch.setattr(web, "create_app", create_app_with_slow_page)
        sock = bind_socket("127.0.0.1", 0)
        return sock, f"http://127.0.0.1:{sock.getsockname()[1]}/"

    return with_slow_page


# Read replicas: an indexing node's folder, and articles a later import adds to it.


def replica_news(word: str, count: int = 3) -> list[dict[str, str]]:
    """`count` new articles whose titles all hold `word` (a made-up word no other has)."""
    return [
        dict(NEW_ARTICLE, id=f"replica/{word}-{n}", title=f"Tin {word} số {n} ở Cần Thơ")
        for n in range(count)
    ]


@pytest.fixture(scope="session")
def news_with_word() -> Callable[..., list[dict[str, str]]]:
    """replica_news(word, count=3): new articles whose titles hold `word`."""
    return replica_news


@pytest.fixture()
def indexing_node(tmp_path: Path) -> Path:
    """An index folder holding the demo articles, as the machine that imports has it."""
    origin = tmp_path / "origin"
    index_files(origin, [DEMO_PATHS[0]])
    return origin


@pytest.fixture()
def import_news(tmp_path: Path) -> Callable[[Path], int]:
    """import_news(origin): 3 new articles (titles holding `xanhquyt`) indexed there; returns
    its new generation."""

    def run(origin: Path) -> int:
        news = jsonl_file(tmp_path / "news.jsonl", replica_news("xanhquyt"))
        index_files(origin, [news])
        return int(open_index(origin).latest_generation())

    return run


def replica_state(replica: Path) -> tuple[str, int, int]:
    """The build a replica's `current` names, its generation and article count, as a server
    opens it."""
    index = open_index(live_dir(replica))
    return os.readlink(replica / "current"), index.latest_generation(), index.doc_count()


@pytest.fixture(scope="session")
def served() -> Callable[[Path], tuple[str, int, int]]:
    """replica_state(replica): its `current` build, generation and article count."""
    return replica_state


def interrupt_publish(command: list[str], replica: Path, kill_after: float, **popen: Any) -> None:
    """Run a (slow) publish command in a session of its own, wait until its transfer into
    the replica has started, let it go on `kill_after` s, then kill it and the rsync and ssh
    processes it started."""
    slow = subprocess.Popen(command, start_new_session=True, **popen)
    try:
        deadline = time.monotonic() + 20
        while not any(n.startswith(".incoming-") for n in os.listdir(replica)):
            assert slow.poll() is None and time.monotonic() < deadline, "no transfer started"
            time.sleep(0.02)
        time.sleep(kill_after)
        assert slow.poll() is None, "the transfer ended before it could be interrupted"
    finally:
        os.killpg(slow.pid, signal.SIGKILL)
        slow.wait()


@pytest.fixture(scope="session")
def interrupted_publish() -> Callable[..., None]:
    """interrupt_publish(command, replica, kill_after, **popen): a publish killed mid-way."""
    return interrupt_publish


def check_files_reused(replica: Path, first: Any, second: Any) -> None:
    """The second publish's build holds the first's unchanged files as hard links, and sent
    only the others."""
    old, new = replica / first.build, replica / second.build
    kept = sorted(set(os.listdir(old)) & set(os.listdir(new)) - {"MANIFEST.json"})
    assert kept and all((old / n).stat().st_ino == (new / n).stat().st_ino for n in kept)
    assert second.sent == second.files - len(kept)


@pytest.fixture(scope="session")
def files_reused() -> Callable[[Path, Any, Any], None]:
    """check_files_reused(replica, first, second): only new files were sent."""
    return check_files_reused


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def haproxy_over(server_urls: list[str], work_dir: Path) -> Iterator[str]:
    """deploy/haproxy.cfg with its `bind` on a free port and its `server` lines on these
    servers, run as `haproxy -db` in a child process; yields its URL, killed afterwards."""
    ports = iter(re.search(r":(\d+)/", url).group(1) for url in server_urls)  # type: ignore[union-attr]
    front = free_port()
    text = (ROOT / "deploy" / "haproxy.cfg").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(\s*bind )\S+", rf"\g<1>127.0.0.1:{front}", text)
    text = re.sub(
        r"(?m)^(\s*server \S+ )\S+", lambda m: f"{m.group(1)}127.0.0.1:{next(ports)}", text
    )
    assert next(ports, None) is None, "deploy/haproxy.cfg has fewer server lines than servers"
    config, log_path = work_dir / "haproxy.cfg", work_dir / "haproxy.log"
    config.write_text(text, encoding="utf-8")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(["haproxy", "-f", str(config), "-db"], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, log_path.read_text("utf-8", errors="replace")
            try:
                socket.create_connection(("127.0.0.1", front), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "haproxy does not listen"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{front}/"
    finally:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def load_balancer() -> Callable[..., AbstractContextManager[str]]:
    """haproxy_over(server_urls, work_dir): HAProxy from deploy/ in front of the servers."""
    return haproxy_over


# A real ssh server on 127.0.0.1, for publishing to `host:/path` replicas (search.index.publish).

SSHD_CONFIG = """\
ListenAddress 127.0.0.1
Port {port}
HostKey {folder}/host_key
PidFile {folder}/sshd.pid
AuthorizedKeysFile {folder}/authorized_keys
AllowUsers {user}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
"""
# StrictModes no: the authorized keys sit under /tmp, whose mode sshd would refuse for a home.

SSH_CLIENT_CONFIG = """\
Host {alias} {closed}
  HostName 127.0.0.1
  User {user}
  IdentityFile {folder}/client_key
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile {folder}/known_hosts
  GlobalKnownHostsFile /dev/null
  ConnectTimeout 10
  LogLevel ERROR
Host {alias}
  Port {port}
Host {closed}
  Port {closed_port}
"""


@dataclass(frozen=True)
class SshServer:
    """A running sshd: `ssh` is the command line reaching it (with its own client config, so
    that neither ~/.ssh nor /etc/ssh is read), `alias` its host name there, and
    `closed_alias` a host name there whose port nobody listens on."""

    ssh: str
    alias: str
    closed_alias: str
    log_path: Path


def start_sshd(folder: Path) -> tuple[subprocess.Popen[bytes], SshServer]:
    """sshd in the foreground on a free port of 127.0.0.1, as the current user, with a host
    key, an authorized key and both configs made in `folder`; returns once a login works."""
    sshd = shutil.which("sshd", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if sshd is None:
        pytest.fail("no sshd: install openssh-server (scripts/os-packages.sh test)")
    if os.geteuid() == 0:
        # sshd as root refuses to start without its (empty) privilege separation folder,
        # which the openssh-server service creates at boot; no configuration changes.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    for key in ("host_key", "client_key"):
        keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / key)]
        subprocess.run(keygen, check=True, capture_output=True)
    shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
    names = {"folder": folder, "user": pwd.getpwuid(os.getuid()).pw_name, "port": free_port()}
    (folder / "sshd_config").write_text(SSHD_CONFIG.format(**names), encoding="utf-8")
    names.update(alias="vnsearch-replica", closed="vnsearch-closed", closed_port=free_port())
    (folder / "ssh_config").write_text(SSH_CLIENT_CONFIG.format(**names), encoding="utf-8")
    server = SshServer(
        shlex.join(["ssh", "-F", str(folder / "ssh_config")]),
        "vnsearch-replica",
        "vnsearch-closed",
        folder / "sshd.log",
    )
    with open(server.log_path, "wb") as log:
        command = [sshd, "-D", "-e", "-f", str(folder / "sshd_config")]
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    login = [*shlex.split(server.ssh), "-o", "BatchMode=yes", server.alias, "true"]
    deadline = time.monotonic() + 10
    while subprocess.run(login, capture_output=True).returncode != 0:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"sshd does not let us in:\n{server.log_path.read_text('utf-8')}")
        time.sleep(0.05)
    return process, server


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """A real sshd on 127.0.0.1 for this test run, stopped at its end."""
    process, server = start_sshd(tmp_path_factory.mktemp("sshd"))
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# A sharded demo index and a real 2-worker Dask cluster on 127.0.0.1 (search.cluster).


def index_sharded(root: Path, paths: list[Path], shards: int = 2) -> Any:
    """The real sharded import of `paths` into `root`; returns the ShardedBuilder."""
    from indexer.sharded import ShardedBuilder
    from search.index.shard_layout import layout_for_import

    layout = layout_for_import(str(root), shards)
    assert layout is not None
    messages: list[str] = []
    builder = ShardedBuilder(layout, batch_size=50, report=messages.append)
    builder.add_records(read_paths(str(p) for p in paths))
    builder.messages = messages  # type: ignore[attr-defined]
    return builder


@pytest.fixture(scope="session")
def build_sharded() -> Callable[..., Any]:
    """index_sharded(root, paths, shards=2): the real sharded import into a directory."""
    return index_sharded


@pytest.fixture(scope="session")
def sharded_demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo corpus in 2 shards, indexed once per test run."""
    root = tmp_path_factory.mktemp("sharded-demo")
    builder = index_sharded(root, DEMO_PATHS)
    assert builder.summary.rejected == 0, builder.messages
    return root


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A client of a LocalCluster of 2 worker processes on 127.0.0.1 (`local:2`)."""
    from search.cluster.connect import connect

    client = connect("local:2")
    yield client
    cluster = client.cluster
    client.close()
    cluster.close()


@pytest.fixture()
def sharded_engine(sharded_demo_dir: Path, dask_client: Any) -> Iterator[Any]:
    """The sharded demo archive's engine on the 2-worker cluster (its actors up)."""
    from search.cluster.connect import sharded_engine as make_engine
    from search.settings import Settings

    dask_client.wait_for_workers(2, timeout=60)  # after a test killed one
    engine = make_engine(str(sharded_demo_dir), Settings(cluster_timeout_ms=5000), dask_client)
    yield engine
    engine.close()


@pytest.fixture()
def copy_of(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """copy_of(fixture name): a copy of that session index's directory, opened anew (its own
    caches), so that sidecars written into it leave the shared index alone."""

    def copied(name: str) -> ArchiveIndex:
        source = request.getfixturevalue(name).storage.folder
        target = tmp_path / name
        shutil.copytree(source, target)
        return open_index(target)

    return copied
