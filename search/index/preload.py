"""Asking the operating system to read a served index into its page cache.

A search reads posting blocks, decoded postings and stored articles at random places of the
index files. Straight after a restart or a reboot none of them is in memory, and each such
read waits for the disk: on a full-text archive a query then reads tens of stored articles
from disk, several times slower than from memory (the rerank and the highlights read every
hit's text). Search engines preload their files for this reason. The server reads the live
segments and their sidecars once, in a thread, when they fit in the given share of the
memory available; else the smallest files first (sidecars and recent segments), as many as
fit. The pages stay the kernel's to evict (a machine that reclaims idle page cache, as some
virtual machines do, drops them again after a while): this spares the first queries the
disk.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from search.index.derived import ensure_sidecars, existing_sidecars
from search.index.durability import live_dir
from search.index.sidecar import DERIVED_DIR, segment_folder
from search.index.store import open_index

log = logging.getLogger(__name__)
CHUNK_BYTES = 4 << 20  # read at a time: large sequential reads, a small buffer


@dataclass(frozen=True)
class Preload:
    """What was asked for: the files, their bytes, and the bytes left out over budget."""

    files: list[str]
    size: int
    left_out: int


@dataclass(frozen=True)
class Readied:
    """What readying an index for serving did: the sidecars written, the files to read."""

    sidecars: list[str]
    preload: Preload


def ready_to_serve(index: Any, sidecar_min_docs: int, preload_percent: int) -> Readied:
    """What a server does to an index before it searches it, through one reader: write the
    missing sidecars of segments of `sidecar_min_docs` documents or more (none on a read-only
    copy: its searches decode instead), then choose the files to read ahead within
    `preload_percent` of the memory available. The caller reads them (`read_ahead`)."""
    with index.reader() as reader:
        try:
            written = ensure_sidecars(index.storage.folder, reader, sidecar_min_docs)
        except OSError as error:
            log.warning("%s: decoded postings not written: %s", index.storage.folder, error)
            written = []
        return Readied(written, plan_preload(reader, preload_percent))


def derive_if_served(build_dir: str, served_dir: str, min_docs: int) -> list[str]:
    """After an import, a merge or a rebuild: the missing sidecars of the segments of the
    index at `build_dir` holding `min_docs` documents or more, written when the index
    served from `served_dir` (the same index, or the one a rebuild replaces) has derived
    data. A server readied it: it maps new sidecars within a recheck period, and would
    otherwise decode the new segments until it restarts; a rebuild gets them before it is
    switched to. An index no server has readied gets them at its first server's start
    instead (a bulk build does not wait for them)."""
    served = os.path.realpath(live_dir(served_dir))
    if not os.path.isdir(os.path.join(served, DERIVED_DIR)):
        return []
    index = open_index(build_dir)
    with index.reader() as reader:
        return ensure_sidecars(index.storage.folder, reader, min_docs)


def memory_available() -> int | None:
    """Bytes of memory the kernel could give without swapping (Linux MemAvailable)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                name, _, value = line.partition(":")
                if name == "MemAvailable":
                    return int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def live_files(reader: Any) -> list[str]:
    """The files a reader of the index reads: its segments' files and their sidecars."""
    found: list[str] = []
    for leaf, _ in reader.leaf_readers():
        folder = segment_folder(leaf)
        if folder is None:
            continue
        segment = leaf.segment()
        prefix = segment.segment_id()  # "MAIN_<id>": the name of each of its files
        found += [
            os.path.join(folder, name) for name in os.listdir(folder) if name.startswith(prefix)
        ]
        found += existing_sidecars(folder, [segment])
    return found


def choose(sizes: Iterable[tuple[str, int]], budget: int) -> Preload:
    """The files to read ahead within the budget: all when they fit, else the smallest first
    (sidecars and recent segments: every query reads them), as many as fit."""
    chosen, total, left_out = [], 0, 0
    for path, size in sorted(sizes, key=lambda item: (item[1], item[0])):
        if total + size <= budget:
            chosen.append(path)
            total += size
        else:
            left_out += size
    return Preload(chosen, total, left_out)


def plan_preload(reader: Any, share_percent: int) -> Preload:
    """The reader's files to read ahead within `share_percent` of the memory available;
    none when the share is 0 or the memory available is unknown."""
    available = memory_available()
    if share_percent <= 0 or available is None:
        return Preload([], 0, 0)
    sizes = []
    for path in live_files(reader):
        try:
            sizes.append((path, os.path.getsize(path)))
        except OSError:
            continue  # merged away since: nothing to read
    return choose(sizes, available * share_percent // 100)


def read_ahead(files: Iterable[str]) -> None:
    """Read these files once, front to back, so that the kernel keeps their pages cached.
    Reading does what asking cannot: the kernel caps a read-ahead request (posix_fadvise
    WILLNEED) at its read-ahead window, a few megabytes of a file. Blocking: call it from a
    thread of its own (the reads release the interpreter lock)."""
    buffer = bytearray(CHUNK_BYTES)
    for path in files:
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # merged away since
        try:
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            while os.readv(descriptor, [buffer]) == CHUNK_BYTES:
                pass
        except OSError as error:
            log.warning("%s not read ahead: %s", path, error)
        finally:
            os.close(descriptor)
