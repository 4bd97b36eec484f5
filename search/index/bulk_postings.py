"""How BulkWriter writes a segment's terms: the term table and the postings file.

Each field's terms come from the documents added (kept in memory, search/index/bulk_fields.py)
and, in a merging commit, from the old segments merged in (search/index/field_merge.py), and
are written a chunk at a time. Terms found in one document are made in bulk; the rest go
through search.index.w3_codec.TermWriter. A big segment shares its fields out with a forked
helper (search/index/forked_call.py); both write to files, put together by
search/index/term_spill.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from search.index.block_postings import fits, posting_lists
from search.index.bulk_arrays import FieldPostings, TokenColumns
from search.index.bulk_fields import DictPostings
from search.index.field_merge import FieldMerge
from search.index.forked_call import fork_call
from search.index.inlined_postings import inlined_infos
from search.index.merge import MergedSegment, share_fields
from search.index.term_spill import FieldChunk, FieldTable, SpillFiles
from search.index.w3_codec import COMPRESSION, TermWriter

PARALLEL_MIN_DOCUMENTS = 1000  # fewer new documents (and no merge): not worth a fork


class PostingsWriter:
    """BulkWriter's term writing (a mixin: the attributes are BulkWriter's)."""

    if TYPE_CHECKING:
        schema: Any
        storage: Any
        newsegment: Any
        docnum: int
        fieldwriter: Any
        inline_limit: int
        block_limit: int
        compress_min: int
        merge_procs: int
        _postings: dict[str, dict[Any, list[Any]]]
        _merged: list[MergedSegment]

        term_memo: Any

        def _layout(self, fieldname: str) -> tuple[str, float]: ...

        def _length_table(self, fieldname: str) -> bytearray: ...

    def _write_postings(self) -> None:
        """Every field's terms into the term table, postings into the postings file, a chunk
        of terms at a time. A big segment (a merge, or PARALLEL_MIN_DOCUMENTS new ones) shares
        its fields out with a forked helper unless merge_procs is 1: each side writes its
        postings to a file of its own and its terms to a spill file (search.index.term_spill),
        which are then put together in field order."""
        merged = self._merged
        names = sorted(set(self._postings).union(*(s.fields for s in merged)))
        postfile = self.fieldwriter._postfile
        table = FieldTable(self.fieldwriter, self.schema)
        big = merged or self.docnum >= PARALLEL_MIN_DOCUMENTS
        if big and self.merge_procs > 1 and len(names) > 1:
            mine, theirs = share_fields(names, merged, self._postings)
            with SpillFiles(self.storage, self.newsegment) as spill:
                fork_call(
                    lambda: spill.write_theirs(lambda posts: self._field_chunks(theirs, posts)),
                    lambda: spill.write_mine(self._field_chunks(mine, postfile)),
                )
                for fieldname, keys, infos in spill.read_back(postfile):
                    table.add(fieldname, keys, infos)
        else:
            for fieldname, keys, infos in self._field_chunks(names, postfile):
                table.add(fieldname, keys, infos)
        table.finish()
        self._postings.clear()

    def _field_chunks(self, names: list[str], postfile: Any) -> Iterator[FieldChunk]:
        """(field, terms, term infos) of the fields named, in order, a chunk of terms at a
        time; postings go to postfile meanwhile. A field's new postings are let go once its
        terms are written."""
        merged = self._merged
        for segment in merged:
            segment.open()
        try:
            for fieldname in names:
                postings = self._postings.get(fieldname, {})
                sources = [s for s in merged if fieldname in s.fields]
                if postings or sources:
                    chunks = self._field_terms(fieldname, postings, sources, postfile)
                    for keys, infos in chunks:
                        yield fieldname, keys, infos
                self._postings.pop(fieldname, None)
        finally:
            for segment in merged:
                segment.close()

    def _field_terms(
        self,
        fieldname: str,
        postings: Any,
        sources: list[MergedSegment],
        postfile: Any,
    ) -> Iterator[tuple[list[bytes], list[bytes]]]:
        """The field's terms, encoded, and their term infos (postings written meanwhile)."""
        fixedsize = self.schema[fieldname].format.fixed_value_size()
        lengths = self._length_table(fieldname)
        new: FieldPostings | DictPostings
        if isinstance(postings, TokenColumns):
            new = FieldPostings(postings, self.term_memo)
        else:
            new = DictPostings(postings, *self._layout(fieldname))
        del postings
        writer = TermWriter(
            postfile, lengths, fixedsize, self.inline_limit, self.compress_min, self.block_limit
        )

        new_infos = NewTermInfos(new, writer).infos
        keys = new.keys
        if not sources:
            chunk = FieldMerge.chunk
            for start in range(0, len(keys), chunk):
                end = min(start + chunk, len(keys))
                yield keys[start:end], new_infos(list(range(start, end)))
            return
        merge = FieldMerge(sources, fieldname, writer)
        yield from merge.run(keys, new_infos, new.postings)


class NewTermInfos:
    """The term infos of a field's new terms, a chunk of terms at a time, their posting
    lists written meanwhile. With the postings as arrays (search.index.posting_rows), a
    chunk's infos are made together: the inlined ones (search.index.inlined_postings), then
    the posting lists (search.index.block_postings). Without inlining (as Whoosh writes), or
    for postings those cannot write (weights that are not whole, empty values of a format
    whose values vary in size), TermWriter makes them a term at a time."""

    def __init__(self, new: FieldPostings | DictPostings, writer: TermWriter) -> None:
        self.new = new
        self.writer = writer
        arrays = new.arrays() if writer.inline_limit else None
        self.arrays = arrays if arrays is not None and fits(arrays, writer.fixedsize) else None

    def infos(self, indexes: list[int]) -> list[bytes]:
        writer, arrays = self.writer, self.arrays
        if arrays is None:
            return [writer.info(*self.new.postings(index)) for index in indexes]
        infos = [b""] * len(indexes)
        at = np.asarray(indexes, dtype=np.int64)
        small = arrays.counts(at) <= writer.inline_limit
        some = np.flatnonzero(small)
        made = inlined_infos(arrays, at[some], writer.length_bytes)
        for k, info in zip(some.tolist(), made, strict=True):
            infos[k] = info
        some = np.flatnonzero(~small)
        lists, heads = posting_lists(
            arrays, at[some], writer.length_bytes, writer.fixedsize, writer.block_limit,
            writer.compress_min, COMPRESSION,
        )  # fmt: skip
        for k, head, data in zip(some.tolist(), heads, lists, strict=True):
            infos[k] = writer.posting_list(head, data)
        return infos
