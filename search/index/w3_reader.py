"""Whoosh's W3 format read back in bulk, for merging segments (search/index/merge.py) and for
searching (search/index/segment_postings.py).

Whoosh reads a term table entry or a posting block with a few small reads each, through the
compound file; a merge reads a field's part of the term table, or a term's whole posting
list, in one read and parses it from memory.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterator, Sequence
from io import BytesIO
from itertools import accumulate
from pickle import load, loads
from struct import Struct
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, _lenfield
from whoosh.system import pack_ushort

_ENTRY_HEAD = Struct("!II")  # key length, value length of a term table entry
_BLOCK_LENGTH = Struct("!i")  # negative for a posting list's last block


def field_entries(terms: Any, fieldname: str) -> tuple[list[bytes], list[bytes]]:
    """A W3 segment's terms of the field in order and their term infos, from one read of
    the field's part of the term table (`terms`: a SegmentReader's W3TermsReader)."""
    fieldid = terms._fieldmap.get(fieldname)
    keys: list[bytes] = []
    infos: list[bytes] = []
    if fieldid is None:
        return keys, infos
    tindex = terms._tindex
    start = tindex.closest_key_pos(pack_ushort(fieldid))
    if start is None:
        return keys, infos
    end = tindex.closest_key_pos(pack_ushort(fieldid + 1)) or tindex.endofdata
    data = tindex.dbfile.get(start, end - start)
    head = _ENTRY_HEAD.unpack_from
    pos, size = 0, len(data)
    while pos < size:
        keylen, valuelen = head(data, pos)
        pos += 8
        keys.append(data[pos + 2 : pos + keylen])  # after the field number
        pos += keylen
        infos.append(data[pos : pos + valuelen])
        pos += valuelen
    return keys, infos


def raw_blocks(data: bytes) -> Iterator[tuple[tuple[Any, ...], bytes]]:
    """Each posting block of a term's list: its info (count, last id, max weight, compression,
    min and max length bytes), unpickled, and its data as stored (compressed or not)."""
    pos, last = len(WHOOSH3_HEADER_MAGIC), False
    while not last:
        (length,) = _BLOCK_LENGTH.unpack_from(data, pos)
        last = length < 0
        pos += 4
        end = pos + abs(length)
        block = BytesIO(data[pos:end])
        info = load(block)
        yield info, block.read()
        pos = end


def parsed_blocks(data: bytes) -> Iterator[tuple[tuple[Any, ...], tuple[Any, Any, Any]]]:
    """Each posting block of a term's list: its info and its data (id deltas, weights,
    values), unpickled."""
    for info, body in raw_blocks(data):
        yield info, loads(zlib.decompress(body) if info[3] else body)


def read_ids_and_weights(data: bytes) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """The document numbers and weights of a term's posting blocks, parsed from memory (a
    search needs no values) into arrays: the blocks' deltas gathered in one list, then one
    cumulative sum restarted at each block (a block's first delta is its first id)."""
    deltas: list[int] = []
    weights: list[float] = []
    counts: list[int] = []
    for info, (block_deltas, mini_weights, _) in parsed_blocks(data):
        deltas += block_deltas
        weights += _weights(mini_weights, info[0])
        counts.append(len(block_deltas))
    # through array.array: a C loop over the Python numbers, faster than numpy's conversion
    sums = np.cumsum(np.frombuffer(array("q", deltas), dtype=np.int64))
    if len(counts) > 1:
        ends = np.cumsum(counts)[:-1]  # where each block after the first starts
        before = np.concatenate(([0], sums[ends - 1]))  # the sum each block must not carry
        sums -= np.repeat(before, counts)
    return sums.astype(np.int32), np.frombuffer(array("f", weights), dtype=np.float32)


def _weights(mini_weights: Any, count: int) -> Sequence[float]:
    """A block's weights: W3 writes None when all are 1.0, one float when all are equal."""
    if mini_weights is None or isinstance(mini_weights, float):
        return [1.0 if mini_weights is None else mini_weights] * count
    return mini_weights  # as unpickled: the caller extends its list with it, no copy needed


def read_blocks(data: bytes, fixedsize: int | None) -> tuple[list[int], list[float], list[bytes]]:
    """The document numbers, weights and values of a term's posting blocks (the bytes
    write_blocks or Whoosh's W3 writer wrote), all blocks parsed from memory."""
    ids: list[int] = []
    weights: list[float] = []
    values: list[bytes] = []
    for info, (deltas, mini_weights, mini_values) in parsed_blocks(data):
        count = info[0]
        ids += accumulate(deltas)
        weights += _weights(mini_weights, count)
        if fixedsize is None or fixedsize < 0:
            values += mini_values
        elif fixedsize == 0:
            values += [b""] * count
        else:
            starts = range(0, count * fixedsize, fixedsize)
            values += [mini_values[i : i + fixedsize] for i in starts]
    return ids, weights, values


def w3_terms(leaf: Any) -> Any:
    """A segment reader's W3 term table reader (what field_entries reads), or None for a
    segment of another kind."""
    terms = getattr(leaf, "_terms", None)
    return terms if terms is not None and hasattr(terms, "_tindex") else None


def segment_length_bytes(leaf: Any, fieldname: str) -> bytes | None:
    """A W3 segment's length byte of the field for each of its documents (0: none), in one
    read; None for a segment of another kind."""
    perdoc = getattr(leaf, "_perdoc", None)
    if perdoc is None or not hasattr(perdoc, "_cached_reader"):
        return None
    count = leaf.doc_count_all()
    column = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if column is None:  # no document has the field
        return bytes(count)
    raw = column._dbfile.get(column._basepos, column._count) if column._count else b""
    return raw[:count] + bytes(count - len(raw))  # the column stops at its last length


def decode_positions(value: bytes) -> list[int]:
    """Whoosh's Positions.decode_positions: a count, then the pickled position deltas (the
    pickle's closing byte may have been left off)."""
    if not value.endswith(b"."):
        value += b"."
    position = 0
    positions = []
    for delta in loads(value[4:]):
        position += delta
        positions.append(position)
    return positions
