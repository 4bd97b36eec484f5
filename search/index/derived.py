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
        if open_sidecar(folder, key) is None:
            written.append(write_sidecar(folder, leaf))
        if open_positions(folder, key) is None:
            written.append(write_positions(folder, leaf))
    return [path for path in written if path is not None]


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
