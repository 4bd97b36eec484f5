"""Merging old segments into a BulkWriter's new one, without Whoosh's posting pool.

Whoosh merges a segment (SegmentWriter.add_reader) by walking every posting through a matcher
into its sorting pool, a tuple each, sorting them on disk and writing them back a posting at a
time; per document it reads and rewrites each field's length and column value through a method
call, and unpickles and repickles the stored fields, so merges dominated the indexing time.
Here:

- `MergedSegment` copies a segment's per-document data when it is added, a document at a
  time: stored fields as the compressed bytes they are, columns value by value, length bytes
  a field at a time;
- at commit, `FieldMerge` (search/index/field_merge.py) streams each field's terms from the
  new documents and from each merged segment's term table (`term_entries`: read a piece at a
  time), in term order; a term found in one source keeps its postings, only renumbered, and a
  term in several has them joined, posting blocks moved as they are where no document was
  deleted. Memory holds a piece of each source and a chunk of the output, never a field.

Deleted documents are dropped and the rest renumbered in order, as Whoosh does;
tests/test_merge.py compares what a reader sees after our merge and after Whoosh's.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from math import log
from pickle import loads
from struct import Struct
from typing import Any

from whoosh.codec.whoosh3 import STORED_COLUMN, _lenfield
from whoosh.columns import VarBytesColumn
from whoosh.reading import SegmentReader
from whoosh.system import pack_ushort
from whoosh.util.numeric import byte_to_length

from search.index.block_zlib import compressed_block, renumbered_block
from search.index.column_copy import copy_var_bytes, kept_values
from search.index.compact_pickle import CompactPickler
from search.index.w3_codec import (
    COMPRESSION,
    TERMINFO,
    TERMINFO_SIZE,
    Block,
    Stats,
)
from search.index.w3_reader import raw_blocks, read_blocks, segment_length_bytes, w3_terms

MERGE_FACTOR = 8  # segments of one size tier merged into one of the next
SMALL_SEGMENT_DOCS = 10_000  # beside a bigger segment, smaller ones merge at each commit
ENTRIES_PIECE = 1 << 20  # bytes of a term table read at a time in a merge
_EXTENT = Struct("!qI")  # offset and length of a term's posting blocks
_ENTRY_HEAD = Struct("!II")  # key length, value length of a term table entry
_BLOCK_LENGTH = Struct("!i")  # negative for a posting list's last block

Postings = tuple[list[int], Sequence[float], Sequence[bytes]]


def can_merge_fast(reader: Any, schema: Any) -> bool:
    """Whether MergedSegment and FieldMerge know everything in the segment: a W3 segment of
    the writer's schema, without term vectors or spelling words."""
    if not isinstance(reader, SegmentReader) or w3_terms(reader) is None:
        return False
    for name in reader.indexed_field_names():
        field = schema[name] if name in schema else None
        if field is None or field.vector or field.separate_spelling():
            return False
    return not any(schema[name].vector for name in schema.names())


