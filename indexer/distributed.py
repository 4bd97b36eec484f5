"""Build the shards of an index on the workers of a Dask cluster, in parallel.

Records are read and checked here (bad ones reported as `FILE:LINE: reason`, as by any
import), routed by id (search.index.shard_layout), and sent in chunks to a `ShardWriter`
actor per shard, on the worker that holds the shard: that worker's IndexBuilder writes the
shard on its own disk while the others write theirs. On a LocalCluster the shards are built
side by side on this machine's cores.

A rebuild (`vnsearch index --rebuild --cluster`) has each actor write its shard into a new
build beside the live one, on its worker's disk; once every shard is built, `switch` has each
actor point its shard's `current` link at the build (search.index.durability).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from distributed import Client

from indexer.build import IndexBuilder, Report, Summary, checked_article, report_to_stderr
from indexer.records import RawRecord
from search.index.durability import remove_replaced_builds, switch_link
from search.index.preload import derive_if_served
from search.index.schema import Article
from search.index.shard_layout import ShardLayout
from search.index.sidecar import MIN_SIDECAR_DOCS
from search.index.store import import_worth_optimizing, optimize, start_rebuild

CHUNK = 500  # articles per call to a shard's writer: few round trips, little held in flight


class ShardWriter:
    """One shard's IndexBuilder, on the worker that writes it (a Dask actor): into the live
    index at `shard_dir`, or into a new build beside it with `rebuild`."""

    def __init__(self, shard_dir: str, options: dict[str, Any], rebuild: bool = False) -> None:
        self.shard_dir = shard_dir
        self.path = start_rebuild(shard_dir) if rebuild else shard_dir
        self.messages: list[str] = []
        self.builder = IndexBuilder(self.path, report=self.messages.append, **options)

    def add(self, articles: list[Article]) -> None:
        for article in articles:
            self.builder.add_article(article)

    def finish(
        self, merge: bool, writer_timeout: float, sidecar_min_docs: int = MIN_SIDECAR_DOCS
    ) -> tuple[Summary, list[str]]:
        """Commit the last batch; merge into one segment when the import doubled the shard;
        write the new segments' sidecars when the shard is served (derive_if_served)."""
        self.builder.flush()
        summary = self.builder.summary
        if merge and import_worth_optimizing(self.builder.held_before, summary.added):
            optimize(self.path, writer_timeout)
        derive_if_served(self.path, self.shard_dir, sidecar_min_docs)
        return summary, self.messages

    def switch(self) -> None:
        """Make the rebuild the shard's live index (one atomic rename)."""
        switch_link(self.shard_dir, self.path)

    def remove_replaced(self) -> None:
        """Remove the shard's older builds, once every shard is switched."""
        remove_replaced_builds(self.shard_dir, self.path)


class DistributedShardedBuilder:
    """A sharded import whose shards are written by actors on `client`'s workers."""

    def __init__(
        self,
        layout: ShardLayout,
        client: Client,
        report: Report = report_to_stderr,
        defaults: dict[str, str] | None = None,
        max_text_chars: int = 1_000_000,
        merged_at_end: bool = True,
        writer_timeout: float = 60.0,
        rebuild: bool = False,
        sidecar_min_docs: int = MIN_SIDECAR_DOCS,
        **builder_options: Any,
    ) -> None:
        self.layout = layout
        self.sidecar_min_docs = sidecar_min_docs
        self.rebuild = rebuild
        self.report = report
        self.defaults = defaults or {}
        self.max_text_chars = max_text_chars
        self.merged_at_end = merged_at_end
        self.writer_timeout = writer_timeout
        self.checks = Summary()  # the records rejected here, before routing
        options = {
            **builder_options,
            "writer_timeout": writer_timeout,
            "max_text_chars": max_text_chars,
            "merged_at_end": merged_at_end,
        }
        workers = sorted(client.scheduler_info()["workers"])
        futures = [
            client.submit(
                ShardWriter,
                path,
                options,
                rebuild,
                actor=True,
                pure=False,
                workers=[workers[shard % len(workers)]],
            )
            for shard, path in enumerate(layout.shard_dirs())
        ]
        self.writers: list[Any] = [future.result() for future in futures]  # actor proxies
        self._futures = futures  # the actors live while their futures do

    def add_records(
        self, records: Iterable[RawRecord], on_record: Callable[[], None] | None = None
    ) -> Summary:
        """Index every good record on its shard's worker; report every bad one."""
        chunks: list[list[Article]] = [[] for _ in self.writers]
        in_flight: list[Any] = [None for _ in self.writers]
        for raw in records:
            article = checked_article(
                raw, self.defaults, self.max_text_chars, self.checks, self.report
            )
            if article is not None:
                shard = self.layout.shard_for(article.id)
                chunks[shard].append(article)
                if len(chunks[shard]) >= CHUNK:
                    in_flight[shard] = self._send(shard, chunks[shard], in_flight[shard])
                    chunks[shard] = []
            if on_record:
                on_record()
        for shard, chunk in enumerate(chunks):
            in_flight[shard] = self._send(shard, chunk, in_flight[shard])
        for pending in in_flight:
            pending.result()
        return self._finish()

    def switch(self) -> None:
        """After a rebuild: every shard switched to its build, then the older builds removed
        (switching first keeps the switches close together; search.index.durability)."""
        if not self.rebuild:
            raise RuntimeError("only a rebuild has builds to switch to")
        for pending in [writer.switch() for writer in self.writers]:
            pending.result()
        for pending in [writer.remove_replaced() for writer in self.writers]:
            pending.result()

    def _send(self, shard: int, chunk: list[Article], previous: Any) -> Any:
        """Send a chunk once the shard's previous one is taken (one in flight per shard)."""
        if previous is not None:
            previous.result()
        return self.writers[shard].add(chunk)

    def _finish(self) -> Summary:
        finishing = [
            w.finish(self.merged_at_end, self.writer_timeout, self.sidecar_min_docs)
            for w in self.writers
        ]
        total = Summary(
            rejected=self.checks.rejected,
            warnings=self.checks.warnings,
            rejected_files=set(self.checks.rejected_files),
        )
        for future in finishing:
            part, messages = future.result()
            for message in messages:
                self.report(message)
            total.add(part)
        return total
