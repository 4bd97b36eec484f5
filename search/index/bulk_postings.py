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

from search.index.bulk_arrays import FieldPostings, TokenColumns
from search.index.bulk_fields import DictPostings
from search.index.field_merge import FieldMerge
from search.index.forked_call import fork_call
from search.index.inlined_postings import inlined_infos
from search.index.merge import MergedSegment, share_fields
from search.index.term_spill import FieldChunk, FieldTable, SpillFiles
from search.index.w3_codec import TermWriter

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

        inlined = new.arrays() if self.inline_limit else None  # None: one term at a time

        def new_infos(indexes: list[int]) -> list[bytes]:
            """Term infos of the new terms at indexes; those with inlined postings (most
            terms) made together (search.index.inlined_postings)."""
            infos = [b""] * len(indexes)
            if inlined is not None:
                at = np.asarray(indexes, dtype=np.int64)
                small = np.flatnonzero(inlined.counts(at) <= self.inline_limit)
                made = inlined_infos(inlined, at[small], lengths)
                for k, info in zip(small.tolist(), made, strict=True):
                    infos[k] = info
            for k, index in enumerate(indexes):
                if not infos[k]:
                    infos[k] = writer.info(*new.postings(index))
            return infos

        keys = new.keys
        if not sources:
            chunk = FieldMerge.chunk
            for start in range(0, len(keys), chunk):
                end = min(start + chunk, len(keys))
                yield keys[start:end], new_infos(list(range(start, end)))
            return
        merge = FieldMerge(sources, fieldname, writer)
        yield from merge.run(keys, new_infos, new.postings)
