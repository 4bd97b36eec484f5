"""Records read and checked in a forked process, one batch ahead of the indexing.

Reading (gzip, JSON) and checking (validation, markup to text, the Whoosh document) are about
a sixth of an import's work, and the batch's indexing waited for them with one core idle.
Here a child process reads and checks the next `chunk` records while this one indexes, and
hands them over in order, whole chunks at a time: a chunk is pickled only once the child has
it all, so the child works a chunk ahead and no further (its `send` waits for the reader).

Where this process may not fork (a daemonic Dask worker), the records are checked here, as
they are read.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from search.index.forked_call import may_fork

Raw = TypeVar("Raw")
Checked = TypeVar("Checked")


def checked_ahead(
    records: Iterable[Raw], check: Callable[[Raw], Checked], chunk: int
) -> Iterator[Checked]:
    """`check(record)` for every record, in order; computed in a forked child a chunk ahead.
    `records` must not have been iterated yet: the child reads them, this process never."""
    if not may_fork():
        yield from map(check, records)
        return
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_check_all, args=(records, check, max(1, chunk), sender), daemon=True
    )
    child.start()
    sender.close()
    try:
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
