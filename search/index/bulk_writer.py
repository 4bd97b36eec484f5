"""A Whoosh segment writer for bulk indexing: same index, a fraction of the work.

Whoosh's SegmentWriter sends every posting through a sorting pool as a tuple, reads it back
at commit, looks up the document's field length per posting and writes each term through a
chain of method calls; its W3 codec writes a compressed block even for a term found in one
document (its `inlinelimit` path is broken: `set_inline` is misspelt). With syllable pairs
most terms are such terms. `BulkWriter` analyses each text once (search/index/bulk_fields.py,
with the importer's TermMemo), keeps the word and pair fields' tokens in arrays grouped with
numpy at commit (search/index/bulk_arrays.py, pair_columns.py), other fields' postings in dicts
of lists, and writes the same W3 files at commit (search/index/w3_codec.py, laid out with numpy
by inlined_postings.py and block_postings.py: few-document terms inlined in the term table,
small blocks left uncompressed, big ones compressed so that a merge can renumber them in
place: search/index/block_zlib.py).

A commit that merges old segments (merge_tiers, or optimize) streams them in without Whoosh's
pool (search/index/merge.py), a forked helper writing half the fields when there is a core
for it.

The segment, codec and schema are plain Whoosh: readers need nothing from here. Anything the
fast path does not know (other fields, boosts) goes through Whoosh's own code, and then the
whole segment is written the Whoosh way. tests/test_bulkwrite.py and tests/test_merge.py
compare the results with Whoosh's writer posting by posting.
"""

from __future__ import annotations

from typing import Any

from whoosh.index import LockError
from whoosh.writing import SegmentWriter

from search.analysis.chains import TermMemo
from search.index.bulk_arrays import FieldPostings, TermIds, TokenColumns
from search.index.bulk_fields import (
    DOCNUMS,
    FREQUENCIES,
    TRIPLES,
    FastField,
    IdField,
    Text,
    columns,
    fast_field,
    forget_document,
)
from search.index.bulk_postings import PostingsWriter
from search.index.field_lengths import FieldLengths
from search.index.helper_processes import ForkedHelpers, no_gc
from search.index.merge import MergedSegment, can_merge_fast, merge_tiers
from search.index.w3_codec import (
    BLOCK_LIMIT,
    COMPRESS_MIN,
    COMPRESSION,
    INLINE_LIMIT,
)


