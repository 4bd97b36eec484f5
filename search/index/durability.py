"""What Whoosh does not give: a checksum manifest per commit, and atomic blue/green rebuilds.

Layout of an index directory:

    index_data/                 the directory users name (--index-dir)
      current -> build-<stamp>  after a rebuild: the live index, switched with one rename
      build-<stamp>/            an index; or the index files directly in index_data/

Every commit leaves MANIFEST.json beside the files: size and sha256 of each, so `vnsearch
check` can find a damaged file (Whoosh keeps no checksums: a flipped byte goes unnoticed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from typing import Any

CURRENT = "current"
BUILD_PREFIX = "build-"
MANIFEST = "MANIFEST.json"
_NOT_INDEX_FILES = (MANIFEST,)


def live_dir(index_dir: str | os.PathLike[str]) -> str:
    """The directory holding the live index: the `current` link's target, or the dir itself."""
    current = os.path.join(index_dir, CURRENT)
    if os.path.lexists(current):
        return os.path.realpath(current)
    return str(index_dir)


def new_build_dir(index_dir: str | os.PathLike[str]) -> str:
    """A fresh directory for a rebuild, beside the live one."""
    os.makedirs(index_dir, exist_ok=True)
    path = os.path.join(index_dir, f"{BUILD_PREFIX}{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    os.makedirs(path)
    return path


def switch_to(index_dir: str | os.PathLike[str], build_dir: str) -> None:
    """Make `build_dir` the live index in one atomic rename, then remove older builds.

    Readers that still hold files of the old index keep reading them (POSIX keeps unlinked
    files alive while open); new readers open the new one.
    """
    switch_link(index_dir, build_dir)
    remove_replaced_builds(index_dir, build_dir)


def switch_all(switches: list[tuple[str, str]]) -> None:
    """Switch several indexes (the shards of a sharded index) to their builds, as
    (index_dir, build_dir) pairs: every `current` link first, each in one rename, and only
    then the older builds removed, so that the renames follow each other closely instead of
    each waiting on the deletion of a whole index."""
    for index_dir, build_dir in switches:
        switch_link(index_dir, build_dir)
    for index_dir, build_dir in switches:
        remove_replaced_builds(index_dir, build_dir)


def switch_link(index_dir: str | os.PathLike[str], build_dir: str) -> None:
    """Point `index_dir`'s `current` link at `build_dir` in one atomic rename, durably."""
    link_tmp = os.path.join(index_dir, CURRENT + ".tmp")
    if os.path.lexists(link_tmp):
        os.remove(link_tmp)
    os.symlink(os.path.basename(build_dir), link_tmp)
    os.replace(link_tmp, os.path.join(index_dir, CURRENT))
    fsync_directory(str(index_dir))


def remove_replaced_builds(index_dir: str | os.PathLike[str], build_dir: str) -> None:
    """Remove every index in `index_dir` but the live `build_dir`: older builds, builds an
    interrupted rebuild left, and an index that lived directly in `index_dir`."""
    live = os.path.basename(os.path.normpath(build_dir))
    for name in os.listdir(index_dir):
        path = os.path.join(index_dir, name)
        if name.startswith(BUILD_PREFIX) and name != live and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.isfile(path) and _is_whoosh_file(name):
            os.remove(path)  # an index that lived directly in index_dir before the first rebuild


def _is_whoosh_file(name: str) -> bool:
    return name.startswith(("MAIN_", "_MAIN_")) or name == MANIFEST


def write_manifest(directory: str, generation: int) -> dict[str, Any]:
    """Record size and sha256 of every index file; unchanged files reuse their old digest."""
    previous = read_manifest(directory) or {}
    known = previous.get("files", {})
    files: dict[str, Any] = {}
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if not entry.is_file() or entry.name in _NOT_INDEX_FILES or "LOCK" in entry.name:
            continue
        stat = entry.stat()
        old = known.get(entry.name)
        if old and old["size"] == stat.st_size and old.get("mtime_ns") == stat.st_mtime_ns:
            files[entry.name] = old
        else:
            files[entry.name] = {
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
                "sha256": _sha256(entry.path),
            }
    manifest = {"generation": generation, "files": files}
    tmp = os.path.join(directory, MANIFEST + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(manifest, out, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, os.path.join(directory, MANIFEST))
    fsync_directory(directory)
    return manifest


def read_manifest(directory: str) -> dict[str, Any] | None:
    try:
        with open(os.path.join(directory, MANIFEST), encoding="utf-8") as source:
            data = json.load(source)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def verify(directory: str, generation: int) -> tuple[list[str], list[str]]:
    """Compare the files with the manifest: (problems, warnings)."""
    manifest = read_manifest(directory)
    if manifest is None:
        return [], [f"no {MANIFEST}: checksums cannot be verified"]
    warnings = []
    stale = manifest.get("generation") != generation
    if stale:
        warnings.append(
            f"{MANIFEST} describes commit {manifest.get('generation')}, the index is at "
            f"{generation} (a commit was interrupted before its manifest was written)"
        )
    problems = []
    for name, expected in manifest.get("files", {}).items():
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            if not stale:  # else the newer commit replaced it (an old table of contents)
                problems.append(f"{name}: missing")
        elif os.path.getsize(path) != expected["size"]:
            problems.append(f"{name}: size {os.path.getsize(path)}, expected {expected['size']}")
        elif _sha256(path) != expected["sha256"]:
            problems.append(f"{name}: checksum mismatch (the file is damaged)")
    return problems, warnings


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_directory(path: str | os.PathLike[str]) -> None:
    """Make a directory's entries (files created, renamed or removed in it) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
