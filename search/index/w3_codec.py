"""Whoosh's W3 on-disk format, written directly: posting blocks, term infos, the term table.

Same data Whoosh's W3 codec and OrderedHashWriter write (tests/test_bulkwrite.py decodes and
compares them), with differences readers never notice: terms found in few documents are
inlined in the term table (W3's own format; Whoosh's writer cannot, `set_inline` is misspelt),
small blocks are not compressed (the codec records compression per block), big ones are
compressed in two deflate blocks, for merges (search/index/block_zlib.py), pickles are smaller
(search/index/compact_pickle.py: no memo, whole weights as ints) and the term table's hash
slots are fewer (hash_slots).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from functools import lru_cache
from itertools import accumulate, chain, repeat
from operator import sub
from struct import Struct
from typing import Any
from zlib import crc32

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.filedb import filetables
from whoosh.system import pack_int, pack_long
from whoosh.util.numeric import length_to_byte

from search.index.block_zlib import compressed_block
from search.index.compact_pickle import (
    CompactPickler,
    whole_weight,
    whole_weights,
)

INLINE_LIMIT = 8  # terms in at most this many documents keep their postings in the term table
COMPRESS_MIN = 256  # smaller block pickles are written uncompressed
# Postings per block: W3Codec writes 128. Each compressed block repeats a deflate header and
# Huffman tables, a block info pickle and its length, which weigh on the long lists of
# full-text fields; with 512 a build or a merge also handles a quarter of the blocks. Readers
# take blocks of any length.
BLOCK_LIMIT = 512
# zlib level: W3Codec's is 3; 4 is the fastest of zlib's lazy-matching levels, a few per cent
# smaller posting blocks for a few per cent more compression time (readers only ask whether a
# block is compressed)
COMPRESSION = 4

TERMINFO = _TERMINFO = Struct("!BfIBBfII")  # W3TermInfo._struct
TERMINFO_SIZE = _TERMINFO.size  # inlined postings or the blocks' extent follow
_NO_ID = 0xFFFFFFFF


Block = tuple[bytes, bytes]  # a posting block's pickled info and its (compressed) data


def write_block_list(postfile: Any, blocks: list[Block]) -> None:
    """A term's posting list: the header, then each block after its length (negative for
    the last one). Blocks may hold any number of postings anywhere in the list."""
    postfile.write(WHOOSH3_HEADER_MAGIC)
    last = len(blocks) - 1
    for number, (infobytes, databytes) in enumerate(blocks):
        blocklength = len(infobytes) + len(databytes)
        postfile.write_int(-blocklength if number == last else blocklength)
        postfile.write(infobytes)
        postfile.write(databytes)


def encode_blocks(
    ids: list[int],
    weights: Sequence[float],
    values: Sequence[bytes],
    lens: Sequence[int],
    fixedsize: int | None,
    compress_min: int = COMPRESS_MIN,
    pickler: CompactPickler | None = None,
    block_limit: int = BLOCK_LIMIT,
) -> list[Block]:
    """The blocks of a posting list, block_limit postings each, as W3 pickles them. The
    length bytes stand for the lengths: length_to_byte keeps their order and maps 0 to 0."""
    dumps = (pickler or CompactPickler()).dumps
    blocks = []
    count = len(ids)
    for start in range(0, count, block_limit):
        end = min(start + block_limit, count)
        block_ids = ids[start:end]
        block_weights = weights[start:end]
        block_lens = lens[start:end]
        first = block_weights[0]
        if block_weights.count(first) == len(block_weights):
            # one float for the block (Whoosh's reader tells it from a tuple by its type)
            mini_weights: Any = None if first == 1.0 else float(first)
        else:
            mini_weights = whole_weights(block_weights)
        if fixedsize is None or fixedsize < 0:
            mini_values: Any = tuple(values[start:end])
        elif fixedsize == 0:
            mini_values = None
        else:
            mini_values = b"".join(values[start:end])
        deltas = tuple(map(sub, block_ids, chain((0,), block_ids)))
        databytes = dumps((deltas, mini_weights, mini_values))
        comp = COMPRESSION if len(databytes) >= compress_min else 0
        if comp:
            databytes = compressed_block(databytes, comp)
        infobytes = dumps(
            (
                end - start,
                block_ids[-1],
                whole_weight(max(block_weights)),
                comp,
                min(filter(None, block_lens), default=0),
                max(block_lens),
            )
        )
        blocks.append((infobytes, databytes))
    return blocks


class TermTable:
    """Appends to a W3 term table (whoosh.filedb.filetables.OrderedHashWriter) a field at a
    time: one write instead of three per term, positions counted instead of asked for, and the
    closing hash tables written in one piece. Same bytes as OrderedHashWriter.add. Each key's
    hash and position are kept in two arrays (12 bytes a term) instead of Whoosh's lists of
    tuples per bucket, and sorted into the 256 buckets at the end: an archive's term table
    holds millions of terms."""

    def __init__(self, tindex: Any) -> None:
        self.tindex = tindex
        tindex._write_hashes = self._write_hashes
        self.hashes = array("I")  # of every key added here, in order
        self.positions = array("q")
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
        if tindex.hashtype == 1:
            hashes = list(map(crc32, keys))  # crc_hash: crc32 is unsigned in Python 3
        else:
            hashes = list(map(tindex.hashfn, keys))
        self.hashes.extend(hashes)
        self.positions.extend(positions)
        index = tindex.index
        widen(index, positions[-1])
        index.array.extend(positions)
        tindex.lastkey = keys[-1]

    def _write_hashes(self) -> None:
        """HashWriter._write_hashes, one write per bucket (entries added through Whoosh's own
        `add` first, as they came first)."""
        tindex = self.tindex
        dbfile = tindex.dbfile
        all_hashes = np.asarray(self.hashes, dtype=np.uint32)  # 4 and 8 bytes a key
        all_positions = np.asarray(self.positions, dtype=np.int64)
        buckets = (all_hashes & 255).astype(np.uint8)
        order = np.argsort(buckets, kind="stable")  # by bucket, each in the order added
        all_hashes, all_positions = all_hashes[order], all_positions[order]
        ends = np.cumsum(np.bincount(buckets, minlength=256)).tolist()
        del buckets, order
        self.hashes, self.positions = array("I"), array("q")
        for number, entries in enumerate(tindex.buckets):
            start = ends[number - 1] if number else 0
            hashes = np.concatenate(
                [np.array([h for h, _ in entries], np.uint64), all_hashes[start : ends[number]]]
            )
            positions = np.concatenate(
                [np.array([p for _, p in entries], np.int64), all_positions[start : ends[number]]]
            )
            numslots = hash_slots(len(hashes))
            tindex.directory.append((dbfile.tell(), numslots))
            dbfile.write(hash_table(hashes, positions, numslots))


_SLOT = np.dtype([("hash", ">u4"), ("position", ">i8")])  # filetables._pointer, "!Iq"


def hash_table(hashes: Any, positions: Any, numslots: int) -> bytes:
    """One bucket's open-addressing table as Whoosh's HashReader probes it: from a key's home
    slot, (hash >> 8) % numslots, onward (wrapping at the end) to the key or an empty slot.
    Keys are laid out in order of their home slots, each in the first free slot from its home
    on: a run of taken slots then leads from every key's home to the key, as when the keys
    are put in one at a time (which key sits where in a run may differ; a reader compares the
    hashes and the keys). Keys pushed past the last slot take the first free slots from the
    start, in order."""
    table = np.zeros(numslots, dtype=_SLOT)
    count = len(hashes)
    if count:
        homes = ((hashes >> np.uint64(8)) % np.uint64(numslots)).astype(np.int64)
        order = np.argsort(homes, kind="stable")
        ranks = np.arange(count, dtype=np.int64)
        # slot[i] = max(home[i], slot[i - 1] + 1) over the keys sorted by home
        slots = np.maximum.accumulate(homes[order] - ranks) + ranks
        past = slots >= numslots
        if past.any():
            taken = np.zeros(numslots, dtype=bool)
            taken[slots[~past]] = True
            slots[past] = np.flatnonzero(~taken)[: int(past.sum())]
        table["hash"][slots] = hashes[order]
        table["position"][slots] = positions[order]
    return table.tobytes()


def hash_slots(count: int) -> int:
    """Slots of a hash bucket of `count` keys: 1.5 a key and at least one empty, where Whoosh
    gives 2 a key. A slot takes 12 bytes; a lookup probes slots from the key's own one up to
    the key or an empty slot, two on average when two in three slots are taken."""
    return count + count // 2 + 1 if count else 0


# The largest number + 1 each array type of Whoosh's GrowableArray holds.
_ARRAY_LIMITS = {"B": 2**8, "H": 2**16, "i": 2**31, "I": 2**32, "q": 2**63}


def widen(grown: Any, top: int) -> None:
    """Widen a Whoosh GrowableArray for numbers up to `top`, as its append would, before
    numbers are added to its array in one piece."""
    if isinstance(grown.array, array) and top >= _ARRAY_LIMITS.get(grown.array.typecode, 0):
        grown._retype(top)


# A memo of a pure function (a table of Whoosh's length encoding, depends on no index).
@lru_cache(maxsize=1)
def length_bytes() -> bytes:
    """length_to_byte for every length up to the largest one it tells apart."""
    return bytes(length_to_byte(n) for n in range(106_375))


def length_byte(length: int) -> int:
    """length_to_byte(length) from the table."""
    table = length_bytes()
    return table[length] if length < len(table) else 255


def terminfo(inlined: bool, ids: list[int], weights: Sequence[float], lens: Sequence[int]) -> bytes:
    """W3TermInfo.to_bytes without the postings pointer or the inlined postings (`lens`: the
    postings' document length bytes)."""
    shortest = min(lens)
    if not shortest:
        shortest = min([n for n in lens if n], default=0)
    return _TERMINFO.pack(
        inlined,
        sum(weights),
        len(ids),
        shortest,
        max(lens),
        max(weights),
        ids[0] if ids else _NO_ID,
        ids[-1] if ids else _NO_ID,
    )


Stats = tuple[float, int, int, int, float, int, int]  # a term info without its flag, extent


class TermWriter:
    """Writes the term infos of one field, and the posting blocks they point to."""

    def __init__(
        self,
        postfile: Any,
        length_bytes: Sequence[int],
        fixedsize: int | None,
        inline_limit: int = INLINE_LIMIT,
        compress_min: int = COMPRESS_MIN,
        block_limit: int = BLOCK_LIMIT,
    ) -> None:
        self.postfile = postfile
        self.length_bytes = length_bytes  # document number -> the field's length byte in it
        self.fixedsize = fixedsize
        self.inline_limit = inline_limit
        self.compress_min = compress_min
        self.block_limit = block_limit
        self.pickler = CompactPickler()

    def info(self, ids: list[int], weights: Sequence[float], values: Sequence[bytes]) -> bytes:
        """A term's info: its postings inlined, or written as blocks and pointed to."""
        lens = list(map(self.length_bytes.__getitem__, ids))
        if len(ids) <= self.inline_limit:
            # One value per posting, b"" for value-less formats: Whoosh's ListMatcher gives
            # "" for a missing value, which its merging pool refuses.
            return terminfo(True, ids, weights, lens) + self.pickler.dumps(
                (tuple(ids), whole_weights(weights), tuple(values))
            )
        offset = self.postfile.tell()
        values = list(filter(None, values))
        write_block_list(
            self.postfile,
            self._encoded(ids, weights, values, lens),
        )
        info = terminfo(False, ids, weights, lens)
        return info + pack_long(offset) + pack_int(self.postfile.tell() - offset)

    def posting_list(self, head: bytes, data: bytes) -> bytes:
        """Write a posting list made elsewhere (search.index.block_postings); its term info,
        whose fields but the extent are `head`."""
        offset = self.postfile.tell()
        self.postfile.write(data)
        return head + pack_long(offset) + pack_int(len(data))

    def blocks(
        self, ids: list[int], weights: list[float], values: list[bytes]
    ) -> tuple[list[Block], Stats]:
        """Postings as blocks to be joined with others (info_for_blocks), and their stats."""
        lens = list(map(self.length_bytes.__getitem__, ids))
        values = list(filter(None, values))
        blocks = self._encoded(ids, weights, values, lens)
        return blocks, _TERMINFO.unpack(terminfo(False, ids, weights, lens))[1:]

    def _encoded(
        self, ids: list[int], weights: Sequence[float], values: Sequence[bytes], lens: list[int]
    ) -> list[Block]:
        return encode_blocks(
            ids, weights, values, lens, self.fixedsize, self.compress_min, self.pickler,
            self.block_limit,
        )  # fmt: skip

    def info_for_blocks(self, blocks: list[Block], parts: list[Stats]) -> bytes:
        """Write one posting list of blocks whose postings' stats are `parts`, in order."""
        offset = self.postfile.tell()
        write_block_list(self.postfile, blocks)
        shortest = min((part[2] for part in parts if part[2]), default=0)
        head = _TERMINFO.pack(
            False,
            sum(part[0] for part in parts),
            sum(part[1] for part in parts),
            shortest,
            max(part[3] for part in parts),
            max(part[4] for part in parts),
            parts[0][5],
            parts[-1][6],
        )
        return head + pack_long(offset) + pack_int(self.postfile.tell() - offset)
