"""A merged segment's per-document columns copied into the new segment.

Whoosh copies a column value by value through its reader and writer, a few method calls
each: at an archive's million documents, seconds of the final merge on one core. A column of
variable-length bytes (the stored fields' compressed pickles, the facet fields' values) of a
segment without deletions is instead appended in one piece: its data as one run of bytes,
its lengths and offsets as arrays. The writer then holds exactly what adding the values one
at a time would have given it (tests/test_column_copy.py compares the bytes written).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from itertools import count
from typing import Any

import numpy as np
from whoosh.columns import VarBytesColumn

from search.index.w3_codec import widen

COPY_PIECE = 4 << 20  # bytes of column data read and written at a time


def kept_values(
    values: Iterable[Any], base: int, docmap: list[int] | None
) -> Iterator[tuple[int, Any]]:
    """(new document number, value) of the kept documents, from one value per old one:
    numbered from `base` on, or by `docmap` (-1 for a deleted document)."""
    if docmap is None:
        return zip(count(base), values)
    return ((new, v) for new, v in zip(docmap, values, strict=True) if new >= 0)


def copy_var_bytes(writer: Any, reader: Any, base: int, docmap: list[int] | None) -> None:
    """Add a variable-bytes column's values (a VarBytesColumn reader's) to its writer: in
    one piece without deletions, else value by value, the empty ones left to the writer's
    filling (as Whoosh's reader gives b"" for a document without a value)."""
    if docmap is not None:
        for new, value in kept_values(VarBytesColumn.Reader.__iter__(reader), base, docmap):
            if value:
                VarBytesColumn.Writer.add(writer, new, value)
        return
    lengths = np.asarray(reader._lengths, dtype=np.int64)
    if not lengths.any():
        return
    writer.fill(base)
    total = int(lengths.sum())
    source, start = reader._dbfile, reader._basepos
    for offset in range(0, total, COPY_PIECE):
        writer._dbfile.write(source.get(start + offset, min(COPY_PIECE, total - offset)))
    _extend(writer._lengths, lengths)
    _extend(writer._offsets, writer._offset_base + np.cumsum(lengths) - lengths)
    writer._offset_base += total
    writer._count = base + len(lengths)


def _extend(grown: Any, values: Any) -> None:
    """GrowableArray.extend (which widens the array for a number that does not fit), in one
    piece instead of an append per number."""
    widen(grown, int(values.max()))
    if isinstance(grown.array, array):
        grown.array.frombytes(values.astype(np.dtype(grown.array.typecode)).tobytes())
    else:
        grown.array.extend(values.tolist())
