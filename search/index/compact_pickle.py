"""Posting data pickled in fewer bytes, unpickled by any reader (Whoosh's own) to equal values.

W3 keeps posting blocks, inlined postings and Positions values as pickles. Pickle spends
bytes a posting list does not need:

- memo entries: pickle remembers each tuple and bytes it writes (2 to 5 bytes each) so that
  an object met twice is written once; posting data never holds the same object twice;
- floats: a weight is a term's frequency in the document times the field's boost (1 in this
  schema), 9 bytes as a float where the same whole number pickles as an int in 2 to 5, and
  compares and computes the same (BM25F reads it as a number);
- a Positions value's protocol header, memo and stop byte (Whoosh's decoder puts the stop
  back), and its list: deltas below 256 pickle as one bytes object, which iterates to the
  same numbers, one byte each instead of two.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from io import BytesIO
from pickle import Pickler
from typing import Any

from whoosh.system import pack_uint

# Whoosh pickles postings with protocol 2, where every bytes value (a posting's frequency or
# positions) becomes a call to _codecs.encode: 74 bytes for a one-posting term instead of 34,
# and ten times slower to write and to read. Whoosh reads any protocol.
PROTOCOL = 3


class CompactPickler:
    """pickle.dumps(obj, PROTOCOL) without memo entries (Pickler.fast), one Pickler reused:
    as fast as dumps. For data without cycles or shared objects, as posting data is."""

    def __init__(self) -> None:
        self._buffer = BytesIO()
        self._pickler = Pickler(self._buffer, PROTOCOL)
        self._pickler.fast = True

    def dumps(self, obj: Any) -> bytes:
        buffer = self._buffer
        buffer.seek(0)
        buffer.truncate()
        self._pickler.dump(obj)
        return buffer.getvalue()


def whole_weights(weights: Sequence[float]) -> tuple[float, ...]:
    """The weights as ints when every one is a whole number (equal to the floats), else as
    they are. Checked in C loops: a build passes millions of blocks through here."""
    weights = tuple(weights)
    try:
        array("q", weights)  # refuses a float
        return weights  # ints already
    except TypeError:
        pass
    try:
        if all(map(float.is_integer, weights)):  # refuses an int
            return tuple(map(int, weights))
        return weights
    except TypeError:  # ints and floats mixed
        whole = tuple(map(int, weights))
        return whole if whole == weights else weights


def whole_weight(weight: float) -> float:
    """A weight as an int when it is a whole number."""
    whole = int(weight)
    return whole if whole == weight else weight


def positions_value(deltas: Sequence[int]) -> bytes:
    """The Positions format's value of a posting whose position deltas are `deltas` (the first
    from 0), as Positions.decode_positions reads it: the count, then a pickle of the deltas
    without its stop byte. One bytes object when they fit a byte each and are fewer than 256,
    else a list of ints. An empty `deltas` is no posting."""
    count = len(deltas)
    if count < 256 and max(deltas) < 256:
        value = pack_uint(count) + b"C" + bytes((count,)) + bytes(deltas)
        # the decoder adds the stop byte unless the value ends with one: a last delta of 46
        return value + b"." if value.endswith(b".") else value
    ops = b"".join(map(int_op, deltas))
    return pack_uint(count) + (b"](" + ops + b"e" if count > 1 else b"]" + ops + b"a")


def int_op(value: int) -> bytes:
    """How pickle writes a non-negative int below 2**31."""
    if value < 256:
        return b"K" + value.to_bytes(1, "little")
    if value < 65536:
        return b"M" + value.to_bytes(2, "little")
    return b"J" + value.to_bytes(4, "little")
