"""Crashes, concurrent writers and damaged files, with real processes and a real index."""

from __future__ import annotations

import errno
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from search.index.store import open_index

VNSEARCH = [sys.executable, "-m", "cli"]


def make_articles(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            record = {
                "id": f"k{n}",
                "url": f"https://bao.example.vn/tin-{n}.html",
                "title": f"Tin số {n}: mưa lớn ở Đà Nẵng và Hà Nội",
                "summary": f"Bản tin thứ {n} về thời tiết, giao thông và đời sống.",
                "body": "Nội dung dài. " * 20,
                "published": f"2020-0{1 + n % 9}-1{n % 10}T08:00:00+07:00",
                "source": "Báo Thử",
                "category": ["Thời sự", "Xã hội", "Kinh tế"][n % 3],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def vnsearch(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*VNSEARCH, *args], capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def documents(index_dir: Path) -> int:
    return json.loads(vnsearch("stats", "--json", "--index-dir", str(index_dir)).stdout)[
        "documents"
    ]


@pytest.mark.serial
@pytest.mark.parametrize("procs", ["1", "2"])
def test_kill_9_during_indexing_then_rerun_reaches_the_exact_count(
    tmp_path: Path, procs: str
) -> None:
    source = make_articles(tmp_path / "many.jsonl", 3000)
    index_dir = tmp_path / "ix"
    env = {**os.environ, "VNSEARCH_INDEX_PROCS": procs}
    args = [*VNSEARCH, "index", "-q", "--batch-size", "1000", "--index-dir", str(index_dir)]
    child = subprocess.Popen([*args, str(source)], env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        if (index_dir / "_MAIN_2.toc").exists():  # the first batch has committed
            break
        time.sleep(0.05)
    time.sleep(0.3)  # into the next batch
    child.send_signal(signal.SIGKILL)
    child.wait()
    survived = documents(index_dir)  # opens, and is not locked
    assert survived % 1000 == 0 and survived <= 3000
    check = vnsearch("check", "--index-dir", str(index_dir), check=False)
    assert check.returncode == 0, check.stderr
    rerun = subprocess.run(
        [*args, str(source)], env=env, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    assert documents(index_dir) == 3000


def test_a_second_indexer_waits_for_the_lock(tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    vnsearch("index", "-q", "--index-dir", str(index_dir), str(make_articles(tmp_path / "a", 5)))
    index = open_index(index_dir)
    holder = index.writer()  # another indexer, mid-write
    try:
        env = {**os.environ, "VNSEARCH_WRITER_TIMEOUT": "1"}
        more = make_articles(tmp_path / "b.jsonl", 8)
        blocked = subprocess.run(
            [*VNSEARCH, "index", "-q", "--index-dir", str(index_dir), str(more)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.cancel()
    assert blocked.returncode != 0
    assert "another indexer is writing" in blocked.stderr
    assert "Traceback" not in blocked.stderr
    assert "stayed locked" in blocked.stderr
    assert documents(index_dir) == 5


def test_check_finds_a_flipped_byte_and_a_missing_file(tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    vnsearch("index", "-q", "--index-dir", str(index_dir), str(make_articles(tmp_path / "a", 50)))
    assert vnsearch("check", "--index-dir", str(index_dir)).returncode == 0
    segment = next(index_dir.glob("*.seg"))
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))
    damaged = vnsearch("check", "--index-dir", str(index_dir), check=False)
    assert damaged.returncode == 1
    assert f"{segment.name}: checksum mismatch" in damaged.stderr
    segment.unlink()
    gone = vnsearch("check", "--index-dir", str(index_dir), check=False)
    assert gone.returncode == 1 and "Traceback" not in gone.stderr


def test_rebuild_switches_atomically_and_keeps_readers_working(tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    vnsearch("index", "-q", "--index-dir", str(index_dir), str(make_articles(tmp_path / "a", 30)))
    old = open_index(index_dir)
    with old.searcher() as before:
        vnsearch(
            "index",
            "-q",
            "--rebuild",
            "--index-dir",
            str(index_dir),
            str(make_articles(tmp_path / "b", 12)),
        )
        assert before.doc_count() == 30  # an open reader keeps its files
    assert documents(index_dir) == 12
    assert (index_dir / "current").is_symlink()
    assert not list(index_dir.glob("*.seg"))  # the pre-rebuild files are gone
    assert vnsearch("check", "--index-dir", str(index_dir)).returncode == 0


def test_optimize_merges_segments_and_keeps_every_article(tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    source = make_articles(tmp_path / "a.jsonl", 40)
    vnsearch(
        "index",
        "-q",
        "--no-optimize",
        "--batch-size",
        "10",
        "--index-dir",
        str(index_dir),
        str(source),
    )
    assert len(list(index_dir.glob("*.seg"))) > 1
    result = vnsearch("optimize", "--index-dir", str(index_dir))
    assert "merged into one" in result.stderr
    assert len(list(index_dir.glob("*.seg"))) == 1
    assert documents(index_dir) == 40
    assert vnsearch("check", "--index-dir", str(index_dir)).returncode == 0


def test_an_import_that_doubles_the_index_ends_merged_a_small_one_does_not(
    tmp_path: Path,
) -> None:
    index_dir = tmp_path / "ix"
    first = make_articles(tmp_path / "a.jsonl", 40)
    result = vnsearch(
        "index", "-q", "--batch-size", "10", "--index-dir", str(index_dir), str(first)
    )
    assert "merged into one" in result.stderr  # a first build: 4 commits, then one segment
    assert len(list(index_dir.glob("*.seg"))) == 1
    more = make_articles(tmp_path / "b.jsonl", 45)  # ids 0-39 again (updates) and 5 new ones
    result = vnsearch("index", "-q", "--index-dir", str(index_dir), str(more))
    assert "merged" not in result.stderr
    assert len(list(index_dir.glob("*.seg"))) == 2
    assert documents(index_dir) == 45
    assert vnsearch("check", "--index-dir", str(index_dir)).returncode == 0


def open_files(directory: Path) -> tuple[int, int]:
    """(descriptors this process has open on files in `directory`, those on deleted files)."""
    links = []
    for entry in os.scandir("/proc/self/fd"):
        try:
            links.append(os.readlink(entry.path))
        except OSError:
            continue  # closed meanwhile (the scandir's own descriptor)
    inside = [link for link in links if link.startswith(str(directory) + os.sep)]
    return len(inside), sum(1 for link in inside if link.endswith("(deleted)"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_open_files_stay_bounded_through_commits_and_optimize(tmp_path: Path) -> None:
    """whoosh-pitfalls I-13: a server whose searchers follow commits and an optimize made by
    the indexer must not pile up descriptors, nor keep merged-away segment files open."""
    from web import create_app

    index_dir = tmp_path / "ix"
    first = make_articles(tmp_path / "a.jsonl", 10)
    vnsearch("index", "-q", "--batch-size", "5", "--index-dir", str(index_dir), str(first))
    app = create_app({"INDEX_DIR": str(index_dir), "TESTING": True})
    client = app.test_client()
    assert client.get("/api/search?q=mưa").status_code == 200
    baseline, _ = open_files(index_dir)
    for round_ in range(6):
        batch = tmp_path / f"b{round_}.jsonl"
        lines = make_articles(batch, 3).read_text(encoding="utf-8").splitlines()
        batch.write_text(
            "\n".join(line.replace('"id": "k', f'"id": "r{round_}-') for line in lines),
            encoding="utf-8",
        )
        vnsearch("index", "-q", "--index-dir", str(index_dir), str(batch))
        for q in ("mưa", "da nang", "giao thông", ""):
            assert client.get("/api/search", query_string={"q": q}).status_code == 200
    vnsearch("optimize", "--index-dir", str(index_dir))
    result = client.get("/api/search?q=mua").get_json()
    assert result["total"] == 10 + 6 * 3
    files, deleted = open_files(index_dir)
    assert deleted == 0
    assert files <= baseline  # one searcher's segment files, fewer after the merge


def disk_full_at(fail_at: int) -> Any:
    """A FileStorage.create_file that raises ENOSPC at its Nth call (whoosh-pitfalls I-06)."""
    from whoosh.filedb.filestore import FileStorage

    original = FileStorage.create_file
    calls = itertools.count(1)

    def create_file(storage: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if next(calls) == fail_at:
            raise OSError(errno.ENOSPC, "No space left on device (test)", name)
        return original(storage, name, *args, **kwargs)

    return create_file


# Failing mid-commit, Whoosh's compound-file writer leaves its temporary file for the garbage
# collector to close (a ResourceWarning); the indexer process exits after such an error.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("fail_at", [1, 2, 3, 5, 8, 13])
def test_a_commit_that_fails_on_a_full_disk_leaves_the_last_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int
) -> None:
    """ENOSPC at the Nth file a commit creates (segment files, the table of contents):
    the error surfaces, the lock is released, the previous commit still reads in full, and
    the same import run again completes with the exact count."""
    from whoosh.filedb.filestore import FileStorage

    from indexer.build import IndexBuilder
    from indexer.readers import read_paths

    index_dir = tmp_path / "ix"
    first, second = make_articles(tmp_path / "a.jsonl", 20), tmp_path / "b.jsonl"
    lines = make_articles(second, 20).read_text(encoding="utf-8").splitlines()
    second.write_text("\n".join(x.replace('"id": "k', '"id": "b') for x in lines), "utf-8")
    IndexBuilder(str(index_dir), batch_size=100, report=lambda _: None).add_records(
        read_paths([str(first)])
    )
    monkeypatch.setattr(FileStorage, "create_file", disk_full_at(fail_at))
    with pytest.raises(OSError, match="No space left"):
        IndexBuilder(str(index_dir), batch_size=100, report=lambda _: None).add_records(
            read_paths([str(second)])
        )
    monkeypatch.undo()
    assert documents(index_dir) == 20  # the last good commit, readable
    assert vnsearch("check", "--index-dir", str(index_dir)).returncode == 0
    vnsearch("index", "-q", "--index-dir", str(index_dir), str(second))  # the lock is free
    assert documents(index_dir) == 40


def test_a_manifest_one_commit_behind_is_a_warning_not_damage(tmp_path: Path) -> None:
    """kill -9 between a commit and its manifest: the old table of contents the manifest
    lists is gone, replaced by the newer commit; `check` warns and passes."""
    from search.index.durability import MANIFEST, verify

    index_dir = tmp_path / "ix"
    first = make_articles(tmp_path / "a.jsonl", 10)
    vnsearch("index", "-q", "--index-dir", str(index_dir), str(first))
    behind = (index_dir / MANIFEST).read_text(encoding="utf-8")
    lines = first.read_text(encoding="utf-8").splitlines()
    second = tmp_path / "b.jsonl"
    second.write_text("\n".join(x.replace('"id": "k', '"id": "b') for x in lines), "utf-8")
    vnsearch("index", "-q", "--index-dir", str(index_dir), str(second))
    (index_dir / MANIFEST).write_text(behind, encoding="utf-8")  # as if killed before it
    generation = open_index(index_dir).latest_generation()
    problems, warnings = verify(str(index_dir), generation)
    assert problems == [] and "interrupted" in warnings[0]
    assert vnsearch("check", "--index-dir", str(index_dir)).returncode == 0
    (index_dir / f"_MAIN_{generation}.toc").unlink()  # the live table of contents: damage
    assert vnsearch("check", "--index-dir", str(index_dir), check=False).returncode != 0
