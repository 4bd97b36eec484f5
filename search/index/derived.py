"""The derived files kept beside an index's segments: written when missing, listed, cleaned up.

Each big segment has two, under `derived/` in the index directory: its decoded posting lists
(search.index.sidecar) and its decoded positions (search.index.positions_sidecar). Both are
rebuilt from the segment whenever missing or stale, so a serve, a publish or an import only
has to call `ensure_sidecars`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from search.index.forked_call import fork_call
from search.index.positions_sidecar import open_positions, positions_path, write_positions
from search.index.sidecar import (
    DERIVED_DIR,
    MIN_SIDECAR_DOCS,
    POSITIONS_SUFFIX,
    POSTINGS_SUFFIX,
    TMP_MARK,
    SidecarKey,
    open_sidecar,
    sidecar_path,
    write_sidecar,
)
from search.index.store import open_index


def existing_sidecars(folder: str, segments: Iterable[Any], min_docs: int = 0) -> list[str]:
    """The paths of the derived files in `folder` of these segments (Whoosh's) holding at
    least `min_docs` documents, those that exist."""
    keys = [SidecarKey.of(segment) for segment in segments]
    paths = [
        path
        for key in keys
        if key.doc_count >= min_docs
        for path in (sidecar_path(folder, key.segment_id), positions_path(folder, key.segment_id))
    ]
    return [path for path in paths if os.path.exists(path)]


def ensure_sidecars(folder: str, reader: Any, min_docs: int = MIN_SIDECAR_DOCS) -> list[str]:
    """Write the derived files of each segment of the reader holding at least `min_docs`
    documents that lacks them (or has stale ones), and remove those of segments the reader
    no longer has and the temporary files of writers that died; returns the paths written."""
    leaves = [leaf for leaf, _ in reader.leaf_readers()]
    keys = {SidecarKey.of(leaf.segment()).segment_id for leaf in leaves}
    _remove_leftovers(folder, keys)
    written = []
    for leaf in leaves:
        key = SidecarKey.of(leaf.segment())
        if key.doc_count < min_docs:
            continue
        postings, positions = open_sidecar(folder, key) is None, open_positions(folder, key) is None
        if postings and positions:  # both at once, on two cores where there are two
            written.extend(_write_both(folder, leaf))
        elif postings:
            written.append(write_sidecar(folder, leaf))
        elif positions:
            written.append(write_positions(folder, leaf))
    return [path for path in written if path is not None]


def _write_both(folder: str, leaf: Any) -> list[str | None]:
    """The segment's postings file written here, its positions file by a forked process."""
    segment_id = leaf.segment().segment_id()
    postings, positions = fork_call(
        lambda: _positions_of(folder, segment_id), lambda: write_sidecar(folder, leaf)
    )
    return [postings, positions]


def _positions_of(folder: str, segment_id: str) -> str | None:
    """write_positions for the segment, through an index opened here: a forked process
    shares its parent's open files and their read offsets, so it reads through its own."""
    with open_index(folder).reader() as reader:
        for leaf, _ in reader.leaf_readers():
            if leaf.segment().segment_id() == segment_id:
                return write_positions(folder, leaf)
    return None  # merged away meanwhile: nothing to derive


def _remove_leftovers(folder: str, live_segments: set[str]) -> None:
    """Derived files of merged-away segments (a reader that maps one keeps it alive) and
    temporary files whose writing process is gone."""
    derived = os.path.join(folder, DERIVED_DIR)
    if not os.path.isdir(derived):
        return
    for name in os.listdir(derived):
        stem, _, pid = name.partition(TMP_MARK)
        if pid:
            if pid.isdigit() and not _process_alive(int(pid)):
                os.remove(os.path.join(derived, name))
            continue
        for suffix in (POSTINGS_SUFFIX, POSITIONS_SUFFIX):
            if stem.endswith(suffix) and stem[: -len(suffix)] not in live_segments:
                os.remove(os.path.join(derived, name))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
