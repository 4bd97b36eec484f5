"""The `vnsearch` CLI on real files and a real index: bad input, upserts, dates, stats."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from indexer.build import IndexBuilder, ReadAhead
from indexer.readers import read_paths
from search.analysis.dates import VIETNAM
from search.features.articles import get_article
from search.index.merge import MERGE_FACTOR
from search.index.store import open_index


def jsonl(path: Path, records: list[Any], raw_lines: dict[int, str] | None = None) -> Path:
    """Write records as JSONL; raw_lines puts literal text at given 0-based line numbers."""
    lines = [json.dumps(r) for r in records]  # ASCII escapes keep lone surrogates writable
    for at, text in sorted((raw_lines or {}).items()):
        lines.insert(at, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def article(n: int, **fields: Any) -> dict[str, Any]:
    record = {
        "id": f"a{n}",
        "url": f"https://bao.example.vn/bai-{n}.html",
        "title": f"Bài số {n} về giao thông",
        "summary": "Tóm tắt ngắn.",
        "body": f"Nội dung bài {n}.",
        "published": "2019-10-24T13:27:00+07:00",
        "source": "Báo Thử",
        "category": "Thời sự",
        "author": None,
    }
    record.update(fields)
    return record


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def live_count(searcher: Any, article_id: str) -> int:
    """Live documents with this id (doc_frequency also counts deleted, unmerged ones)."""
    return len(list(searcher.document_numbers(id=article_id)))


def stats(index_dir: Path) -> dict[str, Any]:
    result = run("stats", "--index-dir", str(index_dir), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_bad_records_are_reported_with_file_and_line_and_skipped(tmp_path: Path) -> None:
    source = jsonl(
        tmp_path / "mixed.jsonl",
        [
            article(1),
            {"id": "notitle", "title": "  ", "body": "x"},
            article(3, published="31/02/2021"),
            article(4, id=123),
            article(5, title=["a", "list"]),
            article(6, id="\ud800"),
            article(7),
        ],
        raw_lines={
            1: '{"id": "broken", "title": ',
            2: '{"title": "x", "n": NaN}',
            3: '{"title": "a", "title": "b"}',
            4: "[1, 2]",
        },
    )
    result = run("index", "--index-dir", str(tmp_path / "ix"), "-q", str(source))
    assert result.exit_code == 2
    expected = [
        "mixed.jsonl:2: not valid JSON",
        "mixed.jsonl:3: not valid JSON: NaN is not allowed",
        "mixed.jsonl:4: not valid JSON: duplicate key 'title'",
        "mixed.jsonl:5: line is JSON but not an object",
        "mixed.jsonl:6: record has no title",
        "mixed.jsonl:7: bad 'published'",
        "mixed.jsonl:8: field 'id' must be a string",
        "mixed.jsonl:9: field 'title' must be a string",
        "mixed.jsonl:10: field 'id' holds invalid Unicode",
    ]
    for message in expected:
        assert message in result.stderr
    assert "2 added, 0 updated, 9 rejected" in result.stderr
    assert stats(tmp_path / "ix")["documents"] == 2


def test_reindexing_an_id_replaces_it(tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    first = jsonl(tmp_path / "v1.jsonl", [article(1), article(2)])
    second = jsonl(tmp_path / "v2.jsonl", [article(1, title="Tiêu đề đã sửa")])
    assert run("index", "--index-dir", str(index_dir), "-q", str(first)).exit_code == 0
    result = run("index", "--index-dir", str(index_dir), "-q", str(second))
    assert "0 added, 1 updated, 0 rejected" in result.stderr
    assert stats(index_dir)["documents"] == 2
    with open_index(index_dir).searcher() as searcher:
        assert get_article(searcher, "a1")["title"] == "Tiêu đề đã sửa"  # type: ignore[index]
        assert live_count(searcher, "a1") == 1


def test_repeated_id_in_one_batch_keeps_the_last(tmp_path: Path) -> None:
    source = jsonl(tmp_path / "dup.jsonl", [article(1), article(1, title="Bản cuối"), article(2)])
    result = run("index", "--index-dir", str(tmp_path / "ix"), "-q", str(source))
    assert "2 added, 1 updated" in result.stderr
    with open_index(tmp_path / "ix").searcher() as searcher:
        assert live_count(searcher, "a1") == 1
        assert get_article(searcher, "a1")["title"] == "Bản cuối"  # type: ignore[index]


def test_same_file_twice_in_batches_gives_exact_count(tmp_path: Path) -> None:
    source = jsonl(tmp_path / "many.jsonl", [article(n) for n in range(25)])
    index_dir = str(tmp_path / "ix")
    for _ in range(2):
        run("index", "--index-dir", index_dir, "--batch-size", "7", "-q", str(source))
    assert stats(tmp_path / "ix")["documents"] == 25


def test_upserts_across_batches_and_another_writer_leave_one_version(tmp_path: Path) -> None:
    """The ids the builder knows are in the index (search.index.store.KnownIds): an id of an
    earlier batch is replaced, and so is one another builder committed in between."""
    from indexer.build import IndexBuilder
    from indexer.readers import read_paths

    def records(*items: dict[str, Any]) -> Any:
        path = tmp_path / f"r{len(list(tmp_path.iterdir()))}.jsonl"
        return read_paths([jsonl(path, list(items))])

    index_dir = str(tmp_path / "ix")
    builder = IndexBuilder(index_dir, batch_size=2, report=lambda _: None)
    other = IndexBuilder(index_dir, batch_size=2, report=lambda _: None)
    builder.add_records(records(article(1), article(2)))
    other.add_records(records(article(3)))
    summary = builder.add_records(
        records(article(1, title="Bản mới 1"), article(3, title="Bản mới 3"), article(4))
    )
    assert (summary.added, summary.updated) == (3, 2)  # both calls of one builder
    with open_index(index_dir).searcher() as searcher:
        assert searcher.doc_count() == 4
        for doc_id, title in (("a1", "Bản mới 1"), ("a3", "Bản mới 3")):
            assert live_count(searcher, doc_id) == 1
            assert get_article(searcher, doc_id)["title"] == title  # type: ignore[index]


def test_read_ahead_reads_once_and_raises_its_failure_when_asked() -> None:
    """The next batch is read at most once, even when the batch being written is redone
    without a refused article, and a failure to read it waits until that batch is done."""
    reads: list[int] = []

    def read() -> list[Any]:
        reads.append(1)
        return ["next"]

    ahead = ReadAhead(read)
    assert not ahead.done
    ahead()
    assert ahead.done  # nothing more to read while the batch is written again
    ahead()
    assert ahead.batch() == ["next"] and len(reads) == 1
    assert ReadAhead(read).batch() == ["next"] and len(reads) == 2  # never run meanwhile

    def broken() -> list[Any]:
        raise OSError("the disk failed")

    failing = ReadAhead(broken)
    failing()  # no raise while the batch is written
    with pytest.raises(OSError, match="the disk failed"):
        failing.batch()


@pytest.mark.parametrize("batch_size", [3, 1_000])  # written here alone; with a forked helper
def test_a_read_failing_after_a_batch_leaves_that_batch_committed(
    tmp_path: Path, batch_size: int
) -> None:
    """The next batch is read while one is written: a read that fails then (a broken disk,
    a vanished file) fails the import only once the batch before it is committed."""
    source = jsonl(tmp_path / "a.jsonl", [article(n) for n in range(batch_size + 2)])

    def records() -> Any:
        for number, raw in enumerate(read_paths([str(source)])):
            if number == batch_size + 1:
                raise OSError("the disk failed")
            yield raw

    index_dir = str(tmp_path / "ix")
    builder = IndexBuilder(index_dir, batch_size=batch_size, report=lambda _: None, procs=2)
    with pytest.raises(OSError, match="the disk failed"):
        builder.add_records(records())
    with open_index(index_dir).searcher() as searcher:
        assert searcher.doc_count() == batch_size  # the first batch, whole
        assert live_count(searcher, f"a{batch_size}") == 0  # the next one's first: not


PUBLISHED_CASES = [
    ("2019-10-24T13:27:00+07:00", "2019-10-24T13:27:00+07:00"),
    ("2019-10-24T06:27:00Z", "2019-10-24T13:27:00+07:00"),
    ("2019-10-24T13:27:00", "2019-10-24T13:27:00+07:00"),  # naive = Vietnam time
    ("24/10/2019 13:27", "2019-10-24T13:27:00+07:00"),
    ("24/10/2019", "2019-10-24T00:00:00+07:00"),
    ("Thứ Năm, ngày 24/10/2019 | 13:27", "2019-10-24T13:27:00+07:00"),
    ("09:15 21/11/2024", "2024-11-21T09:15:00+07:00"),
    (None, None),
]


def test_published_forms(tmp_path: Path) -> None:
    records = [article(n, published=value) for n, (value, _) in enumerate(PUBLISHED_CASES)]
    source = jsonl(tmp_path / "dates.jsonl", records)
    assert run("index", "--index-dir", str(tmp_path / "ix"), "-q", str(source)).exit_code == 0
    with open_index(tmp_path / "ix").searcher() as searcher:
        for n, (_, expected) in enumerate(PUBLISHED_CASES):
            assert get_article(searcher, f"a{n}")["published"] == expected  # type: ignore[index]


def test_missing_ids_are_derived_stably(tmp_path: Path) -> None:
    records = [article(1, id=None), article(2, id=None, url=None)]
    source = jsonl(tmp_path / "noid.jsonl", records)
    index_dir = str(tmp_path / "ix")
    run("index", "--index-dir", index_dir, "-q", str(source))
    result = run("index", "--index-dir", index_dir, "-q", str(source))
    assert "0 added, 2 updated" in result.stderr
    assert stats(tmp_path / "ix")["documents"] == 2


def test_gzip_crlf_bom_and_line_separators(tmp_path: Path) -> None:
    lines = [
        json.dumps(article(1, summary="dòng một\u2028dòng hai"), ensure_ascii=False),
        json.dumps(article(2), ensure_ascii=False),
    ]
    data = ("\ufeff" + "\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(data))
    result = run("index", "--index-dir", str(tmp_path / "ix"), "-q", str(tmp_path / "a.jsonl.gz"))
    assert result.exit_code == 0, result.stderr
    assert stats(tmp_path / "ix")["documents"] == 2


def test_truncated_gzip_keeps_what_was_read(tmp_path: Path) -> None:
    data = "\n".join(json.dumps(article(n)) for n in range(200)).encode()
    packed = gzip.compress(data)
    (tmp_path / "cut.jsonl.gz").write_bytes(packed[: len(packed) * 2 // 3])
    result = run("index", "--index-dir", str(tmp_path / "ix"), "-q", str(tmp_path / "cut.jsonl.gz"))
    assert result.exit_code == 2
    assert "file ends early or is damaged" in result.stderr
    assert 0 < stats(tmp_path / "ix")["documents"] < 200


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "file is empty"),
        ("binary.bin", bytes(range(256)) * 4, "not a supported format"),
        ("notes.txt", "Chỉ là ghi chú.\nKhông phải bài báo.".encode(), "not a supported format"),
    ],
)
def test_unreadable_files_are_reported(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    (tmp_path / name).write_bytes(content)
    good = jsonl(tmp_path / "good.jsonl", [article(1)])
    result = run(
        "index", "--index-dir", str(tmp_path / "ix"), "-q", str(tmp_path / name), str(good)
    )
    assert result.exit_code == 2
    assert f"{tmp_path / name}: {reason}" in result.stderr
    assert stats(tmp_path / "ix")["documents"] == 1


def test_html_and_unsafe_urls_are_cleaned(tmp_path: Path) -> None:
    record = article(
        1,
        title="Giá &quot;vé&quot; <b>tăng</b>",
        url="javascript:alert(1)",
        body="<p>Đoạn một &amp; hai</p><script>x()</script><p>Đoạn ba</p>",
    )
    source = jsonl(tmp_path / "html.jsonl", [record])
    run("index", "--index-dir", str(tmp_path / "ix"), "-q", str(source))
    with open_index(tmp_path / "ix").searcher() as searcher:
        stored = get_article(searcher, "a1")
    assert stored is not None
    assert stored["title"] == 'Giá "vé" tăng'
    assert stored["url"] is None
    assert "<" not in stored["body"] and "x()" not in stored["body"]
    assert "Đoạn một & hai" in stored["body"]


def test_delete(tmp_path: Path) -> None:
    source = jsonl(tmp_path / "d.jsonl", [article(1), article(2)])
    index_dir = str(tmp_path / "ix")
    run("index", "--index-dir", index_dir, "-q", str(source))
    assert run("delete", "--index-dir", index_dir, "a1").exit_code == 0
    assert run("delete", "--index-dir", index_dir, "nosuch").exit_code == 2
    assert stats(tmp_path / "ix")["documents"] == 1


def test_if_empty_and_index_dir_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VNSEARCH_INDEX_DIR", str(tmp_path / "env-ix"))
    first = jsonl(tmp_path / "one.jsonl", [article(1)])
    second = jsonl(tmp_path / "two.jsonl", [article(2)])
    assert run("index", "-q", str(first)).exit_code == 0
    result = run("index", "--if-empty", "-q", str(second))
    assert "already holds articles" in result.stderr
    assert stats(tmp_path / "env-ix")["documents"] == 1


def test_stats_reports_dates_sources_and_size(demo_index_dir: Path) -> None:
    report = stats(demo_index_dir)
    assert report["documents"] >= 76
    assert report["oldest"].startswith("2011-") and report["newest"].endswith("+07:00")
    assert report["undated"] == 3
    assert {"value": "Đài Phát thanh Sông Hậu", "count": 15} in report["sources"]
    assert report["size_bytes"] > 0


def test_the_schema_reloads_from_disk_in_a_new_process(demo_index_dir: Path) -> None:
    """Whoosh pickles the analyzers into the index: a fresh process must rebuild them (ICU)."""
    import subprocess
    import sys

    sample = "Ðà Nẵng hoà bình, 1.268 người ở Thi\u0323 trươ\u0300ng"
    script = (
        "import json, sys; from search.index.store import open_index\n"
        "schema = open_index(sys.argv[1]).schema\n"
        "print(json.dumps({name: [t.text for t in schema[name].analyzer(sys.argv[2])]"
        " for name in ('title', 'title_folded', 'title_bigram', 'title_bigram_folded')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(demo_index_dir), sample],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    reloaded = json.loads(out)
    assert reloaded["title"] == [
        "đà",
        "nẵng",
        "hòa",
        "bình",
        "1",
        "268",
        "1268",
        "người",
        "ở",
        "thị",
        "trường",
    ]
    assert reloaded["title_folded"][:4] == ["da", "nang", "hoa", "binh"]
    assert reloaded["title_bigram_folded"][0] == "da_nang"
    assert reloaded["title_bigram"][-1] == "thị_trường"


# whoosh-pitfalls "Bad inputs: Indexer: records", one line each: the JSON line and either the
# rejection reason (a substring) or what the indexed article holds.
BAD_RECORDS = [
    ('{"title": "Tin"}', {"title": "Tin"}),  # no id: derived from the title
    ('{"id": "", "title": "Tin"}', {"title": "Tin"}),
    ('{"id": null, "title": "Tin"}', {"title": "Tin"}),
    ('{"id": 123, "title": "Tin"}', "'id' must be a string"),
    ('{"id": ["x"], "title": "Tin"}', "'id' must be a string"),
    ('{"id": "' + "x" * 100_000 + '", "title": "Tin"}', "'id' is empty, too long"),
    ('{"id": "\\ud800", "title": "Tin"}', "lone surrogate"),
    ('{"id": "a\\u202eb", "title": "Tin"}', "control characters"),
    # ids keep '/' (they are ids, never paths) unless no URL could carry them (issue 21)
    ('{"id": "x/y//z/", "title": "Tin"}', {"id": "x/y//z/"}),
    ('{"id": "a..b/.c/related-news", "title": "Tin"}', {"id": "a..b/.c/related-news"}),
    ('{"id": "../x/y", "title": "Tin"}', "'.' or '..' path segment"),
    ('{"id": "x/./y", "title": "Tin"}', "'.' or '..' path segment"),
    ('{"id": "/x", "title": "Tin"}', "a leading '/'"),
    ('{"id": "a\\nb", "title": "Tin"}', "a line break"),
    ('{"id": "evil/related", "title": "Tin"}', "last path segment 'related'"),
    ('{"id": "t1", "title": null}', "no title"),
    ('{"id": "t2", "title": ["a"]}', "'title' must be a string"),
    ('{"id": "t3", "title": 5}', "'title' must be a string"),
    ('{"id": "t4", "title": {"a": 1}}', "'title' must be a string"),
    ('{"id": "t5", "title": "x", "body": ["a"]}', "'body' must be a string"),
    ('{"id": "t6", "title": "x", "body": NaN}', "NaN is not allowed"),
    ('{"id": "t7", "title": "x", "body": Infinity}', "Infinity is not allowed"),
    ('{"id": "t8", "title": "x", "title": "y"}', "duplicate key 'title'"),
    ('{"id": "t9", "title": "x", "unknown": 1}', {"title": "x"}),
    ('{"id": "p1", "title": "x", "published": null}', {"published": None}),
    ('{"id": "p2", "title": "x", "published": ""}', {"published": None}),
    ('{"id": "p3", "title": "x", "published": "2020-13-45"}', "month must be in 1..12"),
    ('{"id": "p4", "title": "x", "published": "2020-01-01T10:00+07:00"}', {"published": "10:00"}),
    ('{"id": "p5", "title": "x", "published": "2020-01-01T03:00:00Z"}', {"published": "10:00"}),
    ('{"id": "p6", "title": "x", "published": "2020-01-01T10:00:00"}', {"published": "10:00"}),
    ('{"id": "p7", "title": "x", "published": 1577847600}', "'published' must be a string"),
    ('{"id": "p8", "title": "x", "published": "0001-01-01"}', "implausible year"),
    ('{"id": "p9", "title": "x", "published": "9999-12-31"}', "implausible year"),
    ('{"id": "u1", "title": "x", "url": "javascript:alert(1)"}', {"url": None}),
    ('{"id": "u2", "title": "x", "url": "data:text/html,x"}', {"url": None}),
    ('{"id": "u3", "title": "x", "url": "/relative/path"}', {"url": None}),
    ('{"id": "h1", "title": "<script>x()</script>Tin &amp;amp; tức"}', {"title": "Tin &amp; tức"}),
    (
        '{"id": "z1", "title": "An\\u200bninh x\\u202eã hội 😀"}',
        {"title": "An\u200bninh xã hội 😀"},
    ),
    ('{"id": "o1", "title": "ở ý à"}', {"title": "ở ý à"}),
]


@pytest.mark.parametrize(("line", "expected"), BAD_RECORDS)
def test_each_bad_record_from_the_notes(line: str, expected: str | dict[str, Any]) -> None:
    import io

    from indexer.readers.jsonl import read_jsonl
    from indexer.validate import RecordError, check_record

    (raw,) = list(read_jsonl("notes.jsonl", io.BytesIO(line.encode("utf-8"))))
    if isinstance(expected, str):
        with pytest.raises(RecordError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            check_record(raw)
        return
    article = check_record(raw).article
    for name, value in expected.items():
        got = getattr(article, name)
        if name == "published" and value is not None:
            assert got is not None and got.astimezone(VIETNAM).strftime("%H:%M") == value
        else:
            assert got == value


@pytest.mark.parametrize(("setting", "raised_by"), [(None, 10), ("3", 3), ("0", 0)])
def test_imports_yield_the_cpu_to_searches(setting: str | None, raised_by: int) -> None:
    """`vnsearch index` and `optimize` lower their own priority by `index_nice` (in a child
    process: niceness cannot be lowered back)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "VNSEARCH_INDEX_NICE"}
    if setting is not None:
        env["VNSEARCH_INDEX_NICE"] = setting
    script = (
        "import os; from cli.import_steps import yield_cpu_to_searches\n"
        "from search.settings import resolve_settings\n"
        "before = os.nice(0); yield_cpu_to_searches(resolve_settings().index_nice)\n"
        "print(os.nice(0) - before)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    assert int(out.stdout) == min(raised_by, 19 - os.nice(0))  # niceness tops out at 19


@pytest.mark.parametrize(("merged_at_end", "expected_segments"), [(True, 20), (False, None)])
def test_an_import_merged_at_the_end_leaves_its_batches_as_written(
    tmp_path: Path, merged_at_end: bool, expected_segments: int | None
) -> None:
    """An import that will end merged into one segment merges nothing before: otherwise each
    article is rewritten once per size tier, then once more. Other imports merge by tier."""
    source = jsonl(tmp_path / "a.jsonl", [article(n) for n in range(40)])
    index_dir = str(tmp_path / "index")
    builder = IndexBuilder(
        index_dir, batch_size=2, report=lambda _: None, merged_at_end=merged_at_end
    )
    assert builder.add_records(read_paths([str(source)])).added == 40
    segments = len(open_index(index_dir)._segments())
    if expected_segments is None:
        assert segments < 2 * MERGE_FACTOR  # 20 commits, merged by tier on the way
    else:
        assert segments == expected_segments
