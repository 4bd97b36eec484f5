"""scale.py's archive pass and query kinds, drawn from a seeded sample of the archive itself.

One pass over the archive counts its articles and uncompressed bytes and keeps a uniform
sample of its records (reservoir sampling with a fixed seed, only the kept lines decoded).
The queries are then made from the sample's titles:

  title4_folded    the first 4 title words, lowercase, accents removed
  title8_accented  the first 8 title words, lowercase, accented (titles of 8 words or more)
  topic_accented   1-4 consecutive title words that at least MIN_TOPIC_TITLES sampled titles
                   hold: a word, a syllable pair, a short phrase ("giá vàng", "bóng đá việt nam")
  topic_folded     the same topics, accents removed
  browse           no words (newest first, facets), page 1-3, half with one filter: a
                   sampled article's section or year
  newest           another topic draw, accented or folded at random, sort=newest
"""

from __future__ import annotations

import gzip
import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import Doc, doc_from_record, strip_accents, words

KINDS = (
    "title4_folded",
    "title8_accented",
    "topic_accented",
    "topic_folded",
    "browse",
    "newest",
)
MIN_TOPIC_TITLES = 3
TOPIC_SIZES = {1: 20, 2: 40, 3: 25, 4: 15}  # weights of topic lengths in words


@dataclass
class ArchiveScan:
    path: Path
    articles: int
    jsonl_bytes: int  # uncompressed
    sample: list[Doc]


@dataclass
class Case:
    """One request; the figures are filled in by the runs."""

    kind: str
    params: dict[str, Any]
    ms: float = 0.0
    status: int = 0  # HTTP status of vnsearch's answer
    total: int = -1
    took_ms: float | None = None  # the server's own time
    partial: bool = False
    peers_ms: dict[str, float] = field(default_factory=dict)

    @property
    def q(self) -> str:
        return str(self.params.get("q", ""))


def _raw_lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        yield from handle


def scan_archive(path: Path, sample_size: int, seed: int) -> ArchiveScan:
    """Articles, uncompressed bytes and a seeded uniform sample of the records, in one pass."""
    rng = random.Random(f"{seed}:archive-sample")
    kept: list[bytes] = []
    articles = size = 0
    for line in _raw_lines(path):
        size += len(line)
        if not line.strip():
            continue
        if articles < sample_size:
            kept.append(line)
        else:
            slot = rng.randrange(articles + 1)
            if slot < sample_size:
                kept[slot] = line
        articles += 1
    sample = [doc_from_record(json.loads(line)) for line in kept]
    return ArchiveScan(path, articles, size, sample)


def _typed(title: str) -> list[str]:
    return [word.lower() for word in words(title)]


def topic_table(sample: list[Doc]) -> dict[int, list[str]]:
    """Runs of 1-4 title words held by at least MIN_TOPIC_TITLES sampled titles, by length."""
    held: Counter[str] = Counter()
    for doc in sample:
        typed = _typed(doc.title)
        runs = {
            " ".join(typed[start : start + size])
            for size in TOPIC_SIZES
            for start in range(len(typed) - size + 1)
        }
        held.update(runs)
    table: dict[int, list[str]] = {size: [] for size in TOPIC_SIZES}
    for run, count in sorted(held.items()):
        if count >= MIN_TOPIC_TITLES and not run.replace(" ", "").isdigit():
            table[len(run.split())].append(run)
    return {size: runs for size, runs in table.items() if runs}


def _topic(table: dict[int, list[str]], rng: random.Random) -> str:
    sizes = sorted(table)
    size = rng.choices(sizes, weights=[TOPIC_SIZES[s] for s in sizes])[0]
    return rng.choice(table[size])


def _title_start(sample: list[Doc], rng: random.Random, size: int, accented: bool) -> str:
    """The first `size` words of a sampled title that has that many."""
    for _ in range(100 * len(sample)):
        typed = _typed(rng.choice(sample).title)
        if len(typed) >= size:
            text = " ".join(typed[:size])
            return text if accented else strip_accents(text)
    raise ValueError(f"no sampled title has {size} words")


def _browse(sample: list[Doc], rng: random.Random) -> dict[str, Any]:
    params: dict[str, Any] = {"page": rng.choice((1, 1, 2, 3))}
    doc = rng.choice(sample)
    choice = rng.choice(("none", "none", "category", "year"))
    if choice == "category" and doc.category:
        params["category"] = doc.category
    elif choice == "year" and doc.published[:4].isdigit():
        params["from"] = params["to"] = doc.published[:4]
    return params


def make_cases(sample: list[Doc], per_kind: int, seed: int) -> list[Case]:
    """per_kind requests of every kind, shuffled together (drift then hits all kinds alike)."""
    rng = random.Random(f"{seed}:scale-queries")
    table = topic_table(sample)
    if not table:
        raise ValueError(f"no title words are held by {MIN_TOPIC_TITLES} sampled titles")
    cases: list[Case] = []
    for _ in range(per_kind):
        topic = _topic(table, rng)
        newest = _topic(table, rng)
        cases += [
            Case("title4_folded", {"q": _title_start(sample, rng, 4, accented=False)}),
            Case("title8_accented", {"q": _title_start(sample, rng, 8, accented=True)}),
            Case("topic_accented", {"q": topic}),
            Case("topic_folded", {"q": strip_accents(topic)}),
            Case("browse", _browse(sample, rng)),
            Case(
                "newest",
                {"q": newest if rng.random() < 0.5 else strip_accents(newest), "sort": "newest"},
            ),
        ]
    rng.shuffle(cases)
    return cases
