"""One field's terms in a merging commit: the new documents' and the merged segments'.

Each term's postings are joined in document order: the new documents first, then each merged
segment's, renumbered (search/index/merge.py). tests/test_merge.py compares the merged index with
Whoosh's own merge, posting by posting.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pickle import dumps, loads
from typing import Any

from search.index.merge import MergedSegment, Postings
from search.index.w3_codec import PICKLE_PROTOCOL, TERMINFO, TERMINFO_SIZE, Block, Stats, TermWriter


class FieldMerge:
    """One field's terms from the new documents and the merged segments, with their term
    infos. Most terms are in one source only: the new documents' are made in bulk, and an
    inlined term of a segment without deletions only has its document numbers moved. A
    posting list in blocks keeps its blocks, moved the same way, when the term's postings
    are joined with other sources' (or with none)."""

    def __init__(self, sources: list[MergedSegment], fieldname: str, writer: TermWriter) -> None:
        self.sources = sources
        self.writer = writer
        self.entries = [segment.field_entries(fieldname) for segment in sources]

    def run(
        self,
        new_keys: list[bytes],
        new_infos: Callable[[list[int]], list[bytes]],
        new_postings: Callable[[int], Postings],
    ) -> tuple[list[bytes], list[bytes]]:
        """(terms in order, their infos); new_infos(indexes) gives the infos of new_keys at
        those indexes, new_postings(i) the postings of new_keys[i]."""
        self.new_postings = new_postings
        counts = Counter(new_keys)
        for keys, _ in self.entries:
            counts.update(keys)
        found: dict[bytes, bytes | None] = {}
        alone = [i for i, key in enumerate(new_keys) if counts[key] == 1]
        found.update(zip([new_keys[i] for i in alone], new_infos(alone), strict=True))
        for number, (keys, infos) in enumerate(self.entries):
            segment = self.sources[number]
            shift = segment.docmap is None  # inlined terms only need their numbers moved
            for key, info in zip(keys, infos, strict=True):
                if counts[key] == 1:
                    shifted = shift and info[0]
                    found[key] = (
                        segment._shifted(info) if shifted else self._joined([(number, info)])
                    )
        shared = [key for key, count in counts.items() if count > 1]
        if shared:
            new_index = {key: i for i, key in enumerate(new_keys)}
            tables = [dict(zip(keys, infos, strict=True)) for keys, infos in self.entries]
            for key in shared:
                parts: list[tuple[int, Any]] = [(-1, new_index[key])] if key in new_index else []
                parts += [(n, t[key]) for n, t in enumerate(tables) if key in t]
                found[key] = self._joined(parts)
        order = sorted(key for key, info in found.items() if info is not None)
        return order, [found[key] for key in order]  # type: ignore[misc]

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
        return head + dumps((tuple(ids), tuple(weights), tuple(values)), PICKLE_PROTOCOL)

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
            more_blocks, more_stats = self.sources[n].moved_blocks(payload)
            blocks += more_blocks
            stats.append(more_stats)
        add_pending()
        return self.writer.info_for_blocks(blocks, stats)
