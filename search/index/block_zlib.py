"""Compressed posting blocks that a merge can renumber without decompressing them.

A W3 block's data is the pickle of (document number deltas, weights, values), zlib-compressed
when big enough; its first delta is the block's first document number, which a merge moves
up by the number of documents before the segment. `compressed_block` writes the same pickle
as one zlib stream in two deflate blocks: a stored (uncompressed) one holding the pickle up to
its first delta, after a harmless `J <length> 0` (push the uncompressed length of the rest,
pop it), then the rest deflated. `renumbered_block` rewrites only the stored block and the
stream's Adler-32 checksum, worked out from the old one (zlib's adler32_combine, solved for
the rest's checksum). Any zlib reader decompresses either to the same pickle; a block laid out
otherwise (Whoosh's) gives None, to be decompressed and compressed again.
"""

from __future__ import annotations

import zlib
from struct import Struct

from search.index.compact_pickle import int_op

_ZLIB_HEADER = b"\x78\x5e"  # deflate, 32K window, a header check that holds
_STORED = Struct("<BHH")  # a stored deflate block's header: not final, its length, ~length
_REST = Struct("<i")  # the uncompressed length of the rest, in the J opcode
_ADLER = Struct(">I")
_PREFIX = b"\x80\x03J"  # pickle protocol 3, then BININT
_ADLER_BASE = 65521
_OP_SIZES = {ord("K"): 2, ord("M"): 3, ord("J"): 5}  # BININT1, BININT2, BININT


def compressed_block(data: bytes, level: int) -> bytes:
    """zlib.compress(data, level) laid out for renumbering (data: a W3 block pickle)."""
    head = 3 if data[2] == ord("(") else 2  # MARK when the deltas are more than three
    head += _OP_SIZES[data[head]]
    rest = data[head:]
    prefix = _PREFIX + _REST.pack(len(rest)) + b"0" + data[2:head]
    deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
    return b"".join(
        (
            _ZLIB_HEADER,
            _STORED.pack(0, len(prefix), len(prefix) ^ 0xFFFF),
            prefix,
            deflate.compress(rest),
            deflate.flush(),
            _ADLER.pack(zlib.adler32(prefix + rest)),
        )
    )


def renumbered_block(block: bytes, base: int) -> bytes | None:
    """A block from compressed_block with its first document number moved up by base; None
    for a block laid out otherwise."""
    if block[:2] != _ZLIB_HEADER or len(block) < 9:
        return None
    final, size, check = _STORED.unpack_from(block, 2)
    prefix = block[7 : 7 + size]
    if final or size ^ check != 0xFFFF or not prefix.startswith(_PREFIX) or size < 10:
        return None
    (rest_size,) = _REST.unpack_from(prefix, 3)
    mark = prefix[8:9] == b"("
    first = _read_int(prefix[8 + mark :])
    if first is None or prefix[7:8] != b"0":
        return None
    moved = prefix[: 8 + mark] + int_op(first + base)
    (checksum,) = _ADLER.unpack_from(block, len(block) - 4)
    checksum = _with_new_head(checksum, prefix, moved, rest_size)
    return b"".join(
        (
            _ZLIB_HEADER,
            _STORED.pack(0, len(moved), len(moved) ^ 0xFFFF),
            moved,
            block[7 + size : -4],
            _ADLER.pack(checksum),
        )
    )


def _read_int(op: bytes) -> int | None:
    """The value of a pickled int opcode that makes up all of `op`."""
    if _OP_SIZES.get(op[0]) != len(op):
        return None
    return int.from_bytes(op[1:], "little", signed=op[0] == ord("J"))


def _with_new_head(checksum: int, old: bytes, new: bytes, rest_size: int) -> int:
    """The Adler-32 of new + rest, from that of old + rest (rest being rest_size bytes)."""
    rest_size %= _ADLER_BASE
    old_sum = zlib.adler32(old)
    old_a, old_b = old_sum & 0xFFFF, old_sum >> 16
    rest_a = ((checksum & 0xFFFF) - old_a + 1) % _ADLER_BASE
    rest_b = ((checksum >> 16) - old_b - rest_size * (old_a - 1)) % _ADLER_BASE
    new_sum = zlib.adler32(new)
    new_a, new_b = new_sum & 0xFFFF, new_sum >> 16
    a = (new_a + rest_a - 1) % _ADLER_BASE
    b = (new_b + rest_b + rest_size * (new_a - 1)) % _ADLER_BASE
    return (b << 16) | a
