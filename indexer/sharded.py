"""Import into a sharded index: each checked article goes to the shard its id routes to.

Every shard is written by its own IndexBuilder, exactly as a single index is (batches,
upserts by id, durable commits); records are checked once, before routing, so a bad one is
reported as `FILE:LINE: reason` like anywhere else and counted once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from indexer.build import IndexBuilder, Summary
from indexer.records import RawRecord
from search.index.shard_layout import ShardLayout


class ShardedBuilder:
    """Feed it raw records; it checks them and hands each to its shard's builder.

    Each shard is written in its live index, or in `targets` when given: one index directory
    per shard, in shard order (the builds of `vnsearch index --rebuild`).
    """

    def __init__(
        self, layout: ShardLayout, targets: list[str] | None = None, **builder_options: Any
    ) -> None:
        self.layout = layout
        paths = layout.shard_dirs() if targets is None else targets
        if len(paths) != layout.shards:
            raise ValueError(f"{len(paths)} directories for {layout.shards} shards")
        self.builders = [IndexBuilder(path, **builder_options) for path in paths]

    @property
    def report(self) -> Callable[[str], None]:
        return self.builders[0].report

    @report.setter
    def report(self, report: Callable[[str], None]) -> None:
        for builder in self.builders:
            builder.report = report

    def add_records(
        self, records: Iterable[RawRecord], on_record: Callable[[], None] | None = None
    ) -> Summary:
        """Index every good record on its shard; report every bad one as FILE:LINE: reason."""
        checker = self.builders[0]  # any builder checks alike: its summary counts rejections
        for raw in records:
            article = checker.checked(raw)
            if article is not None:
                self.builders[self.layout.shard_for(article.id)].add_article(article)
            if on_record:
                on_record()
        for builder in self.builders:
            builder.flush()
        return self.summary

    @property
    def summary(self) -> Summary:
        """The shards' summaries added up."""
        total = Summary()
        for builder in self.builders:
            part = builder.summary
            total.add(part)
        return total

    def held_before(self) -> list[int]:
        """Articles each shard held before this import."""
        return [builder.held_before for builder in self.builders]
