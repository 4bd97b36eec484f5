"""A time budget for one search: collection stops at a deadline and keeps what it has.

Whoosh's TimeLimitCollector checks the clock in a loop that FilterCollector bypasses when it
wraps it, and its alarm mode relies on signals, which only the main thread receives. This
collector checks the clock in `matches()`, which every collector loop goes through.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from whoosh import collectors

CHECK_EVERY = 256  # documents between two looks at the clock


class DeadlineCollector(collectors.WrappingCollector):
    """Raise `collectors.TimeLimit` once `time.perf_counter()` passes `deadline`."""

    def __init__(self, child: Any, deadline: float) -> None:
        super().__init__(child)
        self.deadline = deadline
        self.timed_out = False

    def matches(self) -> Iterator[int]:
        for count, docnum in enumerate(self.child.matches()):
            if count % CHECK_EVERY == 0 and time.perf_counter() > self.deadline:
                self.timed_out = True
                raise collectors.TimeLimit
            yield docnum

    def collect_matches(self) -> None:
        for docnum in self.matches():
            self.collect(docnum)
