"""A Whoosh segment writer for bulk indexing: same index, a fraction of the work.

Whoosh's SegmentWriter sends every posting through a sorting pool as a tuple, reads it back
at commit, looks up the document's field length per posting and writes each term through a
chain of method calls; its W3 codec writes a compressed block even for a term found in one
document (its `inlinelimit` path is broken: `set_inline` is misspelt). With syllable pairs
most terms are such terms. `BulkWriter` keeps the new documents' postings in memory per field
and term and writes the same W3 files at commit:

- the analysed fields of the four Vietnamese chains (search/analysis.py) are read once per
  text by `index_terms`; folded terms and syllable pairs are derived from that one pass;
- terms in at most `inline_limit` documents are stored inside the term table (W3's own
  inlined-postings format, read back by Whoosh as a ListMatcher), others in blocks of 128;
- a block is compressed only when its pickle is at least `compress_min` bytes (the codec
  records the compression per block).

The segment, codec and schema are plain Whoosh: readers need nothing from here. Anything the
fast path does not know (other fields, boosts, merged segments) goes through Whoosh's own
code; when a commit also merges old segments the whole segment is written the Whoosh way.
tests/test_bulkwrite.py compares the result with Whoosh's writer posting by posting.
"""

from __future__ import annotations

import gc
import multiprocessing
import traceback
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from itertools import accumulate, chain, repeat
from pickle import dumps
from struct import Struct
from typing import Any
from zlib import crc32

from whoosh.analysis import CompositeAnalyzer, IDTokenizer
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, _lenfield
from whoosh.fields import ID, TEXT
from whoosh.filedb import filetables
from whoosh.formats import Existence, Frequency, Positions
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from search.analysis import (
    BIGRAM_SEPARATOR,
    ExactAnalyzer,
    ExactBigramAnalyzer,
    FoldedAnalyzer,
    FoldedBigramAnalyzer,
    VietFoldFilter,
    index_terms,
)

INLINE_LIMIT = 8  # terms in at most this many documents keep their postings in the term table
COMPRESS_MIN = 256  # smaller block pickles are written uncompressed
BLOCK_LIMIT = 128  # postings per block, as W3Codec
COMPRESSION = 3  # zlib level, as W3Codec
# Whoosh pickles postings with protocol 2, where every bytes value (a posting's frequency or
# positions) becomes a call to _codecs.encode: 74 bytes for a one-posting term instead of 34,
# and ten times slower to write and to read. Whoosh reads any protocol.
PICKLE_PROTOCOL = 3

_TERMINFO = Struct("!BfIBBfII")  # W3TermInfo._struct
_NO_ID = 0xFFFFFFFF
# The four chains, and whether each makes syllable pairs (folding is read off the chain).
_CHAINS = (
    (ExactAnalyzer(), False),
    (FoldedAnalyzer(), False),
    (ExactBigramAnalyzer(), True),
    (FoldedBigramAnalyzer(), True),
)
_FREQ_BYTES = [pack_uint(n) for n in range(256)]


class _Text:
    """One text's analysis, shared by the fields that index it (title and its twins)."""

    __slots__ = ("terms", "positions", "_folded")

    def __init__(self, text: str) -> None:
        self.terms, self.positions = index_terms(text)
        self._folded: list[str] | None = None

    def folded(self, fold: Callable[[str], str], cache: dict[str, str]) -> list[str]:
        """The terms through `fold`; `cache` holds folds already made (fold's own cache)."""
        if self._folded is None:
            get = cache.get
            self._folded = [get(term) or fold(term) for term in self.terms]
        return self._folded


# How a field's postings are kept until commit: per term, a list of
#   TRIPLES      docnum, weight, value, docnum, weight, value, ...   (positions, other fields)
#   FREQUENCIES  docnums, each followed by -frequency when that is not 1  (Frequency fields)
#   DOCNUMS      docnums  (ID fields: weight = field boost, no value)
TRIPLES, FREQUENCIES, DOCNUMS = "triples", "frequencies", "docnums"


