"""Term infos with inlined postings and posting lists made together for many terms
(search/index/inlined_postings.py, block_postings.py) are the bytes TermWriter.info makes one
term at a time, and a field's postings as arrays are the postings its writer lists term by
term."""

from __future__ import annotations

import io
import random
from typing import Any

import numpy as np
import pytest
from whoosh.filedb.structfile import StructFile
from whoosh.system import pack_uint

from search.index.block_postings import fits, posting_lists
from search.index.bulk_fields import DOCNUMS, FREQUENCIES, TRIPLES, DictPostings
from search.index.compact_pickle import positions_value
from search.index.inlined_postings import inlined_infos
from search.index.posting_rows import TERMINFO, PostingArrays, whole
from search.index.w3_codec import COMPRESS_MIN, COMPRESSION, TermWriter

LENGTHS = bytes([0, 1, 7, 255, 0, 3] * 20_000)  # length bytes by document number, zeros too
LONG_VALUE = positions_value(list(range(300)))  # more than 255 bytes: BINBYTES
# Each term: (document numbers, frequencies); values per kind below.
TERMS = {
    "one posting": [([5], [1])],
    "every count to the limit": [(list(range(n)), [1] * n) for n in range(1, 9)],
    "numbers at each pickle size": [
        ([0, 255, 256, 65_535, 65_536, 100_000], [1, 2, 255, 256, 65_536, 3])
    ],
    "empty fields only": [([0, 4, 6], [1, 1, 2])],
    "first and last": [([1, 119_999], [4, 1]), ([2], [7])],
}  # fmt: skip
KINDS = ["frequency", "positions", "none", "long positions"]
FIXED_SIZES = {"frequency": 4, "positions": None, "none": 0, "long positions": None}
# Terms past the inline limit: (document numbers, frequencies)
LONG_TERMS = {
    "all weights 1": [(list(range(0, 900, 3)), [1] * 300)],
    "all weights equal": [(list(range(40)), [2] * 40)],
    "weights differ": [(list(range(9)), [1, 2, 3, 1, 1, 70_000, 1, 1, 300])],
    "blocks of each size": [(list(range(n)), [1 + n % 3] * n) for n in (9, 511, 512, 513, 1100)],
    "big numbers": [([0, 255, 256, 65_535, 65_536, 100_000, 110_000, 119_000, 119_998], [1] * 9)],
}  # fmt: skip


def _value(kind: str, freq: int) -> bytes:
    if kind == "frequency":
        return pack_uint(freq)
    if kind == "none":
        return b""
    if kind == "long positions":
        return LONG_VALUE
    return positions_value([46] * min(freq, 300))  # a last delta of 46 adds a stop byte


def _arrays(terms: list[tuple[list[int], list[int]]], kind: str) -> PostingArrays:
    docnums = [d for ids, _ in terms for d in ids]
    freqs = [f for _, fs in terms for f in fs]
    values = [_value(kind, f) for f in freqs]
    sizes = np.array([len(v) for v in values], dtype=np.int64)
    ends = np.cumsum(sizes)
    bounds = np.cumsum([0] + [len(ids) for ids, _ in terms])
    data = np.frombuffer(b"".join(values), dtype=np.uint8)
    return PostingArrays(np.array(docnums), np.array(freqs), data, ends - sizes, ends, bounds)


def _values(arrays: PostingArrays, start: int, end: int) -> list[bytes]:
    spans = zip(arrays.value_starts[start:end], arrays.value_ends[start:end], strict=True)
    return [arrays.value_data[a:b].tobytes() for a, b in spans]


def _one_at_a_time(
    arrays: PostingArrays, term: int, kind: str = "positions", block_limit: int = 512
) -> tuple[bytes, bytes]:
    """TermWriter.info of the term, and the posting list it wrote."""
    start, end = arrays.bounds[term], arrays.bounds[term + 1]
    postfile = StructFile(io.BytesIO())
    writer = TermWriter(postfile, LENGTHS, FIXED_SIZES[kind], block_limit=block_limit)
    weights = [float(w) for w in arrays.weights[start:end]]
    info = writer.info(arrays.docnums[start:end].tolist(), weights, _values(arrays, start, end))
    return info, postfile.file.getvalue()


def _lists_one_at_a_time(
    arrays: PostingArrays, terms: Any, kind: str, block_limit: int
) -> tuple[list[bytes], list[bytes]]:
    written = [_one_at_a_time(arrays, t, kind, block_limit) for t in terms]
    return [data for _, data in written], [info[: TERMINFO.itemsize] for info, _ in written]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", list(TERMS))
def test_infos_made_together_equal_one_at_a_time(case: str, kind: str) -> None:
    arrays = _arrays(TERMS[case], kind)
    every = np.arange(len(arrays.bounds) - 1)
    made = inlined_infos(arrays, every, np.frombuffer(LENGTHS, np.uint8))
    assert made == [_one_at_a_time(arrays, t)[0] for t in every]


