"""One field's terms in a merging commit: the new documents' and the merged segments'.

Each term's postings are joined in document order: the new documents first, then each merged
segment's, renumbered (search/index/merge.py). tests/test_merge.py compares the merged index
with Whoosh's own merge, posting by posting.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from itertools import count, groupby, repeat
from operator import itemgetter
from pickle import loads
from typing import Any

from search.index.compact_pickle import whole_weights
from search.index.merge import MergedSegment, Postings
from search.index.w3_codec import TERMINFO, TERMINFO_SIZE, Block, Stats, TermWriter


def _tagged(
    entries: Iterator[tuple[bytes, bytes]], number: int
) -> Iterator[tuple[bytes, int, bytes]]:
    """(term, the source's number, term info) of each entry of a source."""
    return ((key, number, info) for key, info in entries)


def _no_postings(index: int) -> Postings:
    raise IndexError(index)


class FieldMerge:
    """One field's terms from the new documents and the merged segments, with their term
    infos, streamed in term order: the segments' term tables are read a piece at a time and
    joined term by term, so memory holds one chunk of the output, never a whole field. Most
    terms are in one source only: the new documents' are made in bulk, and an inlined term of
    a segment without deletions only has its document numbers moved. A posting list in blocks
    keeps its blocks, moved the same way, when the term's postings are joined with other
    sources' (or with none)."""

    chunk = 20_000  # terms handed on at a time

    def __init__(self, sources: list[MergedSegment], fieldname: str, writer: TermWriter) -> None:
        self.sources = sources
        self.fieldname = fieldname
        self.writer = writer
        self.new_postings: Callable[[int], Postings] = _no_postings

    def run(
        self,
        new_keys: list[bytes],
        new_infos: Callable[[list[int]], list[bytes]],
        new_postings: Callable[[int], Postings],
    ) -> Iterator[tuple[list[bytes], list[bytes]]]:
        """(terms, their infos) in order, `chunk` terms at a time; new_infos(indexes) gives the
        infos of new_keys at those indexes, new_postings(i) the postings of new_keys[i]."""
        self.new_postings = new_postings
        streams: list[Iterator[tuple[bytes, int, Any]]] = [zip(new_keys, repeat(-1), count())]
        for number, segment in enumerate(self.sources):
            streams.append(_tagged(segment.entries(self.fieldname), number))
        keys: list[bytes] = []
        infos: list[bytes] = []
        waiting: list[tuple[int, int]] = []  # (index in infos, index in new_keys)
        for key, group in groupby(heapq.merge(*streams), key=itemgetter(0)):
            parts = [(number, payload) for _, number, payload in group]
            info = self._info(parts)
            if info is None:
                continue
            if not info:
                waiting.append((len(infos), parts[0][1]))
            keys.append(key)
            infos.append(info)
            if len(keys) >= self.chunk:
                self._fill(infos, waiting, new_infos)
                yield keys, infos
                keys, infos, waiting = [], [], []
        if keys:
            self._fill(infos, waiting, new_infos)
            yield keys, infos

    @staticmethod
    def _fill(
        infos: list[bytes],
        waiting: list[tuple[int, int]],
        new_infos: Callable[[list[int]], list[bytes]],
    ) -> None:
        """Put the infos of the new documents' terms in their places, made in bulk."""
        made = new_infos([new for _, new in waiting])
        for (at, _), info in zip(waiting, made, strict=True):
            infos[at] = info

    def _info(self, parts: list[tuple[int, Any]]) -> bytes | None:
        """A term's info from its parts, (-1, new term's index) or (segment's number, its
        term info); b"" for a term of the new documents only (made in bulk later), None when
        only deleted documents held it."""
        if len(parts) == 1:
            number, payload = parts[0]
            if number == -1:
                return b""
            source = self.sources[number]
            if payload[0] and source.docmap is None:
                return source._shifted(payload) if source.base else payload
        return self._joined(parts)

    def _postings(self, source: int, payload: Any) -> Postings:
        if source == -1:
            return self.new_postings(payload)
        return self.sources[source].postings(payload, self.writer.fixedsize)

    def _joined(self, parts: list[tuple[int, Any]]) -> bytes | None:
        """The info of a term from its parts, (-1, new term's index) or (segment's number,
        its term info), in document order; None when only deleted documents held it."""
        sources = self.sources
        in_blocks = deletions = False
        for n, payload in parts:
            if n >= 0:
                in_blocks = in_blocks or not payload[0]
                deletions = deletions or sources[n].docmap is not None
        if in_blocks and not deletions:
            return self._joined_blocks(parts)
        if not deletions and all(n >= 0 for n, _ in parts):
            joined = self._joined_inlined(parts)
            if joined is not None:
                return joined
        ids: list[int] = []
        weights: list[float] = []
        values: list[bytes] = []
        for n, payload in parts:
            more = self._postings(n, payload)
            ids += more[0]
            weights += more[1]
            values += more[2]
        return self.writer.info(ids, weights, values) if ids else None

    def _joined_inlined(self, parts: list[tuple[int, bytes]]) -> bytes | None:
        """_joined for a term every part of which is inlined in a segment without deletions,
        when the joined postings still fit inline (the common case: a syllable pair found a
        few times in several segments). The statistics come from the parts' term infos, so
        no document length is looked up; None when the postings need blocks."""
        heads = [TERMINFO.unpack_from(info) for _, info in parts]
        count = sum(head[2] for head in heads)
        if count > self.writer.inline_limit:
            return None
        ids: list[int] = []
        weights: list[float] = []
        values: list[bytes] = []
        for n, info in parts:
            part_ids, part_weights, part_values = loads(info[TERMINFO_SIZE:])
            base = self.sources[n].base
            ids += [d + base for d in part_ids]
            weights += part_weights
            values += part_values
        head = TERMINFO.pack(
            True,
            sum(head[1] for head in heads),
            count,
            min((head[3] for head in heads if head[3]), default=0),
            max(head[4] for head in heads),
            max(head[5] for head in heads),
            ids[0],
            ids[-1],
        )
        return head + self.writer.pickler.dumps((tuple(ids), whole_weights(weights), tuple(values)))

    def _joined_blocks(self, parts: list[tuple[int, Any]]) -> bytes:
        """_joined for a term some segment keeps in blocks: those blocks are moved as they
        are, the other parts' postings joined into as few new blocks as can be."""
        blocks: list[Block] = []
        stats: list[Stats] = []
        pending: tuple[list[int], list[float], list[bytes]] = ([], [], [])

        def add_pending() -> None:
            if pending[0]:
                more_blocks, more_stats = self.writer.blocks(*pending)
                blocks.extend(more_blocks)
                stats.append(more_stats)
                for column in pending:
                    column.clear()

        for n, payload in parts:
            if n == -1 or payload[0]:
                more = self._postings(n, payload)
                pending[0].extend(more[0])
                pending[1].extend(more[1])
                pending[2].extend(more[2])
                continue
            add_pending()
            more_blocks, more_stats = self.sources[n].moved_blocks(
                payload, self.writer.compress_min
            )
            blocks += more_blocks
            stats.append(more_stats)
        add_pending()
        return self.writer.info_for_blocks(blocks, stats)
