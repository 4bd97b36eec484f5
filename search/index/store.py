"""Opening, creating and writing the index on disk: the only place that touches Whoosh storage.

An index opened or created here is an `ArchiveIndex`: it owns the caches of what is read from
it (search.index.caches), and its searchers carry them.

Whoosh never fsyncs and keeps a failed writer's lock; the helpers here cancel failed
writers, wait for a busy lock with a message, make commits durable and leave a checksum
manifest after each (search.index.durability). `index_dir` is always the directory users
name; the live index inside it is found with `live_dir` (blue/green rebuilds).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from multiprocessing.util import register_after_fork
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh import scoring
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, FileIndex, LockError
from whoosh.searching import Searcher

from search.index.bulk_writer import BulkWriter
from search.index.caches import IndexCaches
from search.index.durability import fsync_directory, live_dir, new_build_dir, write_manifest
from search.index.schema import ArticleSchema
from search.index.term_infos import doc_frequency
from search.index.w3_reader import field_entries, w3_terms


class _ForkHook:
    """Anchor for the after-fork hook below (multiprocessing keeps it by weak reference)."""


def _die_with_parent(_: object) -> None:
    """In a writer's helper process: be killed when the indexer dies.

    The bulk writer forks helpers (search.index.bulk_writer) that inherit the index lock (an
    flock on
    a shared file description). If the indexer is killed with -9, orphaned helpers would go on
    writing and keep the index locked; PR_SET_PDEATHSIG ends them with it.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return  # not Linux: no such guard
    if os.getppid() == 1:  # the parent died before the guard was set
        os._exit(1)


_PR_SET_PDEATHSIG = 1
_FORK_HOOK = _ForkHook()
register_after_fork(_FORK_HOOK, _die_with_parent)


class IndexMissingError(Exception):
    """The index directory holds no index yet."""


class ArchiveIndex(FileIndex):
    """A Whoosh FileIndex that owns the caches of what is read from it; its searchers (one
    per server thread) share them, across generations where entries are per segment."""

    def __init__(self, storage: FileStorage, schema: Any = None, indexname: str = "MAIN") -> None:
        super().__init__(storage, schema, indexname)
        self.caches = IndexCaches()

    def searcher(self, **kwargs: Any) -> ArchiveSearcher:
        return ArchiveSearcher(self.reader(), fromindex=self, **kwargs)


class ArchiveSearcher(Searcher):
    """A Whoosh Searcher carrying its index's caches as `caches`.

    Whoosh builds one of these per segment (with a `parent`) and on `refresh()`: a leaf
    searcher sees other documents than its parent, so it gets no shared caches
    (search.index.caches.caches_of gives it its own); a refreshed one shares its index's.
    """

    def __init__(
        self,
        reader: Any,
        weighting: Any = scoring.BM25F,
        closereader: bool = True,
        fromindex: Any = None,
        parent: Any = None,
    ) -> None:
        super().__init__(reader, weighting, closereader, fromindex, parent)
        if parent is None and isinstance(fromindex, ArchiveIndex):
            self.caches = fromindex.caches
            # Whoosh's own attribute (the reader's method): the idfs ask it for every term
            self.doc_frequency = partial(doc_frequency, self.caches, self.ixreader)


def index_exists(index_dir: str | os.PathLike[str]) -> bool:
    directory = live_dir(index_dir)
    return os.path.isdir(directory) and whoosh_index.exists_in(directory)


def open_index(index_dir: str | os.PathLike[str]) -> ArchiveIndex:
    """Open the live index for reading, by its real path (`index_data`, a blue/green
    `current` link); raises IndexMissingError when there is none. Each call opens another
    index object, with empty caches: a server opens one and keeps it."""
    if not index_exists(index_dir):
        raise IndexMissingError(f"no index in {index_dir} (build one with `vnsearch index`)")
    index: ArchiveIndex = _storage(os.path.realpath(live_dir(index_dir))).open_index(
        indexclass=ArchiveIndex
    )
    return index


def _storage(directory: str | os.PathLike[str]) -> FileStorage:
    """Whoosh's file storage without mmap: with it, every reader copies its segment's terms
    and postings into memory (BufferFile wraps the map in a BytesIO), the whole segment per
    searcher and per server thread. Without it, reads are seek + read."""
    return FileStorage(str(directory), supports_mmap=False)


def open_or_create(index_dir: str | os.PathLike[str]) -> ArchiveIndex:
    """Open the live index for writing, creating the directory and an empty index if needed."""
    directory = live_dir(index_dir)
    os.makedirs(directory, exist_ok=True)
    if whoosh_index.exists_in(directory):
        opened: ArchiveIndex = _storage(directory).open_index(indexclass=ArchiveIndex)
        return opened
    index = ArchiveIndex.create(FileStorage(str(directory)), ArticleSchema())
    fsync_directory(directory)
    write_manifest(directory, index.latest_generation())
    return index


