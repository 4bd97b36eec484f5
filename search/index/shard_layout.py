"""A sharded index's layout: how many shards, where they are, which one holds an article.

A sharded index directory holds `shards.json` (the shard count and the routing rule) and one
ordinary index per shard under `shards/00`, `shards/01`, ... Each shard is written by the
same indexer as a single index and can be checked, optimized or published on its own.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

LAYOUT_FILE = "shards.json"
ROUTING = "blake2b-64 of the UTF-8 id, modulo the shard count"
MAX_SHARDS = 256


class LayoutError(ValueError):
    """The layout file is missing where needed, unreadable, or disagrees with a request."""


def shard_of(article_id: str, shards: int) -> int:
    """The shard an article belongs to: a stable hash of its id, modulo the shard count.

    By id rather than by publication time: an update of an article (same id) lands on the
    shard that already holds it, so the older copy is replaced there and never duplicated on
    another; a hash spreads articles evenly over the shards whatever their dates; and routing
    by time would send every new import to the newest shard, which would then do all the
    writing and answer most of the searches for recent news. The hash is blake2b, not
    Python's `hash()`, which differs between processes.
    """
    digest = hashlib.blake2b(article_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


@dataclass(frozen=True)
class ShardLayout:
    """The shards of the index at `root`."""

    root: str
    shards: int

    def shard_dir(self, number: int) -> str:
        """The index directory of shard `number`."""
        return os.path.join(self.root, "shards", f"{number:02d}")

    def shard_dirs(self) -> list[str]:
        return [self.shard_dir(n) for n in range(self.shards)]

    def shard_for(self, article_id: str) -> int:
        return shard_of(article_id, self.shards)

    def save(self) -> None:
        """Write the layout file (atomically: a reader never sees half of it)."""
        os.makedirs(self.root, exist_ok=True)
        for path in self.shard_dirs():
            os.makedirs(path, exist_ok=True)
        target = os.path.join(self.root, LAYOUT_FILE)
        temporary = target + ".tmp"
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump({"shards": self.shards, "routing": ROUTING}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)


def is_sharded(root: str) -> bool:
    """Whether `root` holds a sharded index (a layout file)."""
    return os.path.isfile(os.path.join(root, LAYOUT_FILE))


def read_layout(root: str) -> ShardLayout:
    """The layout saved at `root`.

    :raise LayoutError: no layout file, or one that cannot be read.
    """
    path = os.path.join(root, LAYOUT_FILE)
    try:
        with open(path, encoding="utf-8") as layout_file:
            saved = json.load(layout_file)
        shards = int(saved["shards"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LayoutError(f"{path}: not a readable shard layout ({error})") from None
    if saved.get("routing") != ROUTING or not 1 <= shards <= MAX_SHARDS:
        raise LayoutError(f"{path}: unknown routing or shard count")
    return ShardLayout(root, shards)


def layout_for_import(root: str, shards: int | None) -> ShardLayout | None:
    """The layout an import into `root` writes with: the saved one, or a new one for
    `--shards N` on a directory holding no index yet; None for a single index.

    :raise LayoutError: `--shards` disagrees with the saved count (routing would change and
        updates would land on the wrong shard), or asks to shard an existing single index.
    """
    if is_sharded(root):
        layout = read_layout(root)
        if shards is not None and shards != layout.shards:
            raise LayoutError(
                f"{root} holds {layout.shards} shards; --shards {shards} would route "
                "articles differently (leave --shards out to import into the existing ones)"
            )
        return layout
    if shards is None:
        return None
    if not 1 <= shards <= MAX_SHARDS:
        raise LayoutError(f"--shards must be between 1 and {MAX_SHARDS}")
    if os.path.isdir(root) and any(name != "shards" for name in os.listdir(root)):
        raise LayoutError(f"{root} already holds a single index or other files; shard a new one")
    layout = ShardLayout(root, shards)
    layout.save()
    return layout
