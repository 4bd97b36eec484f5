"""Sets of document numbers as compressed bitmaps (pyroaring), and their way to and from arrays.

A match set at archive scale holds up to every document: as a Python frozenset that is ~50
bytes a member and a Python loop for every union or intersection; as a roaring bitmap it is a
few bits a member and C loops over 64k-document containers. Every set of documents the query
side computes (matches, filters, candidates, holders) is a `DocSet`.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
from pyroaring import BitMap, FrozenBitMap

DocSet = FrozenBitMap
EMPTY: DocSet = FrozenBitMap()


def docset(docs: Any) -> DocSet:
    """The set of the document numbers: an array (numpy, any integer type), or any iterable."""
    if isinstance(docs, np.ndarray):
        return FrozenBitMap(array("I", docs.astype(np.uint32, copy=False).tobytes()))
    return FrozenBitMap(docs)


def doc_array(docs: Iterable[int]) -> npt.NDArray[np.int64]:
    """The document numbers as a sorted array (a bitmap's are sorted already)."""
    if isinstance(docs, (FrozenBitMap, BitMap)):
        return np.frombuffer(docs.to_array(), dtype=np.uint32).astype(np.int64)
    return np.unique(np.fromiter(docs, dtype=np.int64))


def union(sets: Iterable[DocSet]) -> DocSet:
    """The documents in any of the sets (one pass over all of them)."""
    every = list(sets)
    if len(every) == 1:  # immutable: the set itself, not a copy of a common word's
        return every[0]
    return FrozenBitMap.union(*every) if every else EMPTY


def intersection(sets: Iterable[DocSet]) -> DocSet:
    """The documents in every one of the sets, the smallest first (empty for no set)."""
    every = sorted(sets, key=len)
    if len(every) == 1:  # immutable: the set itself, not a copy of a common word's
        return every[0]
    return FrozenBitMap.intersection(*every) if every else EMPTY


def all_but_one(sets: list[DocSet]) -> DocSet:
    """The documents in every set but at most one: the union, over each set, of the documents
    in all the others (from prefix and suffix intersections)."""
    if len(sets) < 3:  # "all but one" of two is either, of one is anything
        return union(sets) if len(sets) == 2 else EMPTY
    prefix = [sets[0]]
    for docs in sets[1:]:
        prefix.append(prefix[-1] & docs)
    suffix = [sets[-1]]
    for docs in reversed(sets[:-1]):
        suffix.append(suffix[-1] & docs)
    suffix.reverse()
    found = BitMap(suffix[1]) | prefix[-2]
    for i in range(1, len(sets) - 1):
        found |= prefix[i - 1] & suffix[i + 1]
    return FrozenBitMap(found)
