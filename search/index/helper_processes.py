"""BulkWriter's forked helpers: each writes a share of a batch as a segment of its own.

Forking passes the documents without pickling them; a helper sends back only its segment's
description, which the writer commits with its own.
"""

from __future__ import annotations

import gc
import multiprocessing
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from search.index.forked_call import may_fork


@contextmanager
def no_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: the postings are millions of young lists, which
    the collector would scan over and over (10% of the indexing time) to find no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class DocumentFailed(Exception):
    """BulkWriter.add_documents: Whoosh refused docs[index]; the cause says why."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


class ForkedHelpers:
    """BulkWriter.add_documents and its helpers (a mixin: the attributes are BulkWriter's)."""

    if TYPE_CHECKING:
        _ix: Any
        _options: dict[str, Any]
        _helpers: list[tuple[Any, Any]]
        term_memo: Any

        def add_document(self, **fields: Any) -> None: ...

        def _finalize_segment(self) -> Any: ...

    def add_documents(
        self,
        docs: Sequence[dict[str, Any]],
        procs: int = 1,
        meanwhile: Callable[[], None] | None = None,
        meanwhile_docs: float = 0.0,
    ) -> None:
        """Add documents in order; with procs > 1, helpers forked from this process write
        all but the last share as segments of their own, committed with this writer's.
        `meanwhile` runs here once the helpers have started (the deletions of an upsert:
        they touch only the older segments; reading the next batch), and takes about as long
        as indexing `meanwhile_docs` documents here: this process's share is smaller by that.

        Forking passes the documents without pickling them; a helper sends back only its
        segment's description. A refused document raises DocumentFailed (here or at commit).
        """
        with no_gc():
            shares = _shares(len(docs), procs if may_fork() else 1, meanwhile_docs)
            context = multiprocessing.get_context("fork")
            for start, end in shares[:-1]:
                receiver, sender = context.Pipe(duplex=False)
                helper = context.Process(
                    target=self._helper, args=(docs, start, end, sender), daemon=True
                )
                helper.start()
                sender.close()
                self._helpers.append((helper, receiver))
            if meanwhile is not None:
                meanwhile()
            start, end = shares[-1]
            for number in range(start, end):
                try:
                    self.add_document(**docs[number])
                except Exception as error:
                    raise DocumentFailed(number) from error

    def _helper(self, docs: Sequence[dict[str, Any]], start: int, end: int, pipe: Any) -> None:
        """In a forked helper: write docs[start:end] as a new segment, send it back."""
        try:
            writer_class: Any = type(self)  # BulkWriter; no forks of its own in a helper
            writer = writer_class(self._ix, _lk=False, **{**self._options, "merge_procs": 1})
            writer.term_memo = self.term_memo  # what this process learnt, inherited
            for number in range(start, end):
                try:
                    writer.add_document(**docs[number])
                except Exception as error:
                    pipe.send(("document", number, f"{type(error).__name__}: {error}"))
                    return
            pipe.send(("segment", writer._finalize_segment()))
        except BaseException:
            pipe.send(("error", traceback.format_exc()))
        finally:
            pipe.close()

    def _helper_segments(self) -> list[Any]:
        """Wait for the helpers; their segments in document order."""
        segments = []
        try:
            for helper, pipe in self._helpers:
                try:
                    message = pipe.recv()
                except EOFError:
                    helper.join()
                    message = ("error", f"it died (exit code {helper.exitcode})")
                if message[0] == "document":
                    raise DocumentFailed(message[1]) from RuntimeError(message[2])
                if message[0] == "error":
                    raise RuntimeError(f"an indexing helper failed: {message[1]}")
                segments.append(message[1])
        except BaseException:
            self._stop_helpers(kill=True)
            raise
        self._stop_helpers(kill=False)
        return segments

    def _stop_helpers(self, kill: bool) -> None:
        for helper, pipe in self._helpers:
            if kill:
                helper.kill()
            helper.join()
            pipe.close()
        self._helpers = []


# A forked helper indexes a document more slowly than the writer's own process: the pages it
# writes to are first copied from its parent's. Its share is smaller by this factor, so that
# the helpers and the writer finish together (bench/README.md: how a build uses the cores).
HELPER_SLOWDOWN = 1.25


def _shares(count: int, procs: int, writer_busy: float = 0.0) -> list[tuple[int, int]]:
    """(start, end) of each process's share of count documents, in order: the helpers'
    first, the writer's own (the last) larger by HELPER_SLOWDOWN, less `writer_busy`
    documents' worth of other work it does meanwhile. Every share holds one document at
    least."""
    procs = max(1, min(procs, count))
    if procs == 1:
        return [(0, count)]
    balanced = int((count + writer_busy) / (procs - 1 + HELPER_SLOWDOWN))
    size = max(1, min(balanced, (count - 1) // (procs - 1)))  # count >= procs: none empty
    starts = [share * size for share in range(procs)] + [count]
    return list(zip(starts, starts[1:], strict=False))
