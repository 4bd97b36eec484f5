"""Index articles in batches: validate, dedupe, upsert by id, commit durably.

A crash loses at most the batch in flight (and the next one, read meanwhile): every commit
before it is whole, and a failed batch is cancelled, never half-written.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from whoosh.index import FileIndex

from indexer.idle_cores import OtherLoad, processes_for
from indexer.records import RawRecord
from indexer.validate import RecordError, check_record
from search.analysis.chains import TermMemo
from search.index.helper_processes import DocumentFailed
from search.index.schema import Article, to_document
from search.index.store import KnownIds, locked_writer, open_or_create

Report = Callable[[str], None]


def report_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Summary:
    added: int = 0
    updated: int = 0
    rejected: int = 0
    warnings: int = 0
    rejected_files: set[str] = field(default_factory=set)

    def add(self, other: Summary) -> None:
        """Count another import's figures in (the shards of one import)."""
        self.added += other.added
        self.updated += other.updated
        self.rejected += other.rejected
        self.warnings += other.warnings
        self.rejected_files |= other.rejected_files

    def line(self) -> str:
        return f"{self.added:,} added, {self.updated:,} updated, {self.rejected:,} rejected" + (
            f", {self.warnings:,} warnings" if self.warnings else ""
        )


class IndexBuilder:
    """Feed it raw records; it validates, batches and commits them."""

    def __init__(
        self,
        index_dir: str,
        batch_size: int = 2000,
        writer_timeout: float = 60.0,
        max_text_chars: int = 1_000_000,
        report: Report = report_to_stderr,
        defaults: dict[str, str] | None = None,
        procs: int = 1,
        merged_at_end: bool = False,
    ) -> None:
        self.index_dir = index_dir
        self.index = open_or_create(index_dir)
        # The caller merges the index into one segment once the import has at least doubled
        # it (search.index.store.import_worth_optimizing): from then on the batches leave
        # their segments as written, or every article would be rewritten once per size tier
        # before that merge rewrites it once more.
        self.merged_at_end = merged_at_end
        self.held_before = self.index.doc_count()
        self.batch_size = batch_size
        self.writer_timeout = writer_timeout
        self.max_text_chars = max_text_chars
        self.report = report
        self.defaults = defaults or {}
        self.procs = procs
        self.summary = Summary()
        self._batch: dict[str, Article] = {}
        self._other_load = OtherLoad()
        self._known = KnownIds()  # ids in the index, read once, then kept up to date
        self._term_memo = TermMemo()  # what the texts' words gave, kept across batches

    def add_records(
        self, records: Iterable[RawRecord], on_record: Callable[[], None] | None = None
    ) -> Summary:
        """Index every good record, report every bad one as FILE:LINE: reason.

        While a batch's forked helpers index their shares, this process reads and checks the
        next batch's records before indexing its own share (`ReadAhead`): reading then takes
        no time of its own between two batches, when the helpers' cores would stand idle."""
        self.flush()  # articles added one by one before
        source = iter(records)
        batch = self._next_batch(source, on_record)
        while batch:
            ahead = ReadAhead(lambda: self._next_batch(source, on_record))
            self._write(batch, ahead)
            batch = ahead.batch()
        return self.summary

    def _next_batch(
        self, source: Iterator[RawRecord], on_record: Callable[[], None] | None
    ) -> list[Article]:
        """The next `batch_size` good articles of `source` (fewer at its end), the last of
        each id in the place of its first."""
        batch: dict[str, Article] = {}
        for raw in source:
            article = self.checked(raw)
            if on_record:
                on_record()
            if article is not None and self._queued(batch, article):
                break
        return list(batch.values())

    def add_record(self, raw: RawRecord) -> None:
        article = self.checked(raw)
        if article is not None:
            self.add_article(article)

    def checked(self, raw: RawRecord) -> Article | None:
        """The record as an article, or None when it is rejected (reported as FILE:LINE:
        reason); its warnings are reported and counted."""
        return checked_article(raw, self.defaults, self.max_text_chars, self.summary, self.report)

    def add_article(self, article: Article) -> None:
        """Queue a checked article for the next commit (upsert by id)."""
        if self._queued(self._batch, article):
            self.flush()

    def _queued(self, batch: dict[str, Article], article: Article) -> bool:
        """Put the article in the batch by its id, in the place of an earlier one of the
        same id (counted as updated: the last one wins); whether the batch is now full."""
        if article.id in batch:
            self.summary.updated += 1
        batch[article.id] = article
        return len(batch) >= self.batch_size

    def flush(self) -> None:
        """Commit the current batch (upsert by id)."""
        if not self._batch:
            return
        articles = list(self._batch.values())
        self._batch.clear()
        self._write(articles)

    def _write(self, articles: list[Article], read_ahead: ReadAhead | None = None) -> None:
        """Commit a batch of articles (upsert by id); `read_ahead` runs once meanwhile."""
        procs = processes_for(self.procs, len(articles), self._other_load.cores())
        merge = not (self.merged_at_end and self.summary.added >= self.held_before)
        while articles:
            try:
                replaced = write_batch(
                    self.index,
                    articles,
                    self.writer_timeout,
                    self.report,
                    procs,
                    self._known,
                    merge,
                    self._term_memo,
                    read_ahead,
                )
            except DocumentError as error:
                # The writer was cancelled: redo the batch without the document Whoosh refused.
                self.summary.rejected += 1
                self.report(f"id {error.article.id}: refused by the index: {error.__cause__}")
                articles = [a for a in articles if a is not error.article]
                continue
            self.summary.updated += replaced
            self.summary.added += len(articles) - replaced
            return

    def delete(self, ids: Iterable[str]) -> int:
        """Delete articles by id; returns how many were found."""
        with locked_writer(self.index, self.writer_timeout, self.report) as writer:
            with writer.searcher() as searcher:
                return sum(writer.delete_by_term("id", i, searcher=searcher) for i in ids)


