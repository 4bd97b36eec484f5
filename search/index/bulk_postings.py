"""How BulkWriter writes a segment's terms: the term table and the postings file.

Each field's terms come from the documents added (kept in memory, search/index/bulk_fields.py)
and, in a merging commit, from the old segments merged in (search/index/field_merge.py). Terms
found in one document are made in bulk; the rest go through search.index.w3_codec.TermWriter.
A merge shares the fields out with a forked helper (search/index/forked_call.py), which writes
its postings to memory; this process appends them and moves their offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from typing import TYPE_CHECKING, Any

from whoosh.filedb.structfile import StructFile
from whoosh.system import pack_ushort

from search.index.bulk_fields import DOCNUMS, ONE_FREQUENCY, TRIPLES, columns
from search.index.field_merge import FieldMerge
from search.index.forked_call import fork_call
from search.index.merge import FieldTerms, MergedSegment, Postings, moved_offsets, share_fields
from search.index.w3_codec import TermTable, TermWriter, single_infos

PARALLEL_MIN_DOCUMENTS = 1000  # fewer new documents (and no merge): not worth a fork


class PostingsWriter:
    """BulkWriter's term writing (a mixin: the attributes are BulkWriter's)."""

    if TYPE_CHECKING:
        schema: Any
        docnum: int
        fieldwriter: Any
        inline_limit: int
        compress_min: int
        merge_procs: int
        _postings: dict[str, dict[Any, list[Any]]]
        _lengths: dict[str, dict[int, int]]
        _merged: list[MergedSegment]

        def _layout(self, fieldname: str) -> tuple[str, float]: ...

    def _write_postings(self) -> None:
        """Every field's terms into the term table, postings into the postings file. A big
        segment (a merge, or PARALLEL_MIN_DOCUMENTS new ones) shares its fields out with a
        forked helper unless merge_procs is 1."""
        fieldwriter = self.fieldwriter
        merged = self._merged
        names = sorted(set(self._postings).union(*(s.fields for s in merged)))
        postfile = fieldwriter._postfile
        big = merged or self.docnum >= PARALLEL_MIN_DOCUMENTS
        if big and self.merge_procs > 1 and len(names) > 1:
            mine, theirs = share_fields(names, merged, self._postings)
            own, (other, postbytes) = fork_call(
                lambda: self._fields_in_memory(theirs), lambda: self._fields(mine, postfile)
            )
            own.update(moved_offsets(other, postfile.tell()))
            postfile.write(postbytes)
        else:
            own = self._fields(names, postfile)
        table = TermTable(fieldwriter._tindex)
        for fieldname in names:
            if fieldname not in own:
                continue
            keys, infos = own[fieldname]
            fieldwriter.start_field(fieldname, self.schema[fieldname])
            prefix = pack_ushort(fieldwriter._fieldid)
            table.add_sorted([prefix + key for key in keys], infos)
            fieldwriter.finish_field()
        self._postings.clear()
        self._lengths.clear()

    def _fields_in_memory(self, names: list[str]) -> tuple[FieldTerms, bytes]:
        """_fields with the postings written to memory (in a helper), and those bytes."""
        buffer = BytesIO()
        terms = self._fields(names, StructFile(buffer))
        return terms, buffer.getvalue()

    def _fields(self, names: list[str], postfile: Any) -> FieldTerms:
        """Field name -> (terms, term infos) of the fields named; postings go to postfile."""
        found: FieldTerms = {}
        merged = self._merged
        for segment in merged:
            segment.open()
        try:
            for fieldname in names:
                postings = self._postings.get(fieldname, {})
                sources = [s for s in merged if fieldname in s.fields]
                if postings or sources:
                    found[fieldname] = self._field_terms(fieldname, postings, sources, postfile)
        finally:
            for segment in merged:
                segment.close()
        return found

    def _field_terms(
        self,
        fieldname: str,
        postings: dict[Any, list[Any]],
        sources: list[MergedSegment],
        postfile: Any,
    ) -> tuple[list[bytes], list[bytes]]:
        """The field's terms, encoded, and their term infos (postings written meanwhile)."""
        fixedsize = self.schema[fieldname].format.fixed_value_size()
        lengths = self._lengths.get(fieldname, {})
        layout, boost = self._layout(fieldname)
        terms = sorted(postings)
        founds = list(map(postings.__getitem__, terms))
        keys = [t if isinstance(t, bytes) else t.encode("utf-8") for t in terms]
        del postings

        writer = TermWriter(postfile, lengths, fixedsize, self.inline_limit, self.compress_min)

        def term_info(postings: Postings) -> bytes:
            return writer.info(*postings)

        def new_infos(indexes: list[int]) -> list[bytes]:
            chosen = [founds[i] for i in indexes]
            infos = self._single_infos(chosen, layout, boost, lengths)
            for i, found in enumerate(chosen):
                if not infos[i]:
                    infos[i] = term_info(columns(layout, found, boost))
            return infos

        if not sources:
            return keys, new_infos(list(range(len(keys))))
        merge = FieldMerge(sources, fieldname, writer)
        return merge.run(keys, new_infos, lambda i: columns(layout, founds[i], boost))

    def _single_infos(
        self, founds: list[list[Any]], layout: str, boost: float, lengths: dict[int, int]
    ) -> list[bytes]:
        """Term infos of the terms found in one document (most terms), made in bulk; b"" for
        the others."""
        infos: list[bytes] = [b""] * len(founds)
        if not self.inline_limit:
            return infos
        size = 3 if layout == TRIPLES else 1
        single = [i for i, found in enumerate(founds) if len(found) == size]
        if not single:
            return infos
        one_docnums: Sequence[int]
        if layout == TRIPLES:
            one_docnums, one_weights, one_values = zip(*[founds[i] for i in single], strict=True)
            one_weights = tuple(map(float, one_weights))
        else:
            one_docnums = [founds[i][0] for i in single]
            one_weights = (boost,) * len(single)
            one_values = (b"" if layout == DOCNUMS else ONE_FREQUENCY,) * len(single)
        one_infos = single_infos(one_docnums, one_weights, one_values, lengths)
        for i, info in zip(single, one_infos, strict=True):
            infos[i] = info
        return infos
