"""Work shared with one forked process: it computes while this process does its own part.

Forking hands the child everything in memory (a writer's postings, say) without pickling;
only the child's result travels back, through a pipe. File positions are shared after a fork,
so each side opens the files it reads itself.

A daemonic process (a Dask worker, a multiprocessing pool's worker) may not start children:
there both parts run here, one after the other, with the same results.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

Mine = TypeVar("Mine")
Theirs = TypeVar("Theirs")


def may_fork() -> bool:
    """Whether this process may start helper processes (a daemonic one may not)."""
    return not multiprocessing.current_process().daemon


def fork_call(theirs: Callable[[], Theirs], mine: Callable[[], Mine]) -> tuple[Mine, Theirs]:
    """Run `theirs` in a forked child and `mine` here; both results, or the first failure.
    Where this process may not fork, `theirs` runs first, here: the child would have seen
    the memory as it was before `mine`."""
    if not may_fork():
        done = theirs()
        return mine(), done
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(theirs, sender), daemon=True)
    child.start()
    sender.close()
    try:
        own = mine()
        try:
            message = receiver.recv()
        except EOFError:
            child.join()
            message = ("error", f"it died (exit code {child.exitcode})")
    except BaseException:
        child.kill()
        raise
    finally:
        child.join()
        receiver.close()
    if message[0] == "error":
        raise RuntimeError(f"a forked helper failed: {message[1]}")
    return own, message[1]


def _child(work: Callable[[], Any], pipe: Any) -> None:
    try:
        result = work()
    except BaseException:
        pipe.send(("error", traceback.format_exc()))
    else:
        pipe.send(("result", result))
    finally:
        pipe.close()
