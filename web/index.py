"""The app's read-only view of the index: one FileIndex per app, one searcher per thread.

Mirrors flaskr/db.py (`get_searcher()` cached on `g`, released on teardown, `init_app`), with
one change: opening a searcher re-reads the table of contents, dear on a large index,
so each thread keeps its searcher while the index generation is unchanged (a cheap check) and
opens a new one as soon as a commit lands. A searcher is only ever used by the thread that
opened it (Whoosh needs that). `Searcher.refresh()` is deliberately not used: in
whoosh-reloaded 2.7.5 it keeps merged-away segments and counts their documents twice.

The FileIndex is reopened when the live directory is replaced (a rebuild switching the
`current` link, or the folder swapped), and when a new generation cannot be read the thread
keeps its last good searcher. No writer is ever opened here.

The index owns the caches every thread's searcher reads (search.index.caches): they follow
new generations by themselves, and a replaced index's caches are emptied, so that threads
still holding its searchers keep no memory alive. `vnsearch serve` warms the handle's index
before it forks its workers (web.serve).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from dataclasses import dataclass

from flask import Flask, current_app, g
from whoosh.index import FileIndex
from whoosh.searching import Searcher

from search.archive import Archive, SearcherArchive
from search.errors import IndexUnavailable
from search.index.durability import live_dir
from search.index.shard_layout import is_sharded
from search.index.store import ArchiveIndex, open_index
from search.query.weights import weighting
from web.settings import settings_of

log = logging.getLogger(__name__)
EXTENSION = "vnsearch_index"
SHARDED = "vnsearch_sharded"


@dataclass(frozen=True)
class _Opened:
    """A thread's searcher and what it was opened on."""

    index: FileIndex
    identity: tuple[str, int, int]
    generation: int
    searcher: Searcher

    @property
    def version(self) -> str:
        """Names the documents this searcher sees (for ETags)."""
        path, device, inode = self.identity
        return f"{path}:{device}:{inode}:{self.generation}"


class IndexHandle:
    """Opens the index at `index_dir` lazily and hands each thread an up-to-date searcher."""

    def __init__(self, index_dir: str) -> None:
        self.index_dir = index_dir
        self._lock = threading.Lock()
        self.connect_lock = threading.Lock()  # one connection to a sharded archive's cluster
        self._index: ArchiveIndex | None = None
        self._identity: tuple[str, int, int] | None = None
        self._local = threading.local()
        self._open: set[Searcher] = set()
        # Searchers hold open files (search.index.store reads without mmap): an app dropped without
        # close() (a test's) must not leak them.
        weakref.finalize(self, _close_all, self._open)

    def _current_identity(self) -> tuple[str, int, int]:
        # The live index: INDEX_DIR itself, or what its `current` link points to after a
        # blue/green rebuild (search.index.durability); a switch changes the identity.
        real = os.path.realpath(live_dir(self.index_dir))
        info = os.stat(real)
        return real, info.st_dev, info.st_ino

    def _file_index(self) -> tuple[ArchiveIndex, tuple[str, int, int]]:
        identity = self._current_identity()
        with self._lock:
            if self._index is None or identity != self._identity:
                replaced = self._index
                self._index = open_index(identity[0])
                self._identity = identity
                if replaced is not None:
                    replaced.caches.clear()
            return self._index, identity

    def index(self) -> ArchiveIndex:
        """The live index every thread's searcher comes from (opened if need be).

        :raise IndexMissingError: `index_dir` holds no index (OSError: it does not exist).
        """
        return self._file_index()[0]

    def opened(self) -> _Opened:
        """This thread's searcher on the latest readable generation.

        :raise IndexUnavailable: no index can be read and this thread has no earlier searcher.
        """
        previous: _Opened | None = getattr(self._local, "opened", None)
        try:
            index, identity = self._file_index()
            generation = int(index.latest_generation())
            if (
                previous is not None
                and previous.identity == identity
                and previous.generation == generation
            ):
                return previous
            searcher = index.searcher(weighting=weighting())
        except Exception as error:  # any failure to read the index is "unavailable"
            if previous is not None:
                log.warning(
                    "index %s unreadable, serving the previous one: %s", self.index_dir, error
                )
                return previous
            log.warning("index %s unavailable: %s", self.index_dir, error)
            raise IndexUnavailable(
                "the search index is not available right now; try again shortly"
            ) from error
        opened = _Opened(index, identity, generation, searcher)
        with self._lock:
            self._open.add(searcher)
            if previous is not None:
                self._open.discard(previous.searcher)
        if previous is not None:
            previous.searcher.close()
        self._local.opened = opened
        return opened

    def close(self) -> None:
        """Close every searcher this handle opened (at shutdown, or when a test ends)."""
        with self._lock:
            self._index = None
        _close_all(self._open)
        self._local = threading.local()


def _close_all(searchers: set[Searcher]) -> None:
    for searcher in list(searchers):
        searchers.discard(searcher)
        searcher.close()


def index_handle(app: Flask) -> IndexHandle:
    """The app's index handle (see init_app)."""
    handle: IndexHandle = app.extensions[EXTENSION]
    return handle


def _handle() -> IndexHandle:
    return index_handle(current_app)


def get_searcher() -> Searcher:
    """The searcher for this request: opened (or reused) once, kept on `g` until teardown."""
    if "searcher" not in g:
        opened = _handle().opened()
        g.searcher = opened.searcher
        g.index_version = opened.version
        g.index_generation = opened.generation
    searcher: Searcher = g.searcher
    return searcher


def index_version() -> str:
    """Index folder, inode and generation behind this request's searcher (an ETag part);
    for a sharded archive, each shard's generation."""
    sharded = _sharded()
    if sharded is not None:
        return "shards:" + str(sharded.health()["generation"])
    get_searcher()
    version: str = g.index_version
    return version


def index_generation() -> int:
    """The commit generation this request's searcher reads."""
    get_searcher()
    generation: int = g.index_generation
    return generation


def release_searcher(error: BaseException | None = None) -> None:
    """Drop the request's reference; the thread keeps the searcher for its next request."""
    g.pop("searcher", None)
    g.pop("index_version", None)
    g.pop("index_generation", None)


def attach_sharded(app: Flask, engine: Archive) -> None:
    """Serve the sharded archive `engine` (search.cluster) instead of one index."""
    app.extensions[SHARDED] = engine


def _sharded() -> Archive | None:
    """The app's sharded archive: attached, or connected on first use when the index_dir is
    sharded (search.index.shard_layout); None for one index."""
    app = current_app
    engine: Archive | None = app.extensions.get(SHARDED)
    if engine is not None or not is_sharded(settings_of(app).index_dir):
        return engine
    with _handle().connect_lock:
        if app.extensions.get(SHARDED) is None:
            from search.cluster.connect import sharded_engine

            app.extensions[SHARDED] = sharded_engine(settings_of(app).index_dir, settings_of(app))
    found: Archive = app.extensions[SHARDED]
    return found


def get_archive() -> Archive:
    """What this request searches: the sharded archive, or the index through its searcher."""
    sharded = _sharded()
    if sharded is not None:
        return sharded
    return SearcherArchive(get_searcher(), index_generation())


def init_app(app: Flask) -> None:
    """Attach an index handle for the index_dir setting and release searchers on teardown."""
    app.extensions[EXTENSION] = IndexHandle(settings_of(app).index_dir)
    app.teardown_appcontext(release_searcher)
