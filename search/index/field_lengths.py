"""The field length columns of a BulkWriter's segment, written a column at a time.

Whoosh's W3PerDocWriter writes a document's length in each field as it adds the document, a
method call per document and field. BulkWriter keeps the lengths of the documents it adds,
and of those it merges in, and writes each field's column a row of documents at a time; it
keeps the length bytes too, for the term infos' minimum and maximum lengths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

from search.index.w3_codec import length_byte


class FieldLengths:
    """BulkWriter's length columns (a mixin: the attributes are BulkWriter's)."""

    if TYPE_CHECKING:
        docnum: int
        perdocwriter: Any
        _lengths: dict[str, dict[int, int]]  # field name -> docnum -> length, not yet written
        _length_bytes: dict[str, bytearray]  # field name -> length byte of each written one
        _lengths_from: int  # documents from here on have unwritten lengths

    def _write_lengths(self) -> None:
        """Write the field length columns of the documents added since the last call: what
        W3PerDocWriter.add_field does per document and field, a column at a time."""
        start, end = self._lengths_from, self.docnum
        self._lengths_from = end
        for fieldname, lengths in self._lengths.items():
            docnums = [d for d in lengths if d >= start]
            if not docnums:
                continue
            row = bytearray(end - start)  # zero: no length, the column's default
            for docnum in docnums:
                row[docnum - start] = length_byte(lengths[docnum])
            self._add_length_row(fieldname, start, row, sum(map(lengths.__getitem__, docnums)))

    def _add_length_row(
        self, fieldname: str, first: int, row: bytes | bytearray, total: int
    ) -> None:
        """Write the length bytes of documents first, first + 1, ... (0: no length) to the
        field's length column, keep them for the term infos and add `total` to the field's
        total length."""
        perdocwriter = self.perdocwriter
        kept = self._length_bytes.setdefault(fieldname, bytearray())
        kept.extend(bytes(first - len(kept)))
        kept[first:] = row
        nonzero = [i for i, b in enumerate(row) if b]
        if not nonzero:
            return
        lenfield = _lenfield(fieldname)
        if not perdocwriter._has_column(lenfield):
            perdocwriter._create_column(lenfield, LENGTHS_COLUMN)
        column = perdocwriter._get_column(lenfield)
        start, stop = first + nonzero[0], first + nonzero[-1] + 1
        if column._fixedlen == 1 and column._defaultbytes == b"\x00":
            if start > column._count:
                column.fill(start)
            column._dbfile.write(bytes(row[start - first : stop - first]))
            column._count = stop
        else:
            for at in nonzero:
                column.add(first + at, row[at])
        perdocwriter._fieldlengths[fieldname] += total

    def _length_table(self, fieldname: str) -> bytearray:
        """The field's length byte by document number, for every document of the segment."""
        table = self._length_bytes.setdefault(fieldname, bytearray())
        table.extend(bytes(self.docnum - len(table)))
        return table