def _columns(
    layout: str, found: list[Any], boost: float
) -> tuple[list[int], list[float], list[bytes]]:
    """The document numbers, weights and values of one term's postings."""
    if layout == TRIPLES:
        return found[0::3], [float(w) for w in found[1::3]], found[2::3]
    if layout == DOCNUMS:
        return found, [boost] * len(found), [b""] * len(found)
    if found[-1] >= 0 and min(found) >= 0:  # every frequency 1
        return found, [boost] * len(found), [_FREQ_BYTES[1]] * len(found)
    ids: list[int] = []
    freqs: list[int] = []
    for n in found:
        if n >= 0:
            ids.append(n)
            freqs.append(1)
        else:
            freqs[-1] = -n
    return ids, [f * boost for f in freqs], [_freq_bytes(f) for f in freqs]


def _freq_bytes(freq: int) -> bytes:
    return _FREQ_BYTES[freq] if freq < 256 else pack_uint(freq)


class _FastField:
    """How to index one TEXT field whose analyzer is one of the four chains."""

    __slots__ = ("pairs", "positions", "boost", "fold", "fold_cache", "single", "layout")

    def __init__(self, pairs: bool, field: Any) -> None:
        self.pairs = pairs
        self.positions = type(field.format) is Positions
        self.layout = TRIPLES if self.positions else FREQUENCIES
        boost = float(field.format.field_boost)
        self.boost: float | None = None if boost == 1.0 else boost  # None: weight = freq
        fold_filters = [f for f in field.analyzer.items if isinstance(f, VietFoldFilter)]
        self.fold = fold_filters[0].fold if fold_filters else None
        self.fold_cache: dict[str, str] = fold_filters[0]._cache if fold_filters else {}
        self.single: dict[int, bytes] = {}  # encoded one-position lists, by position

    def add(self, text: _Text, docnum: int, postings: dict[Any, list[Any]]) -> int:
        """Add the postings of one document's text; returns the field length (token count).

        What Frequency.word_values and Positions.word_values make of the chain's tokens:
        weight = frequency x field boost, value = packed frequency or encoded positions.
        """
        terms = text.folded(self.fold, self.fold_cache) if self.fold else text.terms
        if self.pairs:
            terms = [a + BIGRAM_SEPARATOR + b for a, b in zip(terms, terms[1:], strict=False)]
        boost = self.boost
        get = postings.get
        if not self.positions:  # layout FREQUENCIES
            if len(set(terms)) == len(terms):  # every term once: most texts' pairs
                for term in terms:
                    found = get(term)
                    if found is None:
                        postings[term] = [docnum]
                    else:
                        found.append(docnum)
                return len(terms)
            for term, freq in Counter(terms).items():
                found = get(term)
                if found is None:
                    postings[term] = [docnum] if freq == 1 else [docnum, -freq]
                elif freq == 1:
                    found.append(docnum)
                else:
                    found += (docnum, -freq)
            return len(terms)
        positions = text.positions[: len(terms)]  # pairs: one fewer
        counts = Counter(terms)
        first = dict(zip(reversed(terms), reversed(positions), strict=True))
        lists: dict[str, list[int]] = {}
        if len(counts) < len(terms):  # some terms more than once: all their positions
            repeated = {term for term, count in counts.items() if count > 1}
            for term, pos in zip(terms, positions, strict=True):
                if term in repeated:
                    lists.setdefault(term, []).append(pos)
        single = self.single
        one = 1 if boost is None else boost
        for term, freq in counts.items():
            if freq == 1:
                pos = first[term]
                value = single.get(pos)
                if value is None:
                    value = single[pos] = _encode_positions([pos])
                weight = one
            else:
                value = _encode_positions(lists[term])
                weight = freq if boost is None else freq * boost
            found = get(term)
            if found is None:
                postings[term] = [docnum, weight, value]
            else:
                found += (docnum, weight, value)
        return len(terms)


