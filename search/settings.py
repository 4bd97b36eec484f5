"""Every tunable, declared once with its default and help; read by the CLI and the web app.

A setting's environment variable is VNSEARCH_<NAME> (e.g. VNSEARCH_INDEX_DIR).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    default: int | str
    help: str

    @property
    def env_var(self) -> str:
        return "VNSEARCH_" + self.name.upper()


SETTINGS = (
    Setting("index_dir", "index_data", "Directory holding the Whoosh index."),
    Setting("batch_size", 20_000, "Articles per indexer commit (a crash loses at most one)."),
    Setting("index_procs", 2, "Processes that analyse and write a large batch (1: none)."),
    Setting("writer_timeout", 60, "Seconds an indexer waits for another indexer's lock."),
    Setting(
        "index_nice",
        10,
        "Niceness `vnsearch index` and `optimize` run at, so that searches served from the "
        "same machine get the CPU first (0: unchanged).",
    ),
    Setting("max_text_chars", 1_000_000, "Longer texts are truncated at import, with a warning."),
    Setting("page_size", 20, "Results per page when the request does not say."),
    Setting("max_page_size", 100, "Largest per_page a request may ask for."),
    Setting("max_result_window", 10_000, "How deep paging may go (page * per_page)."),
    Setting("max_query_chars", 500, "Longest query string accepted."),
    Setting("facet_size", 10, "Values shown per facet (year and month show all)."),
    Setting("search_time_limit_ms", 2000, "Time budget of one search before it is cut short."),
    Setting("export_limit", 10_000, "Most rows in a CSV or JSONL export."),
    Setting("serve_workers", 0, "Server worker processes (0: one per core)."),
    Setting(
        "serve_warm_terms",
        200,
        "Most frequent terms per field whose postings the server reads before it forks its "
        "workers, so that every worker starts warm (0: none; 200 take ~9 s on 156k articles).",
    ),
    Setting(
        "serve_threads",
        1,
        "Request threads per worker: searching is CPU-bound, so more threads only share one "
        "core's GIL (8 clients on 2 workers, 156k articles: 70 req/s with 1, 56 with 4).",
    ),
)
_BY_NAME = {setting.name: setting for setting in SETTINGS}


def get_setting(name: str) -> int | str:
    """The value of a setting: its environment variable if set, else its default."""
    setting = _BY_NAME[name]
    raw = os.environ.get(setting.env_var)
    if raw is None or raw == "":
        return setting.default
    if isinstance(setting.default, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{setting.env_var} must be an integer, got {raw!r}") from None
    return raw


def all_settings() -> dict[str, int | str]:
    """Every setting's current value, by name (what the web app loads into its config)."""
    return {setting.name: get_setting(setting.name) for setting in SETTINGS}