class MergedSegment:
    """One old segment merged into the new one from document number `base` on."""

    def __init__(self, reader: SegmentReader, base: int, storage: Any) -> None:
        self.segment = reader._segment
        self.storage = storage  # the index's (a compound segment's reader has its own)
        self.schema = reader.schema
        self.base = base
        self.fields = frozenset(reader.indexed_field_names())
        self.field_sizes = _field_sizes(reader)
        doc_count = reader.doc_count_all()
        deleted = set(self.segment.deleted_docs()) if reader.has_deletions() else set()
        # old document number -> new one, -1 for a deleted document; None: just add base
        self.docmap: list[int] | None = None
        self.kept = doc_count - len(deleted)
        if deleted:
            numbers = iter(range(base, base + self.kept))
            self.docmap = [-1 if d in deleted else next(numbers) for d in range(doc_count)]
        self._reader: SegmentReader | None = None
        self.pickler = CompactPickler()

    def copy_documents(self, reader: SegmentReader, perdocwriter: Any) -> None:
        """Write the kept documents' stored fields and columns (search.index.column_copy):
        stored fields as the compressed pickles they are."""
        perdoc = reader._perdoc
        stored_reader = perdoc.column_reader("_stored", STORED_COLUMN)._child
        stored_writer = perdocwriter._get_column("_stored")._child
        copy_var_bytes(stored_writer, stored_reader, self.base, self.docmap)
        for name in self.schema.names():
            column = self.schema[name].column_type
            if not column or not reader.has_column(name):
                continue
            if not perdocwriter._has_column(name):
                perdocwriter._create_column(name, column)
            writer = perdocwriter._get_column(name)
            values = reader.column_reader(name, translate=False)
            if isinstance(values, VarBytesColumn.Reader):  # its subclasses' data alike
                copy_var_bytes(writer, values, self.base, self.docmap)
                continue
            for new, value in kept_values(values, self.base, self.docmap):
                writer.add(new, value)
        perdocwriter._doccount += self.kept

    def length_rows(self, reader: SegmentReader) -> Iterator[tuple[str, bytes, int]]:
        """(field, length byte of each kept document in order, their total length) of each
        scorable field that has lengths."""
        for name in self.schema.names():
            if not self.schema[name].scorable or not reader._perdoc.has_column(_lenfield(name)):
                continue
            row = segment_length_bytes(reader, name)
            assert row is not None  # can_merge_fast: a W3 segment
            if self.docmap is not None:
                row = bytes([b for new, b in zip(self.docmap, row, strict=True) if new >= 0])
            counts = Counter(row)
            yield name, row, sum(byte_to_length(b) * n for b, n in counts.items())

    def open(self) -> None:
        self._reader = SegmentReader(self.storage, self.schema, self.segment)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def entries(self, fieldname: str) -> Iterator[tuple[bytes, bytes]]:
        """The field's (term, term info) in term order, read from the term table in pieces."""
        assert self._reader is not None
        return term_entries(self._reader._terms, fieldname)

    def moved_blocks(self, info: bytes, compress_min: int) -> tuple[list[Block], Stats]:
        """The posting blocks of a term kept in blocks, with their document numbers moved up
        by base (a segment without deletions), and the term's stats moved the same way.
        Blocks of compress_min bytes or more come out compressed, whether they were or not."""
        assert self._reader is not None
        offset, length = _EXTENT.unpack_from(info, TERMINFO_SIZE)
        data = self._reader._terms._postfile.get(offset, length)
        _, weight, df, minlen, maxlen, maxweight, minid, maxid = TERMINFO.unpack_from(info)
        stats = (weight, df, minlen, maxlen, maxweight, minid + self.base, maxid + self.base)
        return moved_blocks(data, self.base, compress_min, self.pickler), stats

    def _shifted(self, info: bytes) -> bytes:
        """An inlined term info with its document numbers moved up by base: statistics and
        lengths stay what they were."""
        inlined, weight, df, minlen, maxlen, maxweight, minid, maxid = TERMINFO.unpack_from(info)
        ids, weights, values = loads(info[TERMINFO_SIZE:])
        base = self.base
        head = TERMINFO.pack(
            inlined, weight, df, minlen, maxlen, maxweight, minid + base, maxid + base
        )
        moved = tuple([d + base for d in ids])
        return head + self.pickler.dumps((moved, weights, values))

    def postings(self, info: bytes, fixedsize: int | None) -> Postings:
        """A term's postings in this segment, renumbered, deleted documents left out."""
        if info[0]:  # inlined in the term info: tuples
            ids, weights, values = loads(info[TERMINFO_SIZE:])
        else:
            assert self._reader is not None
            offset, length = _EXTENT.unpack_from(info, TERMINFO_SIZE)
            data = self._reader._terms._postfile.get(offset, length)
            ids, weights, values = read_blocks(data, fixedsize)
        if self.docmap is None:
            base = self.base
            return [d + base for d in ids], weights, values
        docmap = self.docmap
        new = [docmap[d] for d in ids]
        if min(new, default=0) >= 0:
            return new, weights, values
        kept = [i for i, d in enumerate(new) if d >= 0]
        return [new[i] for i in kept], [weights[i] for i in kept], [values[i] for i in kept]

    def postings_to_pool(self, add: Callable[[tuple[Any, ...]], None]) -> None:
        """Send every posting to Whoosh's pool (when it writes the segment)."""
        self.open()
        try:
            for fieldname in sorted(self.fields):
                fixedsize = self.schema[fieldname].format.fixed_value_size()
                for term, info in self.entries(fieldname):
                    ids, weights, values = self.postings(info, fixedsize)
                    for docnum, weight, value in zip(ids, weights, values, strict=True):
                        add((fieldname, term, docnum, weight, value))
        finally:
            self.close()


def moved_blocks(data: bytes, base: int, compress_min: int, pickler: CompactPickler) -> list[Block]:
    """A posting list's blocks (as read back from disk) with every document number moved up
    by base: each block's first delta and last id change, everything else stays. A block
    compressed for renumbering (search.index.block_zlib) is renumbered as it is; another one
    is unpickled and pickled again, and compressed when it has compress_min bytes or more."""
    dumps = pickler.dumps
    blocks = []
    for (postings, lastid, maxweight, compression, minlen, maxlen), body in raw_blocks(data):
        renumbered = renumbered_block(body, base) if base and compression else None
        if renumbered is not None:
            body = renumbered
        elif base or not compression and len(body) >= compress_min:
            deltas, weights, values = loads(zlib.decompress(body) if compression else body)
            body = dumps(((deltas[0] + base, *deltas[1:]), weights, values))
            compression = COMPRESSION if len(body) >= compress_min else 0
            if compression:
                body = compressed_block(body, compression)
        info = (postings, lastid + base, maxweight, compression, minlen, maxlen)
        blocks.append((dumps(info), body))
    return blocks


