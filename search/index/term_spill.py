"""A segment's term table put together a chunk of terms at a time, from one process or two.

BulkWriter writes each field's terms in order as chunks (search.index.bulk_postings). When a
forked helper writes a share of the fields, each process writes its chunks to a spill file
and the helper its postings to a file of its own; this process then appends the helper's
postings to the segment's and adds both processes' chunks to the term table in field order,
moving the helper's postings offsets. Nothing is held in memory beyond a chunk.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from pickle import HIGHEST_PROTOCOL, dumps, loads
from struct import Struct
from types import TracebackType
from typing import Any

from whoosh.system import pack_ushort

from search.index.w3_codec import TERMINFO_SIZE, TermTable

FieldChunk = tuple[str, list[bytes], list[bytes]]  # field, terms in order, their infos
COPY_PIECE = 4 << 20  # bytes of the helper's postings copied at a time
_EXTENT = Struct("!qI")  # offset and length of a term's posting blocks
_RECORD = Struct("!Q")  # the size of a pickled chunk in a spill file


class FieldTable:
    """Adds chunks of terms to a segment's term table, starting and finishing each field
    (the field writer numbers the fields in the order they start)."""

    def __init__(self, fieldwriter: Any, schema: Any) -> None:
        self.fieldwriter = fieldwriter
        self.schema = schema
        self.table = TermTable(fieldwriter._tindex)
        self.fieldname: str | None = None
        self.prefix = b""

    def add(self, fieldname: str, keys: list[bytes], infos: list[bytes]) -> None:
        if not keys:
            return
        if fieldname != self.fieldname:
            self.finish()
            self.fieldwriter.start_field(fieldname, self.schema[fieldname])
            self.fieldname = fieldname
            self.prefix = pack_ushort(self.fieldwriter._fieldid)
        prefix = self.prefix
        self.table.add_sorted([prefix + key for key in keys], infos)

    def finish(self) -> None:
        if self.fieldname is not None:
            self.fieldwriter.finish_field()
            self.fieldname = None


class SpillFiles:
    """The files of one segment's two-process term writing (named after the segment, so that
    Whoosh's clean-up removes what a killed process left); removed on leaving."""

    def __init__(self, storage: Any, segment: Any) -> None:
        self.storage = storage
        self.mine, self.theirs, self.postings = (
            segment.make_filename(f".spill_{kind}") for kind in ("mine", "theirs", "postings")
        )

    def __enter__(self) -> SpillFiles:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for name in (self.mine, self.theirs, self.postings):
            if self.storage.file_exists(name):
                self.storage.delete_file(name)

    def write_mine(self, chunks: Iterable[FieldChunk]) -> None:
        """This process's chunks (its postings go to the segment's own file)."""
        self._write(self.mine, chunks)

    def write_theirs(self, chunks_to: Callable[[Any], Iterable[FieldChunk]]) -> None:
        """In the helper: the chunks chunks_to(postings file) makes, and those postings."""
        postfile = self.storage.create_file(self.postings)
        try:
            self._write(self.theirs, chunks_to(postfile))
        finally:
            postfile.close()  # a forked process ends without flushing its files

    def _write(self, name: str, chunks: Iterable[FieldChunk]) -> None:
        spill = self.storage.create_file(name)
        try:
            for chunk in chunks:
                data = dumps(chunk, HIGHEST_PROTOCOL)
                spill.write(_RECORD.pack(len(data)))
                spill.write(data)
        finally:
            spill.close()

    def read_back(self, postfile: Any) -> Iterator[FieldChunk]:
        """Append the helper's postings to postfile, then both processes' chunks in field
        order, the helper's infos pointing where its postings now are."""
        offset = postfile.tell()
        source = self.storage.open_file(self.postings)
        try:
            while data := source.read(COPY_PIECE):
                postfile.write(data)
        finally:
            source.close()
        theirs = (
            (fieldname, keys, moved_infos(infos, offset))
            for fieldname, keys, infos in self._records(self.theirs)
        )
        yield from heapq.merge(self._records(self.mine), theirs, key=itemgetter(0))

    def _records(self, name: str) -> Iterator[FieldChunk]:
        spill = self.storage.open_file(name)
        try:
            while head := spill.read(_RECORD.size):
                (size,) = _RECORD.unpack(head)
                yield loads(spill.read(size))
        finally:
            spill.close()


def moved_infos(infos: list[bytes], offset: int) -> list[bytes]:
    """Term infos whose postings were written `offset` bytes further on than they say."""
    if not offset:
        return infos
    moved = []
    for info in infos:
        if not info[0]:  # not inlined: the last 12 bytes are the blocks' extent
            start, length = _EXTENT.unpack_from(info, TERMINFO_SIZE)
            info = info[:TERMINFO_SIZE] + _EXTENT.pack(start + offset, length)
        moved.append(info)
    return moved