class _IdField:
    """How to index an ID field with Whoosh's own analyzer: the value is the one term."""

    __slots__ = ("weight", "layout")

    def __init__(self, field: Any) -> None:
        self.weight = float(field.format.field_boost)
        self.layout = DOCNUMS

    def add(self, value: str, docnum: int, postings: dict[Any, list[Any]]) -> int:
        found = postings.get(value)  # layout DOCNUMS
        if found is None:
            postings[value] = [docnum]
        else:
            found.append(docnum)
        return 0


def _encode_positions(poslist: list[int]) -> bytes:
    """Positions.encode: the count, then the pickled position deltas."""
    deltas = [b - a for a, b in zip([0, *poslist], poslist, strict=False)]
    return pack_uint(len(deltas)) + dumps(deltas, 2)


def _fast_field(field: Any) -> _FastField | _IdField | None:
    if field.vector or field.separate_spelling():
        return None
    if type(field) is ID and type(field.analyzer) is IDTokenizer:
        return _IdField(field) if type(field.format) is Existence else None
    if type(field) is not TEXT or type(field.format) not in (Frequency, Positions):
        return None
    if not isinstance(field.analyzer, CompositeAnalyzer):
        return None
    for analyzer, pairs in _CHAINS:
        if field.analyzer == analyzer:
            return _FastField(pairs, field)
    return None