def test_infos_of_some_terms_generated() -> None:
    rng = random.Random(7)
    for _ in range(50):
        terms = []
        for _ in range(rng.randint(1, 30)):
            ids = sorted(rng.sample(range(len(LENGTHS)), rng.randint(1, 8)))
            terms.append((ids, [rng.choice([1, 1, 2, 46, 300, 70_000]) for _ in ids]))
        arrays = _arrays(terms, rng.choice(KINDS))
        chosen = np.array(sorted(rng.sample(range(len(terms)), rng.randint(1, len(terms)))))
        made = inlined_infos(arrays, chosen, np.frombuffer(LENGTHS, np.uint8))
        assert made == [_one_at_a_time(arrays, t)[0] for t in chosen]


def _posting_lists(
    arrays: PostingArrays, terms: Any, kind: str, block_limit: int
) -> tuple[list[bytes], list[bytes]]:
    lengths = np.frombuffer(LENGTHS, np.uint8)
    return posting_lists(
        arrays, terms, lengths, FIXED_SIZES[kind], block_limit, COMPRESS_MIN, COMPRESSION
    )


@pytest.mark.parametrize("block_limit", [512, 16])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", list(LONG_TERMS))
def test_posting_lists_made_together_equal_one_at_a_time(
    case: str, kind: str, block_limit: int
) -> None:
    arrays = _arrays(LONG_TERMS[case], kind)
    every = np.arange(len(arrays.bounds) - 1)
    made = _posting_lists(arrays, every, kind, block_limit)
    assert made == _lists_one_at_a_time(arrays, every, kind, block_limit)


def test_posting_lists_of_some_terms_generated() -> None:
    rng = random.Random(11)
    for _ in range(30):
        terms = []
        for _ in range(rng.randint(1, 8)):
            ids = sorted(rng.sample(range(len(LENGTHS)), rng.choice([9, 100, 600, 1500])))
            weights = rng.choice([[1], [3], [1, 1, 2, 300, 70_000]])
            terms.append((ids, [rng.choice(weights) for _ in ids]))
        kind, block_limit = rng.choice(KINDS), rng.choice([512, 128, 16])
        arrays = _arrays(terms, kind)
        chosen = np.array(sorted(rng.sample(range(len(terms)), rng.randint(1, len(terms)))))
        made = _posting_lists(arrays, chosen, kind, block_limit)
        assert made == _lists_one_at_a_time(arrays, chosen, kind, block_limit)


# (layout, boost, a term's kept postings as the writer keeps them while adding)
DICT_CASES = [
    (FREQUENCIES, 1.0, {"a": [3], "b": [1, -2, 4, 9, -300], "c": [0, 1, 2]}),
    (DOCNUMS, 1.0, {"x": [2, 5], "y": [7]}),
    (TRIPLES, 1.0, {"p": [1, 2.0, b"\x00\x00\x00\x02", 4, 1.0, b"v"], "q": [0, 3.0, b""]}),
]


@pytest.mark.parametrize(("layout", "boost", "postings"), DICT_CASES)
def test_kept_postings_as_arrays(layout: str, boost: float, postings: dict[str, Any]) -> None:
    kept = DictPostings(postings, layout, boost)
    arrays = kept.arrays()
    assert arrays is not None
    for term in range(len(kept.keys)):
        ids, weights, values = kept.postings(term)
        start, end = arrays.bounds[term], arrays.bounds[term + 1]
        assert arrays.docnums[start:end].tolist() == ids
        assert arrays.weights[start:end].tolist() == weights
        assert _values(arrays, start, end) == values


@pytest.mark.parametrize(
    ("weights", "expected"),
    [([1, 2], [1, 2]), ([1.0, 3.0], [1, 3]), ([1.5, 2.0], None), ([], [])],
)
def test_whole_weights(weights: list[float], expected: list[int] | None) -> None:
    made = whole(np.array(weights))
    assert (made if made is None else made.tolist()) == expected


def test_a_boosted_field_is_written_one_term_at_a_time() -> None:
    assert DictPostings({"a": [1, -3]}, FREQUENCIES, 1.5).arrays() is None


@pytest.mark.parametrize(
    ("fixedsize", "values", "expected"),
    [
        (None, [b"\x01", b"\x02"], True),
        (None, [b"\x01", b""], False),  # TermWriter would drop the empty one from its tuple
        (-1, [b""], False),
        (0, [b"", b""], True),  # no values
        (4, [b"\x00\x00\x00\x01"], True),  # joined
    ],
)
def test_which_postings_posting_lists_writes(
    fixedsize: int | None, values: list[bytes], expected: bool
) -> None:
    sizes = np.array([len(v) for v in values], dtype=np.int64)
    ends = np.cumsum(sizes)
    data = np.frombuffer(b"".join(values), dtype=np.uint8)
    docnums = np.arange(len(values))
    arrays = PostingArrays(docnums, docnums + 1, data, ends - sizes, ends, np.array([0, 1]))
    assert fits(arrays, fixedsize) is expected