def write_batch(
    index: FileIndex,
    articles: list[Article],
    timeout: float,
    report: Report,
    procs: int = 1,
    known: KnownIds | None = None,
    merge: bool = True,
    term_memo: TermMemo | None = None,
    read_ahead: ReadAhead | None = None,
) -> int:
    """Upsert one batch in one commit; returns how many articles replaced an older version.

    With procs > 1 the batch is shared out to forked processes, a segment each; the deletions
    and `read_ahead` run here meanwhile, before this process indexes its own (smaller) share.
    Without `merge`, the commit merges no older segments.

    `delete_by_term` then `add_document` replaces every older copy (update_document deletes
    only the first).
    """
    replaced = 0
    known = known or KnownIds()
    ids = [article.id for article in articles]

    def delete_older_versions() -> None:
        nonlocal replaced
        held = known.maybe_held(writer, ids)
        if not held:
            return  # a searcher opens every segment: not for nothing
        with writer.searcher() as searcher:
            for doc_id in held:
                replaced += min(1, writer.delete_by_term("id", doc_id, searcher=searcher))

    def meanwhile() -> None:
        delete_older_versions()
        if read_ahead is not None:
            read_ahead()

    try:
        with locked_writer(index, timeout, report) as writer:
            writer.merge_procs = procs  # no forked helper either where the cores are busy
            writer.merge = merge
            if term_memo is not None:
                writer.term_memo = term_memo
            fields = set(writer.schema.names())  # an index built before a field was added
            docs = Documents(articles, fields)
            ahead = read_ahead is not None and not read_ahead.done
            busy = READING_COST * len(articles) if ahead else 0.0
            writer.add_documents(docs, procs, meanwhile=meanwhile, meanwhile_docs=busy)
    except DocumentFailed as failed:  # the writer was cancelled
        raise DocumentError(articles[failed.index]) from failed.__cause__
    known.committed(writer.generation, ids)
    return replaced


def checked_article(
    raw: RawRecord,
    defaults: dict[str, str],
    max_text_chars: int,
    summary: Summary,
    report: Report,
) -> Article | None:
    """The record as an article (missing fields from `defaults`), or None when it is
    rejected; rejections and warnings are reported as FILE:LINE: reason and counted."""
    if raw.data is not None and defaults:
        raw = RawRecord(raw.path, raw.line, {**defaults, **_present(raw.data)})
    try:
        checked = check_record(raw, max_text_chars)
    except RecordError as error:
        summary.rejected += 1
        summary.rejected_files.add(raw.path)
        report(f"{raw.where}: {error}")
        return None
    for warning in checked.warnings:
        summary.warnings += 1
        report(f"{raw.where}: warning: {warning}")
    return checked.article


class Documents(Sequence[dict[str, Any]]):
    """The batch's Whoosh documents, each made when it is read: a writer's forked helpers
    make their own share's, in parallel, instead of this process making all of them first."""

    def __init__(self, articles: list[Article], fields: Container[str]) -> None:
        self.articles = articles
        self.fields = fields

    def __len__(self) -> int:
        return len(self.articles)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [to_document(a, self.fields) for a in self.articles[index]]
        return to_document(self.articles[index], self.fields)


# Reading and checking a record costs about this share of indexing an article in the
# writer's process (bench/README.md, how a build uses the cores): the writer's share of a
# batch is smaller by that much of the next batch, which it reads meanwhile.
READING_COST = 0.06


class ReadAhead:
    """The next batch, read while a batch is written: at most once (a batch written again
    without a refused article does not read another), and its failure kept for later, so
    that the batch being written is committed first."""

    def __init__(self, read: Callable[[], list[Article]]) -> None:
        self._read = read
        self._batch: list[Article] | None = None
        self._error: Exception | None = None
        self._done = False

    @property
    def done(self) -> bool:
        """Whether it has read (a batch written again has nothing more to read meanwhile)."""
        return self._done

    def __call__(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            self._batch = self._read()
        except Exception as error:  # reported once the batch being written is committed
            self._error = error

    def batch(self) -> list[Article]:
        """The batch read ahead (read now when it was not): its failure is raised here."""
        self()
        if self._error is not None:
            raise self._error
        return self._batch or []


class DocumentError(Exception):
    """add_document raised: the batch is poisoned and must be redone without this article."""

    def __init__(self, article: Article) -> None:
        super().__init__(article.id)
        self.article = article


def _present(data: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in data.items() if value not in (None, "")}