def term_entries(terms: Any, fieldname: str) -> Iterator[tuple[bytes, bytes]]:
    """A W3 segment's (term, term info) of the field in order, read ENTRIES_PIECE bytes at a
    time from the field's part of the term table (`terms`: a SegmentReader's W3TermsReader)."""
    piece = ENTRIES_PIECE
    fieldid = terms._fieldmap.get(fieldname)
    tindex = terms._tindex
    start = None if fieldid is None else tindex.closest_key_pos(pack_ushort(fieldid))
    if start is None:
        return
    end = tindex.closest_key_pos(pack_ushort(fieldid + 1)) or tindex.endofdata
    head = _ENTRY_HEAD.unpack_from
    data, pos = b"", 0
    while start < end or pos < len(data):
        size = min(piece, end - start)
        data = data[pos:] + tindex.dbfile.get(start, size)
        start, pos = start + size, 0
        while pos + 8 <= len(data):
            keylen, valuelen = head(data, pos)
            if pos + 8 + keylen + valuelen > len(data):
                break  # the rest of this entry is in the next piece
            pos += 8
            key = data[pos + 2 : pos + keylen]  # after the field number
            pos += keylen
            yield key, data[pos : pos + valuelen]
            pos += valuelen
        if start >= end and pos < len(data):
            raise ValueError(f"{fieldname}: the term table ends inside an entry")


def _field_sizes(reader: SegmentReader) -> dict[str, int]:
    """Bytes of each field's part of the segment's term table."""
    terms = reader._terms
    tindex = terms._tindex
    starts = []
    for fieldname, fieldid in terms._fieldmap.items():
        start = tindex.closest_key_pos(pack_ushort(fieldid))
        if start is not None:
            starts.append((start, fieldname))
    starts.sort()
    ends = [start for start, _ in starts[1:]] + [tindex.endofdata]
    return {name: end - start for (start, name), end in zip(starts, ends, strict=True)}


def share_fields(
    names: list[str], segments: list[MergedSegment], postings: dict[str, dict[Any, Any]]
) -> tuple[list[str], list[str]]:
    """The field names in two groups of about the same work, largest fields first."""
    work = {
        name: sum(s.field_sizes.get(name, 0) for s in segments) + 40 * len(postings.get(name, ()))
        for name in names
    }
    groups: tuple[list[str], list[str]] = ([], [])
    totals = [0, 0]
    for name in sorted(names, key=work.__getitem__, reverse=True):
        lighter = totals.index(min(totals))
        groups[lighter].append(name)
        totals[lighter] += work[name]
    return sorted(groups[0]), sorted(groups[1])


def merge_tiers(writer: Any, segments: list[Any]) -> list[Any]:
    """A merge policy (Whoosh's mergetype): segments whose live documents fall in one power
    of MERGE_FACTOR are merged into one once there are MERGE_FACTOR of them, smallest tier
    first. Each document is rewritten about log(n / batch) / log(MERGE_FACTOR) times, and
    an index keeps a few segments per tier (MERGE_SMALL lets 20 small ones pile up, then
    merges them; and with Whoosh's merging every merge took minutes on the news file).

    Beside a segment of SMALL_SEGMENT_DOCS or more, the smaller ones (what live imports
    leave) are one tier, merged as soon as there are two: a search looks every query term up
    in every segment, and those look-ups cost more than the small segments' documents.
    Rewriting them at each import is cheap while they are small."""
    big = any(segment.doc_count() >= SMALL_SEGMENT_DOCS for segment in segments)
    tiers: dict[int, list[Any]] = {}
    for segment in segments:
        live = max(1, segment.doc_count())
        small = big and live < SMALL_SEGMENT_DOCS
        tiers.setdefault(-1 if small else int(log(live) / log(MERGE_FACTOR)), []).append(segment)
    for tier in sorted(tiers):
        if len(tiers[tier]) >= (2 if tier < 0 else MERGE_FACTOR):
            merging = tiers[tier]
            for segment in merging:
                reader = SegmentReader(writer.storage, writer.schema, segment)
                try:
                    writer.add_reader(reader)
                finally:
                    reader.close()
            return [s for s in segments if s not in merging]
    return segments
