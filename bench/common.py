"""Shared by the benchmarks: the corpus, accent folding for query generation, peer engines.

Nothing here imports `search.analysis`: queries are generated independently of the analysis
they test. The peers are off-the-shelf builds over the same articles (title, summary, body):

* SQLite FTS5 with `unicode61 remove_diacritics 2` (it does not fold đ, and we leave it so);
* tantivy with the simple tokenizer, lowercase and ASCII folding (which folds đ to d, but
  splits NFD text at combining marks).

Peer indexes are cached in bench/out/peers/, keyed by the corpus files' names, sizes and
modification times, so reruns only open them.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
CORPUS_DIR = REPO_DIR.parent / "shared" / "corpus"
NEWS = CORPUS_DIR / "news-2025-2026.jsonl.gz"
DANTRI = CORPUS_DIR / "dantri-2020-2021.jsonl.gz"
DEFAULT_INDEX_DIR = Path(
    os.environ.get("VNSEARCH_BENCH_INDEX", REPO_DIR.parent / "bench" / "full156k")
)
PEER_FORMAT = 1  # bump when the peer indexes change shape

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Doc:
    id: str
    url: str
    title: str
    summary: str
    body: str
    source: str
    category: str
    published: str


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def doc_from_record(record: dict[str, Any]) -> Doc:
    return Doc(
        str(record["id"]),
        record.get("url") or "",
        record.get("title") or "",
        record.get("summary") or "",
        record.get("body") or "",
        record.get("source") or "",
        record.get("category") or "",
        record.get("published") or "",
    )


def iter_docs(paths: Sequence[Path]) -> Iterator[Doc]:
    """The articles of the files one at a time, for corpora too large to hold in a list."""
    for path in paths:
        for record in read_jsonl(path):
            yield doc_from_record(record)


def load_docs(paths: Sequence[Path] = (NEWS, DANTRI), limit: int | None = None) -> list[Doc]:
    """The articles of the corpus files, in file order (ids are unique across the files)."""
    docs: list[Doc] = []
    for doc in iter_docs(paths):
        docs.append(doc)
        if limit is not None and len(docs) >= limit:
            break
    return docs


def corpus_key(paths: Sequence[Path]) -> str:
    """A short hash naming a cache built from these files."""
    parts = [f"peer-format-{PEER_FORMAT}"]
    for path in paths:
        stat = path.stat()
        parts.append(f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]


# --- text helpers for query generation (independent of search.analysis) -------------------


def strip_accents(text: str) -> str:
    """What a reader typing without diacritics writes: all marks dropped, đ -> d."""
    decomposed = unicodedata.normalize("NFD", text)
    plain = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", plain.replace("đ", "d").replace("Đ", "D"))


def words(text: str) -> list[str]:
    """Words of an NFC text: runs of letters and digits (punctuation dropped)."""
    return _WORD.findall(unicodedata.normalize("NFC", text))


def title_words(doc: Doc, rng: random.Random, accented: bool) -> str | None:
    """2-4 consecutive words of the title, lowercase, as a reader types them (without
    accents unless `accented`); None when the title is too short. Shared by the query and
    load mixes."""
    typed = [w.lower() for w in words(doc.title)]
    size = rng.randint(2, 4)
    if len(typed) < size:
        return None
    start = rng.randrange(len(typed) - size + 1)
    chosen = " ".join(typed[start : start + size])
    return chosen if accented else strip_accents(chosen)


def peer_tokens(query: str) -> list[str]:
    """A query split the way a plain client would: on anything but letters, marks, digits.

    Marks are kept inside words so that NFD input reaches the peer as typed.
    """
    cleaned = "".join(c if unicodedata.category(c)[0] in "LMN" else " " for c in query)
    return [token.lower() for token in cleaned.split()]


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- peers ---------------------------------------------------------------------------------


class Fts5:
    """SQLite FTS5, unicode61 with remove_diacritics 2, default bm25 ranking."""

    name = "fts5"

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(str(path), check_same_thread=False)

    @classmethod
    def build(cls, docs: Iterable[Doc], path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        db = sqlite3.connect(str(tmp))
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE TABLE ids(rowid INTEGER PRIMARY KEY, id TEXT)")
        db.execute(
            "CREATE VIRTUAL TABLE articles USING fts5("
            "title, summary, body, tokenize='unicode61 remove_diacritics 2')"
        )
        with db:
            for rowid, doc in enumerate(docs, 1):
                db.execute("INSERT INTO ids VALUES (?, ?)", (rowid, doc.id))
                db.execute(
                    "INSERT INTO articles(rowid, title, summary, body) VALUES (?, ?, ?, ?)",
                    (rowid, doc.title, doc.summary, doc.body),
                )
        db.execute("INSERT INTO articles(articles) VALUES ('optimize')")
        db.commit()
        db.close()
        tmp.rename(path)

    def search(self, query: str, mode: str, limit: int = 10, offset: int = 0) -> list[str]:
        tokens = peer_tokens(query)
        if not tokens:
            return []
        joiner = " OR " if mode == "or" else " "
        match = joiner.join('"' + t.replace('"', '""') + '"' for t in tokens)
        rows = self.db.execute(
            "SELECT ids.id FROM articles JOIN ids ON ids.rowid = articles.rowid "
            "WHERE articles MATCH ? ORDER BY rank LIMIT ? OFFSET ?",
            (match, limit, offset),
        ).fetchall()
        return [row[0] for row in rows]


class Tantivy:
    """tantivy: simple tokenizer + lowercase + ASCII folding, default BM25 over three fields."""

    name = "tantivy"
    FIELDS = ["title", "summary", "body"]

    def __init__(self, path: Path) -> None:
        import tantivy

        self.tantivy = tantivy
        self.index = tantivy.Index(self.schema(), path=str(path))
        self.index.register_tokenizer("fold", self.analyzer())
        self.index.reload()
        self.searcher = self.index.searcher()

    @staticmethod
    def analyzer() -> Any:
        import tantivy

        return (
            tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
            .build()
        )

    @staticmethod
    def schema() -> Any:
        import tantivy

        builder = tantivy.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        for name in Tantivy.FIELDS:
            builder.add_text_field(name, stored=False, tokenizer_name="fold")
        return builder.build()

    @classmethod
    def build(cls, docs: Iterable[Doc], path: Path) -> None:
        import tantivy

        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        index = tantivy.Index(cls.schema(), path=str(tmp))
        index.register_tokenizer("fold", cls.analyzer())
        writer = index.writer(heap_size=200_000_000, num_threads=1)
        for doc in docs:
            writer.add_document(
                tantivy.Document(id=doc.id, title=doc.title, summary=doc.summary, body=doc.body)
            )
        writer.commit()
        writer.wait_merging_threads()
        tmp.rename(path)

    def search(self, query: str, mode: str, limit: int = 10, offset: int = 0) -> list[str]:
        tokens = peer_tokens(query)
        if not tokens:
            return []
        parsed = self.index.parse_query(
            " ".join(tokens),
            default_field_names=self.FIELDS,
            conjunction_by_default=(mode == "and"),
        )
        result = self.searcher.search(parsed, limit, count=False, offset=offset)
        return [self.searcher.doc(address)["id"][0] for _, address in result.hits]


PEERS = {"fts5": Fts5, "tantivy": Tantivy}


def peer_path(name: str, docs_paths: Sequence[Path]) -> Path:
    """Where the cached peer index over these corpus files lives (bench/out/peers/)."""
    folder = OUT_DIR / "peers"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".sqlite" if name == "fts5" else ""
    return folder / f"{name}-{corpus_key(docs_paths)}{suffix}"


def build_peer(name: str, docs: Iterable[Doc], path: Path, count: int) -> float:
    """Build a peer index at path from the articles (a list or a stream); the seconds taken."""
    started = time.perf_counter()
    print(f"building {name} index over {count:,} articles in {path} ...", flush=True)
    PEERS[name].build(docs, path)
    seconds = time.perf_counter() - started
    print(f"  built in {seconds:.0f} s", flush=True)
    return seconds


def open_peer(name: str, docs_paths: Sequence[Path], docs: list[Doc] | None = None) -> Any:
    """Open a cached peer index over these corpus files, building it first when missing."""
    path = peer_path(name, docs_paths)
    if not path.exists():
        source = docs if docs is not None else load_docs(docs_paths)
        build_peer(name, source, path, len(source))
    return PEERS[name](path)


def git_state() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_DIR), "status", "--porcelain", "search", "web"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" +uncommitted changes in search/ or web/" if dirty else "")
