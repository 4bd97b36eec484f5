"""Merging old segments into a BulkWriter's new one, without Whoosh's posting pool.

Whoosh merges a segment (SegmentWriter.add_reader) by walking every posting through a matcher
into its sorting pool, a tuple each, sorting them on disk and writing them back a posting at a
time; per document it reads and rewrites each field's length and column value through a method
call, and unpickles and repickles the stored fields, so merges dominated the indexing time.
Here:

- `MergedSegment` copies a segment's per-document data when it is added: stored fields as the
  compressed bytes they are, columns value by value, lengths into the writer's length table;
- at commit, `FieldMerge` (search/index/field_merge.py) takes each field's terms from the new
  documents and from each merged segment's term table (search/index/w3_reader.py: one read a field);
  a term found in one source keeps its postings, only renumbered, and a term in several has
  them joined, posting blocks moved as they are where no document was deleted.

Deleted documents are dropped and the rest renumbered in order, as Whoosh does;
tests/test_merge.py compares what a reader sees after our merge and after Whoosh's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from math import log
from pickle import dumps, loads
from struct import Struct
from typing import Any

from whoosh.codec.whoosh3 import STORED_COLUMN, _lenfield
from whoosh.columns import VarBytesColumn
from whoosh.reading import SegmentReader
from whoosh.system import pack_ushort
from whoosh.util.numeric import byte_to_length

from search.index.w3_codec import PICKLE_PROTOCOL, TERMINFO, TERMINFO_SIZE, Block, Stats
from search.index.w3_reader import (
    field_entries,
    read_blocks,
    segment_length_bytes,
    shifted_blocks,
    w3_terms,
)

MERGE_FACTOR = 8  # segments of one size tier merged into one of the next
_EXTENT = Struct("!qI")  # offset and length of a term's posting blocks

Postings = tuple[list[int], Sequence[float], Sequence[bytes]]
FieldTerms = dict[str, tuple[list[bytes], list[bytes]]]  # field -> (terms, term infos)


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
        count = reader.doc_count_all()
        deleted = set(self.segment.deleted_docs()) if reader.has_deletions() else set()
        # old document number -> new one, -1 for a deleted document; None: just add base
        self.docmap: list[int] | None = None
        self.kept = count - len(deleted)
        if deleted:
            numbers = iter(range(base, base + self.kept))
            self.docmap = [-1 if d in deleted else next(numbers) for d in range(count)]
        self._reader: SegmentReader | None = None

    def new_numbers(self) -> Iterator[tuple[int, int]]:
        """(old, new) document number of each kept document."""
        if self.docmap is None:
            return zip(range(self.kept), range(self.base, self.base + self.kept), strict=True)
        return ((old, new) for old, new in enumerate(self.docmap) if new >= 0)

    def copy_documents(
        self, reader: SegmentReader, perdocwriter: Any, lengths: dict[str, dict[int, int]]
    ) -> None:
        """Write the kept documents' stored fields and columns; their field lengths go to
        `lengths` (field -> new document number -> length), which the writer writes."""
        perdoc = reader._perdoc
        pairs = list(self.new_numbers())
        # Stored fields: zlib-compressed pickles, copied as they are.
        stored_reader = perdoc.column_reader("_stored", STORED_COLUMN)._child
        stored_writer = perdocwriter._get_column("_stored")._child
        raw = list(VarBytesColumn.Reader.__iter__(stored_reader))
        for old, new in pairs:
            if raw[old]:
                VarBytesColumn.Writer.add(stored_writer, new, raw[old])
        for name in self.schema.names():
            field = self.schema[name]
            if field.column_type and reader.has_column(name):
                self._copy_column(reader, perdocwriter, name, field.column_type, pairs)
            if field.scorable and perdoc.has_column(_lenfield(name)):
                bytes_ = segment_length_bytes(reader, name)
                assert bytes_ is not None  # can_merge_fast: a W3 segment
                field_lengths = lengths.setdefault(name, {})
                for old, new in pairs:
                    if bytes_[old]:
                        field_lengths[new] = byte_to_length(bytes_[old])
        perdocwriter._doccount += len(pairs)

    @staticmethod
    def _copy_column(
        reader: SegmentReader, perdocwriter: Any, name: str, column: Any, pairs: list[Any]
    ) -> None:
        if not perdocwriter._has_column(name):
            perdocwriter._create_column(name, column)
        writer = perdocwriter._get_column(name)
        values = list(reader.column_reader(name, translate=False))
        for old, new in pairs:
            writer.add(new, values[old])

    def open(self) -> None:
        self._reader = SegmentReader(self.storage, self.schema, self.segment)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def field_entries(self, fieldname: str) -> tuple[list[bytes], list[bytes]]:
        """The field's terms in order and their term infos."""
        assert self._reader is not None
        return field_entries(self._reader._terms, fieldname)

    def moved_blocks(self, info: bytes) -> tuple[list[Block], Stats]:
        """The posting blocks of a term kept in blocks, with their document numbers moved up
        by base (a segment without deletions), and the term's stats moved the same way."""
        assert self._reader is not None
        offset, length = _EXTENT.unpack_from(info, TERMINFO_SIZE)
        data = self._reader._terms._postfile.get(offset, length)
        _, weight, df, minlen, maxlen, maxweight, minid, maxid = TERMINFO.unpack_from(info)
        stats = (weight, df, minlen, maxlen, maxweight, minid + self.base, maxid + self.base)
        return shifted_blocks(data, self.base), stats

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
        return head + dumps((moved, weights, values), PICKLE_PROTOCOL)

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
                for term, info in zip(*self.field_entries(fieldname), strict=True):
                    ids, weights, values = self.postings(info, fixedsize)
                    for docnum, weight, value in zip(ids, weights, values, strict=True):
                        add((fieldname, term, docnum, weight, value))
        finally:
            self.close()


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


def moved_offsets(found: FieldTerms, offset: int) -> FieldTerms:
    """Term infos whose postings were written `offset` bytes further on than they say."""
    moved: FieldTerms = {}
    for fieldname, (keys, infos) in found.items():
        fixed = []
        for info in infos:
            if not info[0]:  # not inlined: the last 12 bytes are the blocks' extent
                start, length = _EXTENT.unpack_from(info, TERMINFO_SIZE)
                info = info[:TERMINFO_SIZE] + _EXTENT.pack(start + offset, length)
            fixed.append(info)
        moved[fieldname] = (keys, fixed)
    return moved


def merge_tiers(writer: Any, segments: list[Any]) -> list[Any]:
    """A merge policy (Whoosh's mergetype): segments whose live documents fall in one power
    of MERGE_FACTOR are merged into one once there are MERGE_FACTOR of them, smallest tier
    first. Each document is rewritten about log(n / batch) / log(MERGE_FACTOR) times, and
    an index keeps a few segments per tier (MERGE_SMALL lets 20 small ones pile up, then
    merges them; and with Whoosh's merging every merge took minutes on the news file)."""
    tiers: dict[int, list[Any]] = {}
    for segment in segments:
        live = max(1, segment.doc_count())
        tiers.setdefault(int(log(live) / log(MERGE_FACTOR)), []).append(segment)
    for tier in sorted(tiers):
        if len(tiers[tier]) >= MERGE_FACTOR:
            merging = tiers[tier]
            for segment in merging:
                reader = SegmentReader(writer.storage, writer.schema, segment)
                try:
                    writer.add_reader(reader)
                finally:
                    reader.close()
            return [s for s in segments if s not in merging]
    return segments