def start_rebuild(index_dir: str | os.PathLike[str]) -> str:
    """A new build directory beside the live index of `index_dir` (for `index --rebuild`),
    holding an empty index one generation past the live index's latest, so that its
    generations number on from the live one's.

    A rebuilt index must not reuse the generations of the one it replaces: the sharded
    engine caches the archive's statistics by the shards' generations
    (search.cluster.engine), and would otherwise keep the old ones after a switch.
    """
    after = open_index(index_dir).latest_generation() if index_exists(index_dir) else -1
    build = new_build_dir(index_dir)
    TOC(ArticleSchema(), [], after + 1).write(_storage(build), "MAIN")
    fsync_directory(build)
    write_manifest(build, after + 1)
    return build


@contextmanager
def locked_writer(
    index: FileIndex,
    timeout: float,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[BulkWriter]:
    """A writer that is committed durably on success and always cancelled on failure.

    `with index.writer()` keeps the lock when commit() raises; this does not. When
    another process holds the lock, `on_wait` hears about it and we wait up to `timeout` s.
    The writer is a BulkWriter (search.index.bulk_writer): its `add_documents(docs, procs)` shares
    the documents out to forked helpers.
    """
    options: dict[str, Any] = {"limitmb": 256}
    try:
        writer = BulkWriter(index, timeout=0.0, **options)
    except LockError:
        if on_wait:
            on_wait(f"another indexer is writing to {index.storage.folder}; waiting {timeout:g} s")
        try:
            writer = BulkWriter(index, timeout=timeout, **options)
        except LockError:
            raise LockError(
                f"the index in {index.storage.folder} stayed locked for {timeout:g} s "
                "by another indexer; try again when it has finished"
            ) from None
    started = time.time()
    try:
        yield writer
        writer.commit()
    except BaseException:
        writer.cancel()
        raise
    fsync_new_files(index.storage.folder, since=started)
    write_manifest(index.storage.folder, index.latest_generation())


def fsync_new_files(index_dir: str, since: float) -> None:
    """Flush the files a commit wrote, then the directory, so the commit survives power loss."""
    for entry in os.scandir(index_dir):
        if entry.is_file() and entry.stat().st_mtime >= since - 1:
            fd = os.open(entry.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    fsync_directory(index_dir)


def size_on_disk(index_dir: str | os.PathLike[str]) -> int:
    """Bytes used by the live index's files."""
    return sum(p.stat().st_size for p in Path(live_dir(index_dir)).iterdir() if p.is_file())


def import_worth_optimizing(held_before: int, added: int) -> bool:
    """Whether an import should end by merging the index into one segment: when it at least
    doubled the index (a first build, a rebuild, a big backfill): every search pays per
    segment, and such an import is already long enough to carry a merge. A small import (a
    feed every few minutes) leaves the merging to the size tiers instead of rewriting the
    archive."""
    return added > 0 and added >= held_before


def optimize(index_dir: str | os.PathLike[str], timeout: float) -> int:
    """Merge the live index into one segment; returns how many segments there were.

    Every query pays per segment (bench/README.md has the figures), but merging rewrites
    the whole index under the write lock: run it after
    big imports, or let `index --rebuild` do it on the new copy before switching.
    """
    index = open_index(index_dir)
    with index.reader() as reader:
        before = len(reader.leaf_readers()) if not reader.is_atomic() else 1
    if before > 1:
        with locked_writer(index, timeout) as writer:
            writer.optimize = True  # SegmentWriter merges everything at commit
    return before


class KnownIds:
    """The article ids an index holds, kept across the batches of one import, so that an
    upsert looks up older versions only of ids the index may hold: a fresh import looks up
    none (a lookup through Whoosh per article adds up over a big import)."""

    def __init__(self) -> None:
        self.generation = -1  # of the index the ids were read from
        self.ids: set[str] = set()

    def maybe_held(self, writer: BulkWriter, ids: list[str]) -> list[str]:
        """The ids that may have a version in the index the writer sees. The set is read
        again whenever someone else committed since (another process, a deletion)."""
        seen = writer.generation - 1
        if seen != self.generation:
            self.ids = set()
            with writer.reader() as reader:
                for leaf, _ in reader.leaf_readers():
                    self.ids.update(_leaf_ids(leaf))
            self.generation = seen
        return [i for i in ids if i in self.ids]

    def committed(self, generation: int, ids: list[str]) -> None:
        """Our commit (this generation) added these ids."""
        if generation == self.generation + 1:
            self.ids.update(ids)
            self.generation = generation


def _leaf_ids(leaf: Any) -> list[str]:
    terms = w3_terms(leaf)
    if terms is not None:  # a W3 segment: one read
        keys, _ = field_entries(terms, "id")
        return [key.decode("utf-8") for key in keys]
    return [text.decode("utf-8") for text in leaf.lexicon("id")]
