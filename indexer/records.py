"""What every reader (JSONL, saved page, feed) yields: one raw record or one error, with its place.

Readers never validate beyond their format: `indexer.validate` turns a RawRecord into a clean
Article or a rejection with a reason, so every source is held to the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The canonical article fields (../shared/corpus/README.md).
ARTICLE_FIELDS = (
    "id",
    "url",
    "title",
    "summary",
    "body",
    "published",
    "source",
    "category",
    "author",
)


@dataclass(frozen=True)
class RawRecord:
    """One record as read, before validation.

    `data` holds canonical article keys (values as found: str, None, or anything JSON gave);
    `error` is set instead when the reader could not make a record of this place at all.
    `plain_text` says the reader already turned markup into text (feeds know which fields are
    HTML); otherwise the validator does it, so entities are decoded exactly once.
    """

    path: str
    line: int
    data: dict[str, Any] | None = None
    error: str | None = None
    plain_text: bool = False

    @property
    def where(self) -> str:
        """`FILE:LINE` (or `FILE` for a whole-file problem), the prefix of every message."""
        return f"{self.path}:{self.line}" if self.line else self.path
