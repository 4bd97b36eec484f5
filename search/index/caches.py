"""A size-bounded LRU cache, shared by the per-generation and per-segment caches."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from whoosh.searching import Searcher


class SizedCache:
    """A thread-safe LRU map bounded by the total size of what it holds, not its entry count
    (one common syllable's posting list outweighs thousands of rare ones)."""

    def __init__(self, budget: int, size: Callable[[Any], int]) -> None:
        self.budget = budget
        self.size = size
        self.held = 0
        self._entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.held = 0

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            if key not in self._entries:
                self._entries[key] = value
                self.held += self._counted(value)
            while self.held > self.budget and len(self._entries) > 1:
                _, old = self._entries.popitem(last=False)
                self.held -= self._counted(old)

    def _counted(self, value: Any) -> int:
        # at least 1: empty sets (words no document holds) must not pile up uncounted
        return max(1, self.size(value))


def reader_key(searcher: Searcher) -> tuple[str, int]:
    """What identifies the documents a searcher sees: index folder and commit generation.

    The cache key of every per-generation cache: each server thread has its own searcher,
    and all of them must share one entry (keying on the reader object made them evict each
    other: 170-500 ms per browse instead of 19 ms).
    """
    reader = searcher.reader()
    index = getattr(searcher, "_ix", None)
    folder = getattr(getattr(index, "storage", None), "folder", None)
    if folder is None:  # a searcher made without its index: name the files themselves
        folder = "|".join(sorted(repr(leaf) for leaf, _ in reader.leaf_readers()))
    return str(folder), int(reader.generation())
