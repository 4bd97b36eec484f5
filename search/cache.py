"""A size-bounded LRU cache, shared by the per-generation and per-segment caches."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


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
