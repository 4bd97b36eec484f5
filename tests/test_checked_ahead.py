"""Records read and checked a batch ahead in a forked process (indexer.checked_ahead): the
same index, the same reports in the same order, and failures that say so."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from indexer.build import IndexBuilder
from indexer.checked_ahead import checked_ahead
from indexer.readers import read_paths
from search.index.store import open_index

GOOD = {"title": "Đà Nẵng khai trương cầu mới", "body": "Cầu mới bắc qua sông Hàn."}
LINES = [
    json.dumps({**GOOD, "id": "a1"}, ensure_ascii=False),
    "{not json",
    json.dumps({"id": "a2", "body": "không có tiêu đề"}, ensure_ascii=False),
    json.dumps({**GOOD, "id": "a3", "title": "Hòa bình <b>và</b> phát triển"}, ensure_ascii=False),
    json.dumps({**GOOD, "id": "a1", "title": "Đà Nẵng: bản cập nhật"}, ensure_ascii=False),
    json.dumps({**GOOD, "id": "a4", "published": "not a date"}, ensure_ascii=False),
] + [json.dumps({**GOOD, "id": f"n{i}", "title": f"Tin số {i}"}) for i in range(9)]


def _import(index_dir: Path, source: Path, procs: int) -> tuple[IndexBuilder, list[str]]:
    messages: list[str] = []
    builder = IndexBuilder(str(index_dir), batch_size=4, report=messages.append, procs=procs)
    builder.add_records(read_paths([str(source)]))
    return builder, messages


def test_reading_ahead_gives_the_same_index_reports_and_counts(
    tmp_path: Path, everything: Callable[[Any], dict[str, Any]]
) -> None:
    source = tmp_path / "mixed.jsonl"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    here, here_messages = _import(tmp_path / "here", source, procs=1)
    ahead, ahead_messages = _import(tmp_path / "ahead", source, procs=2)
    assert ahead_messages == here_messages
    assert [m.split(":")[1] for m in here_messages if "warning" not in m] == ["2", "3", "6"]
    assert vars(ahead.summary) == vars(here.summary)
    assert (here.summary.added, here.summary.rejected, here.summary.updated) == (11, 3, 1)
    contents = [everything(open_index(tmp_path / name)) for name in ("here", "ahead")]
    assert contents[0] == contents[1]


def _fails_on_three(number: int) -> int:
    if number == 3:
        raise ValueError("record 3 is broken")
    return number * 10


def _checked_list(numbers: list[int]) -> None:
    assert list(checked_ahead(numbers, _fails_on_three, 2)) == [n * 10 for n in numbers]


CASES = [
    ("every record, in order, in chunks", [0, 1, 2, 4, 5, 6, 7], 2),
    ("one chunk exactly: no child", [5, 1, 4], 3),
    ("one more than a chunk", [5, 1, 4, 6], 3),
    ("a chunk bigger than the records", [5, 1, 4], 100),
    ("no records", [], 2),
]


@pytest.mark.parametrize(("case", "numbers", "chunk"), CASES)
def test_the_checked_records_come_back_in_order(case: str, numbers: list[int], chunk: int) -> None:
    assert list(checked_ahead(numbers, _fails_on_three, chunk)) == [n * 10 for n in numbers], case


def _children() -> set[int | None]:
    """This process's live children (a Dask cluster of other tests' may be among them)."""
    return {child.pid for child in multiprocessing.active_children()}


def test_a_failure_in_the_reading_process_is_raised_with_its_cause() -> None:
    before = _children()
    seen = []
    with pytest.raises(RuntimeError, match="record 3 is broken"):
        for value in checked_ahead(range(10), _fails_on_three, 2):
            seen.append(value)
    assert seen == [0, 10]  # the whole chunks before the failing one
    assert _children() == before


def test_a_reader_stopped_early_leaves_no_process() -> None:
    def endless() -> Iterator[int]:
        number = 4
        while True:
            yield number
            number += 1

    before = _children()
    records = checked_ahead(endless(), _fails_on_three, 5)
    assert [next(records) for _ in range(4)] == [40, 50, 60, 70]  # the first chunk, here
    assert _children() == before
    assert next(records) == 80  # the fifth: the child reads on from the sixth
    assert len(_children() - before) == 1
    records.close()
    assert _children() == before


def test_in_a_daemonic_process_the_records_are_checked_there(
    in_daemon: Callable[..., str],
) -> None:
    assert in_daemon(_checked_list, [0, 1, 2, 4]) == ""
    assert "ValueError: record 3 is broken" in in_daemon(_checked_list, [1, 3])  # raised here
