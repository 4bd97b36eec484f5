"""Asking the operating system to read a served index into its page cache.

A search reads posting blocks, decoded postings and stored articles at random places of the
index files. Straight after a restart or a reboot none of them is in memory, and each such
read waits for the disk: on a full-text archive a query then reads tens of stored articles
from disk, several times slower than from memory (the rerank and the highlights read every
hit's text). Search engines preload their files for this reason. The server asks the kernel
to read the live segments and their sidecars ahead (posix_fadvise WILLNEED: the kernel
reads in the background, no process memory is used and nothing is copied), when they fit in
the given share of the memory available; else the sidecars and the smallest segments first,
as many as fit. Pages stay the kernel's to evict: this only spares the first queries the
disk.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from search.index.sidecar import SidecarKey, segment_folder, sidecar_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preload:
    """What was asked for: the files, their bytes, and the bytes left out over budget."""

    files: list[str]
    size: int
    left_out: int


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
        sidecar = sidecar_path(folder, SidecarKey.of(segment).segment_id)
        if os.path.exists(sidecar):
            found.append(sidecar)
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
    none when the share is 0 or the platform has no posix_fadvise."""
    available = memory_available()
    if share_percent <= 0 or available is None or not hasattr(os, "posix_fadvise"):
        return Preload([], 0, 0)
    sizes = []
    for path in live_files(reader):
        try:
            sizes.append((path, os.path.getsize(path)))
        except OSError:
            continue  # merged away since: nothing to read
    return choose(sizes, available * share_percent // 100)


def read_ahead(files: Iterable[str]) -> None:
    """Ask the kernel to read these files into its page cache. It may block while the reads
    are queued: call it from a thread of its own."""
    for path in files:
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # merged away since
        try:
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_WILLNEED)
        except OSError as error:
            log.warning("%s not read ahead: %s", path, error)
        finally:
            os.close(descriptor)