class BulkWriter(SegmentWriter):
    """SegmentWriter with in-memory postings for the documents it adds (see module doc)."""

    def __init__(
        self,
        ix: Any,
        inline_limit: int = INLINE_LIMIT,
        compress_min: int = COMPRESS_MIN,
        **kwargs: Any,
    ) -> None:
        super().__init__(ix, **kwargs)
        self._ix = ix
        self._options = {"inline_limit": inline_limit, "compress_min": compress_min, **kwargs}
        self._options.pop("timeout", None)
        self.inline_limit = inline_limit
        self.compress_min = compress_min
        self._helpers: list[tuple[Any, Any]] = []  # (process, pipe) of each forked helper
        # field name -> term (str for analysed fields, bytes otherwise) -> flat
        # [docnum, weight, value, docnum, weight, value, ...] in document order
        self._postings: dict[str, dict[Any, list[Any]]] = {}
        self._lengths: dict[str, dict[int, int]] = {}  # field name -> docnum -> length
        self._fast: dict[str, _FastField | _IdField | None] = {}
        self._plans: dict[tuple[str, ...], list[tuple[str, Any, Any, dict[Any, list[Any]]]]] = {}
        self._lengths_from = self.docnum  # documents from here on have unwritten lengths

    def _fast_for(self, fieldname: str) -> _FastField | _IdField | None:
        try:
            return self._fast[fieldname]
        except KeyError:
            fast = self._fast[fieldname] = _fast_field(self.schema[fieldname])
            return fast

    def _layout(self, fieldname: str) -> tuple[str, float]:
        """How the field's postings are kept, and the weight of one occurrence."""
        fast = self._fast_for(fieldname)
        if fast is None or (isinstance(fast, _FastField) and fast.positions):
            return TRIPLES, 1.0
        if isinstance(fast, _IdField):
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
                postings = self._postings.setdefault(name, {}) if field.indexed else {}
                plan.append((name, field, self._fast_for(name), postings))
            self._plans[names] = plan
        return plan

    def add_document(self, **fields: Any) -> None:
        if any(name.startswith("_") for name in fields):  # boosts, custom stored values
            self._write_lengths()  # Whoosh writes this document's lengths now: keep the order
            super().add_document(**fields)
            self._lengths_from = self.docnum
            return
        self._check_state()
        docnum = self.docnum
        perdocwriter = self.perdocwriter
        texts: dict[str, _Text] = {}
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
                    if isinstance(fast, _IdField):
                        fast.add(value, docnum, postings)
                    else:
                        text = texts.get(value)
                        if text is None:
                            text = texts[value] = _Text(value)
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

    def add_documents(
        self,
        docs: Sequence[dict[str, Any]],
        procs: int = 1,
        meanwhile: Callable[[], None] | None = None,
    ) -> None:
        """Add documents in order; with procs > 1, helpers forked from this process write
        all but the last share as segments of their own, committed with this writer's.
        `meanwhile` runs here once the helpers have started (the deletions of an upsert:
        they touch only the older segments).

        Forking passes the documents without pickling them; a helper sends back only its
        segment's description. A refused document raises DocumentFailed (here or at commit).
        """
        with _no_gc():
            shares = _shares(len(docs), procs)
            context = multiprocessing.get_context("fork")
            for start, end in shares[:-1]:
                receiver, sender = context.Pipe(duplex=False)
                helper = context.Process(
                    target=self._helper, args=(docs, start, end, sender), daemon=True
                )
                helper.start()
                sender.close()
                self._helpers.append((helper, receiver))
            if meanwhile is not None:
                meanwhile()
            start, end = shares[-1]
            for number in range(start, end):
                try:
                    self.add_document(**docs[number])
                except Exception as error:
                    raise DocumentFailed(number) from error

    def _helper(self, docs: Sequence[dict[str, Any]], start: int, end: int, pipe: Any) -> None:
        """In a forked helper: write docs[start:end] as a new segment, send it back."""
        try:
            writer = BulkWriter(self._ix, _lk=False, **self._options)
            for number in range(start, end):
                try:
                    writer.add_document(**docs[number])
                except Exception as error:
                    pipe.send(("document", number, f"{type(error).__name__}: {error}"))
                    return
            pipe.send(("segment", writer._finalize_segment()))
        except BaseException:
            pipe.send(("error", traceback.format_exc()))
        finally:
            pipe.close()

    def _helper_segments(self) -> list[Any]:
        """Wait for the helpers; their segments in document order."""
        segments = []
        try:
            for helper, pipe in self._helpers:
                try:
                    message = pipe.recv()
                except EOFError:
                    helper.join()
                    message = ("error", f"it died (exit code {helper.exitcode})")
                if message[0] == "document":
                    raise DocumentFailed(message[1]) from RuntimeError(message[2])
                if message[0] == "error":
                    raise RuntimeError(f"an indexing helper failed: {message[1]}")
                segments.append(message[1])
        except BaseException:
            self._stop_helpers(kill=True)
            raise
        self._stop_helpers(kill=False)
        return segments

    def _stop_helpers(self, kill: bool) -> None:
        for helper, pipe in self._helpers:
            if kill:
                helper.kill()
            helper.join()
            pipe.close()
        self._helpers = []

    def commit(self, mergetype: Any = None, optimize: Any = None, merge: Any = None) -> None:
        with _no_gc():
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
        """Drop a failed document's postings (Whoosh itself leaves them: pitfall I-01)."""
        for fieldname, postings in self._postings.items():
            layout, _ = self._layout(fieldname)
            for term in list(postings):
                found = postings[term]
                if layout == TRIPLES:
                    if found[-3] == docnum:
                        del found[-3:]
                else:
                    if found[-1] < 0 and found[-2] == docnum:
                        del found[-1]
                    if found[-1] == docnum:
                        del found[-1]
                if not found:
                    del postings[term]
        for lengths in self._lengths.values():
            lengths.pop(docnum, None)

    def add_reader(self, reader: Any) -> None:
        """Merging a segment: Whoosh writes its documents' lengths at once, so ours go first."""
        self._write_lengths()
        super().add_reader(reader)
        self._lengths_from = self.docnum

    def _write_lengths(self) -> None:
        """Write the field length columns of the documents added since the last call: what
        W3PerDocWriter.add_field does per document and field, a column at a time."""
        perdocwriter = self.perdocwriter
        start, self._lengths_from = self._lengths_from, self.docnum
        lbyte = _length_bytes()
        for fieldname, lengths in self._lengths.items():
            docnums = sorted(d for d in lengths if d >= start)
            if not docnums:
                continue
            lenfield = _lenfield(fieldname)
            if not perdocwriter._has_column(lenfield):
                perdocwriter._create_column(lenfield, LENGTHS_COLUMN)
            column = perdocwriter._get_column(lenfield)
            if column._fixedlen == 1 and column._defaultbytes == b"\x00":
                first, last = docnums[0], docnums[-1]
                if first > column._count:
                    column.fill(first)
                row = bytearray(last + 1 - first)  # zero: no length, the column's default
                for docnum in docnums:
                    length = lengths[docnum]
                    row[docnum - first] = lbyte[length] if length < len(lbyte) else 255
                column._dbfile.write(bytes(row))
                column._count = last + 1
            else:
                for docnum in docnums:
                    column.add(docnum, length_to_byte(lengths[docnum]))
            perdocwriter._fieldlengths[fieldname] += sum(map(lengths.__getitem__, docnums))

    def _flush_segment(self) -> None:
        self._write_lengths()
        if self.pool.current or self.pool.runs:
            # Postings from merged segments or boosted documents are in Whoosh's pool: add
            # ours and let Whoosh sort and write everything.
            self._postings_to_pool()
            super()._flush_segment()
            return
        self.perdocwriter.close()
        self._write_postings()
        self.fieldwriter.close()

    def _postings_to_pool(self) -> None:
        add = self.pool.add
        for fieldname, postings in self._postings.items():
            layout, boost = self._layout(fieldname)
            for term, found in postings.items():
                tbytes = term if isinstance(term, bytes) else term.encode("utf-8")
                ids, weights, values = _columns(layout, found, boost)
                for docnum, weight, value in zip(ids, weights, values, strict=True):
                    add((fieldname, tbytes, docnum, weight, value))
        self._postings.clear()

    def _write_postings(self) -> None:
        fieldwriter = self.fieldwriter
        schema = self.schema
        postfile = fieldwriter._postfile
        table = _TermTable(fieldwriter._tindex)
        inline_limit = self.inline_limit
        for fieldname in sorted(self._postings):
            postings = self._postings.pop(fieldname)
            if not postings:
                continue
            fieldobj = schema[fieldname]
            fieldwriter.start_field(fieldname, fieldobj)
            prefix = pack_ushort(fieldwriter._fieldid)
            fixedsize = fieldobj.format.fixed_value_size()
            lengths = self._lengths.get(fieldname, {})
            terms = sorted(postings)
            founds = list(map(postings.__getitem__, terms))
            del postings
            layout, boost = self._layout(fieldname)
            infos: list[bytes] = [b""] * len(terms)
            if inline_limit:  # terms of one document, most of them: in bulk
                size = 3 if layout == TRIPLES else 1
                single = [i for i, found in enumerate(founds) if len(found) == size]
                if single:
                    one_docnums: Sequence[int]
                    if layout == TRIPLES:
                        one_docnums, one_weights, one_values = zip(
                            *[founds[i] for i in single], strict=True
                        )
                        one_weights = tuple(map(float, one_weights))
                    else:
                        one_docnums = [founds[i][0] for i in single]
                        one_weights = (boost,) * len(single)
                        value = b"" if layout == DOCNUMS else _FREQ_BYTES[1]
                        one_values = (value,) * len(single)
                    single_infos = _single_infos(one_docnums, one_weights, one_values, lengths)
                    for i, info in zip(single, single_infos, strict=True):
                        infos[i] = info
            for i, found in enumerate(founds):
                if infos[i]:
                    continue
                ids, weights, values = _columns(layout, found, boost)
                lens = list(map(lengths.get, ids, repeat(0)))
                if len(ids) <= inline_limit:
                    # One value per posting, b"" for value-less formats (_columns): Whoosh's
                    # ListMatcher gives "" for a missing value, which its merging pool refuses.
                    infos[i] = _terminfo(True, ids, weights, lens) + dumps(
                        (tuple(ids), tuple(weights), tuple(values)), PICKLE_PROTOCOL
                    )
                else:
                    values = [v for v in values if v]
                    offset = postfile.tell()
                    self._write_blocks(postfile, ids, weights, values, lens, fixedsize)
                    infos[i] = _terminfo(False, ids, weights, lens)
                    infos[i] += pack_long(offset) + pack_int(postfile.tell() - offset)
            if terms and isinstance(terms[0], bytes):
                keys = [prefix + term for term in terms]
            else:
                keys = [prefix + term.encode("utf-8") for term in terms]
            table.add_sorted(keys, infos)
            fieldwriter.finish_field()
        self._lengths.clear()

    def _write_blocks(
        self,
        postfile: Any,
        ids: list[int],
        weights: list[float],
        values: list[bytes],
        lens: list[int],
        fixedsize: int | None,
    ) -> None:
        """W3PostingsWriter._write_block for each run of BLOCK_LIMIT postings."""
        postfile.write(WHOOSH3_HEADER_MAGIC)
        count = len(ids)
        for start in range(0, count, BLOCK_LIMIT):
            end = min(start + BLOCK_LIMIT, count)
            block_ids = ids[start:end]
            block_weights = weights[start:end]
            block_values = values[start:end]
            block_lens = [n for n in lens[start:end] if n]
            first = block_weights[0]
            if all(w == first for w in block_weights):
                mini_weights: Any = None if first == 1.0 else first
            else:
                mini_weights = tuple(block_weights)
            if fixedsize is None or fixedsize < 0:
                mini_values: Any = tuple(block_values)
            elif fixedsize == 0:
                mini_values = None
            else:
                mini_values = b"".join(block_values)
            deltas = [b - a for a, b in zip([0, *block_ids], block_ids, strict=False)]
            databytes = dumps((tuple(deltas), mini_weights, mini_values), PICKLE_PROTOCOL)
            comp = COMPRESSION if len(databytes) >= self.compress_min else 0
            if comp:
                databytes = zlib.compress(databytes, comp)
            infobytes = dumps(
                (
                    end - start,
                    block_ids[-1],
                    max(block_weights),
                    comp,
                    length_to_byte(min(block_lens) if block_lens else None),
                    length_to_byte(max(block_lens, default=0)),
                ),
                PICKLE_PROTOCOL,
            )
            blocklength = len(infobytes) + len(databytes)
            postfile.write_int(-blocklength if end == count else blocklength)
            postfile.write(infobytes)
            postfile.write(databytes)


