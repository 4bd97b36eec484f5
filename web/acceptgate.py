"""Which worker takes the next connection: an idle one, the one holding the fewest unused
connections, the first in slot order.

The workers share one listening socket. Left to the kernel, a lone client's consecutive
connections go to the workers in turn, and each worker fills its own caches of posting lists
and document sets (search.index.caches): both pay for the same cold terms, and a client
opening a new connection per request is slower than one keeping its connection alive.

So a worker listens, and accepts, only while it is the one to take the next connection:
idle workers before busy ones, then the one holding the fewest unused connections (opened,
nothing sent yet: a pool of kept-alive connections, a proxy's say, opened while the server
is idle is spread over the workers instead of landing on the first), then the first in slot
order (a lone client's connections all go to the same worker). Each worker publishes its
requests in progress and its unused connections in memory shared by all of them, and wakes
its siblings through their pipes whenever either changes, so that they ask again at once: a
slow query still occupies one worker, not the site.
"""

from __future__ import annotations

import mmap
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

WORKER_HEADER = "X-Vnsearch-Worker"  # which slot answered: load spreading, seen from outside
ABSENT = 255  # a slot with no worker (not started, stopping, dead): never chosen


class AcceptGate:
    """Shared by the workers of one server: made before the fork, `join`ed in each worker."""

    def __init__(self, workers: int) -> None:
        self._busy = mmap.mmap(-1, workers)  # anonymous and shared: forked workers see it
        self._busy.write(bytes([ABSENT]) * workers)  # no worker yet: none may be waited for
        self._connections = mmap.mmap(-1, workers)  # unused connections, capped at 255
        self._pipes = [os.pipe() for _ in range(workers)]
        for read_end, write_end in self._pipes:
            os.set_blocking(read_end, False)
            os.set_blocking(write_end, False)
        self.slot = -1
        self._lock = threading.RLock()
        self._unused: Callable[[], int] = lambda: 0

    @property
    def workers(self) -> int:
        return len(self._busy)

    def join(self, slot: int) -> int:
        """This process is worker `slot` (a replacement takes its predecessor's slot);
        returns the pipe end that wakes it."""
        self.slot = slot
        self._connections[slot] = 0
        self._busy[slot] = 0  # no longer ABSENT: the others may now leave connections to it
        self._wake_all_but(slot)  # one listening in its place must stop
        return self._pipes[slot][0]

    def vacate(self, slot: int) -> None:
        """Worker `slot` is gone or stopping: the others must not wait for it to be idle
        (a dead worker's count would stay 0, and the next idle one would never listen)."""
        self._busy[slot] = ABSENT
        self._wake_all_but(slot)

    def in_progress(self, slot: int) -> int:
        """Requests worker `slot` is serving now (254 and more: 254; ABSENT: no worker)."""
        return self._busy[slot]

    def may_accept(self) -> bool:
        """True when this worker is the one to take the next connection (module docstring)."""
        present = [slot for slot in range(self.workers) if self._busy[slot] != ABSENT]
        if not present:
            return True
        busy, held = self._busy, self._connections
        return min(present, key=lambda slot: (busy[slot] > 0, held[slot], slot)) == self.slot

    def watch(self, unused: Callable[[], int]) -> None:
        """`unused()` counts this worker's unused connections (opened, nothing sent yet)."""
        self._unused = unused

    def recount(self) -> None:
        """Publish this worker's unused connections. Counted and written under the lock: the
        loop's thread and a request's thread both recount, and a count made before the other
        one's must not be written after it."""
        with self._lock:
            count = min(self._unused(), 255)
            changed = self._connections[self.slot] != count
            self._connections[self.slot] = count
        if changed:
            self._wake_all_but(self.slot)

    def started(self) -> None:
        self._count(+1)

    def finished(self) -> None:
        self._count(-1)

    def _count(self, step: int) -> None:
        """Add `step` to this worker's requests in progress, and recount its unused
        connections (the request's own is used now). On turning busy or idle the siblings
        are woken to ask the gate again: the next idle one must start listening now, and one
        listening only because this worker was busy must stop."""
        with self._lock:
            before = self._busy[self.slot]
            if before == ABSENT:  # vacated (stopping): it stays out until a worker joins
                return
            after = min(max(before + step, 0), ABSENT - 1)
            self._busy[self.slot] = after
            self.recount()
        if (before == 0) != (after == 0):
            self._wake_all_but(self.slot)

    def _wake_all_but(self, me: int) -> None:
        for slot, (_, write_end) in enumerate(self._pipes):
            if slot != me:
                _poke(write_end)

    def counted(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        """The WSGI app, counting its requests in progress and naming the slot that answers."""

        def counted_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            def start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
                return start_response(status, [*headers, (WORKER_HEADER, str(self.slot))], *rest)

            self.started()
            try:
                return _Closing(app(environ, start), self.finished)
            except BaseException:
                self.finished()
                raise

        return counted_app


def _poke(write_end: int) -> None:
    try:
        os.write(write_end, b"!")
    except BlockingIOError:  # the pipe is full: that sibling has a wake-up pending anyway
        pass


class _Closing:
    """A response body that reports the end of its request just before its last chunk goes
    out, or when the server closes it, whichever comes first. Reported at close alone, a
    lone client's next connection would often arrive while this worker still counted the
    request (waitress sends each chunk as it is written, then closes), and go elsewhere."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self.body, self._done, self.reported = body, done, False

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self.body)
        held = next(chunks, None)
        while held is not None:
            following = next(chunks, None)
            if following is None:
                self.report()
            yield held
            held = following

    def report(self) -> None:
        if not self.reported:
            self.reported = True
            self._done()

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.report()
