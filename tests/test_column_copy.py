"""A merged segment's columns appended in one piece (search/index/column_copy.py) are written
as Whoosh writes them value by value."""

from __future__ import annotations

from typing import Any

import pytest
from whoosh.columns import VarBytesColumn
from whoosh.filedb.filestore import RamStorage

from search.index import column_copy
from search.index.column_copy import copy_var_bytes

LONG = b"x" * 300  # a length past one byte: the lengths array widens
# (name, the writer's values before, the segment's values, its docmap)
CASES = [
    ("plain", [], [b"a", b"bc", b"d"], None),
    ("after others", [b"q", b"", b"rs"], [b"a", b"bc"], None),
    ("empty values inside and at the end", [b"q"], [b"", b"a", b"", b""], None),
    ("no values at all", [b"q"], [b"", b""], None),
    ("a long value", [b"q"], [b"a", LONG, b"b"], None),
    ("deletions", [b"q"], [b"", b"bc", b"d", LONG], [1, -1, 2, 3]),
]


def _column_bytes(
    values_before: list[bytes], segment: list[bytes], docmap: Any, bulk: bool
) -> bytes:
    storage = RamStorage()
    source = storage.create_file("source")
    writer = VarBytesColumn().writer(source)
    for docnum, value in enumerate(segment):
        writer.add(docnum, value)
    writer.finish(len(segment))
    length = source.tell()
    source.close()
    reader = VarBytesColumn().reader(storage.open_file("source"), 0, length, len(segment))

    target = storage.create_file("target")
    out = VarBytesColumn().writer(target)
    for docnum, value in enumerate(values_before):
        out.add(docnum, value)
    base = len(values_before)
    docmap = None if docmap is None else [base + d if d >= 0 else -1 for d in docmap]
    if bulk:
        copy_var_bytes(out, reader, base, docmap)
    else:  # as Whoosh's merge copies a column
        for new, value in column_copy.kept_values(reader, base, docmap):
            out.add(new, value)
    kept = len(segment) if docmap is None else sum(d >= 0 for d in docmap)
    out.finish(base + kept + 2)  # two more documents without a value
    size = target.tell()
    target.close()
    return storage.open_file("target").read(size)


@pytest.mark.parametrize(("name", "before", "segment", "docmap"), CASES)
def test_a_column_appended_whole_is_written_as_value_by_value(
    name: str, before: list[bytes], segment: list[bytes], docmap: Any
) -> None:
    assert _column_bytes(before, segment, docmap, bulk=True) == _column_bytes(
        before, segment, docmap, bulk=False
    )


def test_data_is_copied_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(column_copy, "COPY_PIECE", 7)
    segment = [b"abc", LONG, b"", b"defgh"]
    assert _column_bytes([b"q"], segment, None, bulk=True) == _column_bytes(
        [b"q"], segment, None, bulk=False
    )