class _TermTable:
    """Appends to a W3 term table (whoosh.filedb.filetables.OrderedHashWriter) a field at a
    time: one write instead of three per term, positions counted instead of asked for, and the
    closing hash tables written in one piece. Same bytes as OrderedHashWriter.add."""

    def __init__(self, tindex: Any) -> None:
        self.tindex = tindex
        tindex._write_hashes = self._write_hashes
        # Hash the keys with CRC-32 instead of MD5 (HashWriter's hashtype 1, which readers take
        # from the header): nothing has been added yet, so the header's hash type byte is
        # rewritten in place.
        dbfile = tindex.dbfile
        if not tindex.buckets[0] and tindex.hashtype == 0 and not tindex.index.array:
            end = dbfile.tell()
            dbfile.seek(tindex.startoffset + 4)
            dbfile.write_byte(1)
            dbfile.seek(end)
            tindex.hashtype = 1
            tindex.hashfn = filetables.crc_hash

    def add_sorted(self, keys: list[bytes], values: list[bytes]) -> None:
        if not keys:
            return
        tindex = self.tindex
        if keys[0] <= tindex.lastkey:
            raise ValueError(f"Keys must increase: {tindex.lastkey!r}..{keys[0]!r}")
        dbfile = tindex.dbfile
        key_sizes = list(map(len, keys))
        value_sizes = list(map(len, values))
        heads = list(map(filetables._lengths.pack, key_sizes, value_sizes))
        dbfile_start = dbfile.tell()
        positions = list(
            accumulate(map(sum, zip(repeat(8), key_sizes, value_sizes)), initial=dbfile_start)
        )
        positions.pop()
        dbfile.write(b"".join(chain.from_iterable(zip(heads, keys, values, strict=True))))
        buckets = tindex.buckets
        if tindex.hashtype == 1:
            hashes = list(map(crc32, keys))  # crc_hash: crc32 is unsigned in Python 3
        else:
            hashes = list(map(tindex.hashfn, keys))
        for h, pos in zip(hashes, positions, strict=True):
            buckets[h & 255].append((h, pos))
        index = tindex.index  # a GrowableArray: widen it first, as its append would
        if isinstance(index.array, array) and positions[-1] >= _ARRAY_LIMITS[index.array.typecode]:
            index._retype(positions[-1])
        index.array.extend(positions)
        tindex.lastkey = keys[-1]

    def _write_hashes(self) -> None:
        """HashWriter._write_hashes, one write per bucket."""
        tindex = self.tindex
        dbfile = tindex.dbfile
        pointer = filetables._pointer.pack
        for entries in tindex.buckets:
            numslots = 2 * len(entries)
            tindex.directory.append((dbfile.tell(), numslots))
            table: list[tuple[int, int]] = [(0, 0)] * numslots
            for hashval, position in entries:
                slot = (hashval >> 8) % numslots
                while table[slot] != (0, 0):
                    slot = (slot + 1) % numslots
                table[slot] = (hashval, position)
            dbfile.write(b"".join([pointer(h, p) for h, p in table]))


