"""Records read and checked in a forked process, one batch ahead of the indexing.

Reading (gzip, JSON) and checking (validation, markup to text, the Whoosh document) are about
a sixth of an import's work, and the batch's indexing waited for them with one core idle.
Here, once the first batch is read, a child process reads and checks the next `chunk`
records while this one indexes, and hands them over in order, whole chunks at a time: a
chunk is pickled only once the child has it all, so the child works a chunk ahead and no
further (its `send` waits for the reader). An import of one batch forks nothing: it could
not overlap anything, and would pay for the pickling.

Where this process may not fork (a daemonic Dask worker), the records are checked here, as
they are read.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import Any, TypeVar

from search.index.forked_call import may_fork

Raw = TypeVar("Raw")
Checked = TypeVar("Checked")


_END: Any = object()  # the end of the records


def checked_ahead(
    records: Iterable[Raw], check: Callable[[Raw], Checked], chunk: int
) -> Iterator[Checked]:
    """`check(record)` for every record, in order. The first `chunk` records are checked
    here (the first batch cannot be indexed before it is whole, and an import of one batch
    then forks nothing); when more follow, a child forked then checks them, a chunk ahead.
    `records` must not be iterated by anyone else: past the first chunk the child reads it."""
    pending = iter(records)
    if not may_fork():
        yield from map(check, pending)
        return
    for _ in range(max(1, chunk) - 1):
        record = next(pending, _END)
        if record is _END:
            return
        yield check(record)
    last, following = next(pending, _END), next(pending, _END)
    if last is _END:
        return
    if following is _END:
        yield check(last)
        return
    yield from _from_child(chain([following], pending), check, max(1, chunk), check(last))


def _from_child(
    records: Iterator[Any], check: Callable[[Any], Any], chunk: int, last: Any
) -> Iterator[Any]:
    """`last` (checked here), then the child's checked records: the child reads on while the
    caller indexes the batch `last` completes."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_check_all, args=(records, check, chunk, sender), daemon=True)
    child.start()
    sender.close()
    try:
        yield last
        while True:
            try:
                kind, payload = receiver.recv()
            except EOFError:
                child.join()
                raise RuntimeError(
                    f"the reading process died (exit code {child.exitcode})"
                ) from None
            if kind == "error":
                raise RuntimeError(f"reading the records failed: {payload}")
            if kind == "done":
                return
            yield from payload
    finally:
        if child.is_alive():
            child.kill()  # a failure here, or the caller stopped early
        child.join()
        receiver.close()


def _check_all(records: Iterable[Any], check: Callable[[Any], Any], chunk: int, pipe: Any) -> None:
    """In the child: the checked records, `chunk` at a time, then "done"."""
    try:
        done: list[Any] = []
        for record in records:
            done.append(check(record))
            if len(done) >= chunk:
                pipe.send(("chunk", done))
                done = []
        if done:
            pipe.send(("chunk", done))
        pipe.send(("done", None))
    except BaseException:
        pipe.send(("error", traceback.format_exc()))
    finally:
        pipe.close()