class BulkWriter(ForkedHelpers, PostingsWriter, FieldLengths, SegmentWriter):
    """SegmentWriter with in-memory postings for the documents it adds (see module doc)."""

    def __init__(
        self,
        ix: Any,
        inline_limit: int = INLINE_LIMIT,
        compress_min: int = COMPRESS_MIN,
        block_limit: int = BLOCK_LIMIT,
        merge_procs: int = 2,
        **kwargs: Any,
    ) -> None:
        try:
            super().__init__(ix, **kwargs)
        except LockError:
            raise
        except BaseException:
            self._abandon_init()
            raise
        self._ix = ix
        # stored fields at the posting blocks' zlib level, not W3's 3: a few per cent smaller
        # (readers decompress any level; merges copy the compressed bytes as they are)
        self.perdocwriter._get_column("_stored")._child._level = COMPRESSION
        self._options = {
            "inline_limit": inline_limit,
            "compress_min": compress_min,
            "block_limit": block_limit,
            **kwargs,
        }
        self.merge_procs = merge_procs  # processes that write a merged segment's postings
        self._options.pop("timeout", None)
        self.inline_limit = inline_limit
        self.block_limit = block_limit
        self.compress_min = compress_min
        self._helpers: list[tuple[Any, Any]] = []  # (process, pipe) of each forked helper
        # field name -> term (str for analysed fields, bytes otherwise) -> flat
        # [docnum, weight, value, docnum, weight, value, ...] in document order
        self._postings: dict[str, dict[Any, list[Any]]] = {}
        self._lengths: dict[str, dict[int, int]] = {}  # field name -> docnum -> length
        # field name -> length byte (length_to_byte) of each document whose lengths are written
        self._length_bytes: dict[str, bytearray] = {}
        self._fast: dict[str, FastField | IdField | None] = {}
        self._plans: dict[tuple[str, ...], list[tuple[str, Any, Any, dict[Any, list[Any]]]]] = {}
        self._lengths_from = self.docnum  # documents from here on have unwritten lengths
        self._merged: list[MergedSegment] = []  # old segments merged without the pool
        self.term_memo = TermMemo()  # an importer hands on its own, kept across batches
        self._vocabulary = TermIds()  # the word fields' terms, numbered (bulk_arrays)

    def _abandon_init(self) -> None:
        """Undo a SegmentWriter.__init__ that failed after taking the index lock (creating its
        first files on a full disk, say): Whoosh keeps the lock then, and this process would
        block every later writer."""
        tempstorage = getattr(self, "_tempstorage", None)
        if tempstorage is not None:
            try:
                tempstorage.destroy()
            except OSError:
                pass  # nothing to clean, or the disk refuses: the lock matters more
        lock = getattr(self, "writelock", None)
        if lock is not None:
            lock.release()

    def _fast_for(self, fieldname: str) -> FastField | IdField | None:
        try:
            return self._fast[fieldname]
        except KeyError:
            fast = self._fast[fieldname] = fast_field(self.schema[fieldname])
            return fast

    def _layout(self, fieldname: str) -> tuple[str, float]:
        """How the field's postings are kept, and the weight of one occurrence."""
        fast = self._fast_for(fieldname)
        if fast is None or (isinstance(fast, FastField) and fast.positions):
            return TRIPLES, 1.0
        if isinstance(fast, IdField):
            return DOCNUMS, fast.weight
        return FREQUENCIES, 1.0 if fast.boost is None else fast.boost

    def _plan(self, names: tuple[str, ...]) -> list[tuple[str, Any, Any, dict[Any, list[Any]]]]:
        """(name, field, fast path or None, postings) per field of a document with these field
        names, in Whoosh's order; documents of one batch nearly all have the same names."""
        plan = self._plans.get(names)
        if plan is None:
            fieldnames = sorted(names)
            self._check_fields(self.schema, fieldnames)
            plan = []
            for name in fieldnames:
                field = self.schema[name]
                fast = self._fast_for(name)
                postings = self._postings.get(name) if field.indexed else {}
                if postings is None:
                    postings = self._postings[name] = self._new_postings(fast)
                plan.append((name, field, fast, postings))
            self._plans[names] = plan
        return plan

    def _new_postings(self, fast: FastField | IdField | None) -> Any:
        """Where a field's new postings are kept: a text field's tokens in arrays
        (search.index.bulk_arrays, search.index.pair_columns), other fields' postings in a
        dict of lists per term."""
        if isinstance(fast, FastField):
            return fast.columns(self._vocabulary)
        return {}

    def add_document(self, **fields: Any) -> None:
        if any(name.startswith("_") for name in fields):  # boosts, custom stored values
            self._write_lengths()  # Whoosh writes this document's lengths now: keep the order
            super().add_document(**fields)
            self._lengths_from = self.docnum
            return
        self._check_state()
        docnum = self.docnum
        perdocwriter = self.perdocwriter
        texts: dict[str, Text] = {}
        perdocwriter.start_doc(docnum)
        stored = perdocwriter._storedfields  # what add_field would fill; lengths: _write_lengths
        try:
            for fieldname, field, fast, postings in self._plan(tuple(fields)):
                value = fields[fieldname]
                if value is None:
                    continue
                length = 0
                if fast is not None:
                    if not isinstance(value, str):
                        raise ValueError(f"{value!r} is not unicode")  # as the analyzers would
                    if isinstance(fast, IdField):
                        fast.add(value, docnum, postings)
                    else:
                        text = texts.get(value)
                        if text is None:
                            text = texts[value] = Text(value, self.term_memo, self._vocabulary)
                        length = fast.add(text, docnum, postings)
                elif field.indexed:
                    if field.separate_spelling() or field.vector:
                        raise NotImplementedError(f"{fieldname}: spelling or vectors")
                    for term, freq, weight, vbytes in field.index(value):
                        found = postings.get(term)
                        if found is None:
                            postings[term] = [docnum, weight, vbytes]
                        else:
                            found += (docnum, weight, vbytes)
                        if field.scorable:
                            length += freq
                if length:
                    lengths = self._lengths.get(fieldname)
                    if lengths is None:
                        lengths = self._lengths[fieldname] = {}
                    lengths[docnum] = length
                if field.stored:
                    stored[fieldname] = value
                column = field.column_type
                if column:
                    perdocwriter.add_column_value(fieldname, column, field.to_column_value(value))
        except Exception:
            perdocwriter.cancel_doc()
            self._forget(docnum)
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def commit(self, mergetype: Any = None, optimize: Any = None, merge: Any = None) -> None:
        with no_gc():
            self._commit(mergetype, optimize, merge)

    def _commit(self, mergetype: Any, optimize: Any, merge: Any) -> None:
        if not self._helpers:
            super().commit(mergetype, optimize, merge)
            return
        self._check_state()
        segments = self._merge_segments(mergetype, optimize, merge)
        own = self._finalize_segment() if self._added else None
        if own is None:
            self._close_segment()
        segments += self._helper_segments()  # before our own: documents stay in order
        if own is not None:
            segments.append(own)
        self._commit_toc(segments)
        self._finish()

    def cancel(self) -> None:
        self._stop_helpers(kill=True)
        super().cancel()

    def _forget(self, docnum: int) -> None:
        """Drop a failed document's postings (Whoosh itself leaves them in the batch)."""
        for fieldname, postings in self._postings.items():
            forget_document(postings, self._layout(fieldname)[0], docnum)
        for lengths in self._lengths.values():
            lengths.pop(docnum, None)

    def add_reader(self, reader: Any) -> None:
        """Merge an old segment into this one (search.index.merge); Whoosh's way, through its
        pool, only for what ours does not know. Either way the documents' lengths are
        written after the ones added before."""
        self._write_lengths()
        if self.pool.current or self.pool.runs or not can_merge_fast(reader, self.schema):
            super().add_reader(reader)
            self._lengths_from = self.docnum
            return
        self._check_state()
        merged = MergedSegment(reader, self.docnum, self.storage)
        merged.copy_documents(reader, self.perdocwriter)
        for fieldname, row, total in merged.length_rows(reader):
            self._add_length_row(fieldname, self.docnum, row, total)
        self.docnum += merged.kept
        self._lengths_from = self.docnum
        self._merged.append(merged)
        self._added = True

    def _merge_segments(self, mergetype: Any, optimize: Any, merge: Any) -> list[Any]:
        """Whoosh's choice of merges, with merge_tiers in place of MERGE_SMALL."""
        default = (
            (mergetype if mergetype is not None else self.mergetype) is None
            and not (optimize if optimize is not None else self.optimize)
            and (merge if merge is not None else self.merge)
        )
        return super()._merge_segments(merge_tiers if default else mergetype, optimize, merge)

    def _flush_segment(self) -> None:
        self._write_lengths()
        if self.pool.current or self.pool.runs:
            # Postings from segments only Whoosh can merge or from boosted documents are in
            # Whoosh's pool: add ours and let Whoosh sort and write everything.
            self._postings_to_pool()
            for merged in self._merged:
                merged.postings_to_pool(self.pool.add)
            super()._flush_segment()
            return
        self.perdocwriter.close()
        self._write_postings()
        self._lengths.clear()
        self._length_bytes.clear()
        self.fieldwriter.close()

    def _postings_to_pool(self) -> None:
        add = self.pool.add
        for fieldname, postings in self._postings.items():
            layout, boost = self._layout(fieldname)
            if isinstance(postings, TokenColumns):
                entries: Any = FieldPostings(postings, self.term_memo).items()
            else:
                entries = ((t, columns(layout, found, boost)) for t, found in postings.items())
            for term, (ids, weights, values) in entries:
                tbytes = term if isinstance(term, bytes) else term.encode("utf-8")
                for docnum, weight, value in zip(ids, weights, values, strict=True):
                    add((fieldname, tbytes, docnum, weight, value))
        self._postings.clear()