_ARRAY_LIMITS = {"H": 2**16, "i": 2**31, "I": 2**32, "q": 2**63}


def _single_infos(
    docnums: Sequence[int],
    weights: Sequence[float],
    values: Sequence[bytes],
    lengths: dict[int, int],
) -> list[bytes]:
    """Term infos with the inlined posting of terms found in one document each."""
    lbyte = _length_bytes()
    most = len(lbyte)
    lbs = [lbyte[n] if n < most else 255 for n in map(lengths.get, docnums, repeat(0))]
    pack = _TERMINFO.pack
    heads = map(pack, repeat(True), weights, repeat(1), lbs, lbs, weights, docnums, docnums)
    postings = zip(zip(docnums), zip(weights), [(v or b"",) for v in values], strict=True)
    return list(map(bytes.__add__, heads, map(dumps, postings, repeat(PICKLE_PROTOCOL))))


@lru_cache(maxsize=1)
def _length_bytes() -> list[int]:
    """length_to_byte for every length up to the largest one it tells apart."""
    return [length_to_byte(n) for n in range(106_375)]


@contextmanager
def _no_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: the postings are millions of young lists, which
    the collector would scan over and over (10% of the indexing time) to find no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class DocumentFailed(Exception):
    """BulkWriter.add_documents: Whoosh refused docs[index]; the cause says why."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def _shares(count: int, procs: int) -> list[tuple[int, int]]:
    """(start, end) of each process's share of count documents, in order."""
    procs = max(1, min(procs, count))
    size = -(-count // procs)
    return [(start, min(start + size, count)) for start in range(0, count, size)] or [(0, 0)]


def _terminfo(inlined: bool, ids: list[int], weights: list[float], lens: list[int]) -> bytes:
    """W3TermInfo.to_bytes without the postings pointer or the inlined postings."""
    lbyte = _length_bytes()
    shortest = min(lens)
    if not shortest:
        shortest = min([n for n in lens if n], default=0)
    longest = max(lens)
    return _TERMINFO.pack(
        inlined,
        sum(weights),
        len(ids),
        lbyte[shortest] if shortest < len(lbyte) else 255,
        lbyte[longest] if longest < len(lbyte) else 255,
        max(weights),
        ids[0] if ids else _NO_ID,
        ids[-1] if ids else _NO_ID,
    )
