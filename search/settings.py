"""Every tunable, declared once with its default and help, and resolved once per process.

`Settings` is the one owner: its fields are the settings (default, help, lowest allowed
value or a string's form in each field's metadata). `resolve_settings` reads them in order
of precedence: defaults, then the environment (VNSEARCH_<NAME>, e.g. VNSEARCH_INDEX_DIR),
then a config mapping with uppercase keys (the web app's instance config.py or
test_config). Nothing else reads the environment: the web app keeps its resolved Settings,
the CLI resolves them once per command, and the search engine is handed the values it needs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T", int, str)


class SettingError(ValueError):
    """A setting given a value it cannot take; the message names where the value came from."""


def _declare(default: T, help: str, minimum: int = 0, form: tuple[str, str] = ("", "")) -> T:
    """A Settings field: its default, its help, (integers) its lowest allowed value and
    (strings) the form a non-empty value must have: a regular expression and its description."""
    metadata = {"help": help, "minimum": minimum, "form": form}
    declared: Any = field(default=default, metadata=metadata)
    return declared  # a dataclass Field, typed as its value for the checker


CLUSTER_FORM = (r"local:[1-9][0-9]{0,2}|tcp://[^/?#\s]+:[0-9]+", "local:W or tcp://HOST:PORT")
BASE_URL_FORM = (r"https?://[^/?#\s]+(?:/[^?#\s]*)?", "an http(s) URL without query or fragment")


@dataclass(frozen=True)
class Settings:
    """The resolved value of every setting (build it with `resolve_settings`)."""

    index_dir: str = _declare("index_data", "Directory holding the Whoosh index.")
    batch_size: int = _declare(
        20_000, "Articles per indexer commit (a crash loses at most one).", minimum=1
    )
    index_procs: int = _declare(
        2, "Processes that analyse and write a large batch (1: none).", minimum=1
    )
    writer_timeout: int = _declare(60, "Seconds an indexer waits for another indexer's lock.")
    index_nice: int = _declare(
        10,
        "Niceness `vnsearch index` and `optimize` run at, so that searches served from the "
        "same machine get the CPU first (0: unchanged).",
    )
    max_text_chars: int = _declare(
        1_000_000, "Longer texts are truncated at import, with a warning.", minimum=1
    )
    page_size: int = _declare(20, "Results per page when the request does not say.", minimum=1)
    max_page_size: int = _declare(100, "Largest per_page a request may ask for.", minimum=1)
    max_result_window: int = _declare(
        10_000, "How deep paging may go (page * per_page).", minimum=1
    )
    max_query_chars: int = _declare(500, "Longest query string accepted.", minimum=1)
    facet_size: int = _declare(10, "Values shown per facet (year and month show all; 0: all).")
    search_time_limit_ms: int = _declare(2000, "Time budget of one search before it is cut short.")
    export_limit: int = _declare(10_000, "Most rows in a CSV or JSONL export.", minimum=1)
    serve_workers: int = _declare(0, "Server worker processes (0: one per core).")
    serve_warm_terms: int = _declare(
        1000,
        "Most frequent terms per field whose postings (and sets, for the folded fields) the "
        "server reads before it forks its workers, so that every worker starts warm (0: none).",
    )
    serve_sidecar_min_docs: int = _declare(
        10_000,
        "Documents a segment must hold for the server to decode its postings into "
        "derived/ before it warms its caches, so that workers map them instead of decoding.",
        minimum=1,
    )
    serve_preload_percent: int = _declare(
        50,
        "Share of the memory available (in percent) the server may fill with the index "
        "files, read once at start, so that the first queries do not wait for the disk "
        "(0: none).",
    )
    serve_threads: int = _declare(
        1,
        "Request threads per worker: searching is CPU-bound, so more threads only share one "
        "core's interpreter lock.",
        minimum=1,
    )
    public_base_url: str = _declare(
        "",
        "The site's address as readers reach it (https://tin.example.vn): the start of the few "
        "URLs that must be absolute (Atom ids and links, the OpenAPI server). Empty: those are "
        "relative or opaque; never taken from a request's Host header.",
        form=BASE_URL_FORM,
    )

    cluster: str = _declare(
        "",
        "The Dask cluster a sharded index is searched on: `local:W` starts W worker "
        "processes on 127.0.0.1, `tcp://HOST:PORT` joins a running scheduler (empty: "
        "`local:` with one worker per shard).",
        form=CLUSTER_FORM,
    )
    cluster_timeout_ms: int = _declare(
        5000,
        "Time a sharded search waits for a shard; past it the answer leaves the shard out "
        "(`partial`, `missing_shards`).",
        minimum=1,
    )
    shard_replicas: int = _declare(
        1, "Workers holding each shard: with 2, a lost worker costs no shard.", minimum=1
    )
    publish_ssh: str = _declare(
        "ssh",
        "The ssh command line `vnsearch publish` reaches a host:/path replica with, as rsync's "
        "remote shell and for the switch there (another port, key or user: `ssh -F "
        "/etc/vnsearch/ssh_config`); always in batch mode, never asking for a password.",
    )

    def as_config(self) -> dict[str, int | str]:
        """Every value under its config key (uppercase name), as Flask's app.config holds it."""
        return {setting.config_key: getattr(self, setting.name) for setting in SETTINGS}


@dataclass(frozen=True)
class Setting:
    """One declared setting: what the CLI's help and the README's table show."""

    name: str
    default: int | str
    help: str
    minimum: int = 0
    form: tuple[str, str] = ("", "")  # (strings) a non-empty value's pattern, described

    @property
    def env_var(self) -> str:
        return "VNSEARCH_" + self.name.upper()

    @property
    def config_key(self) -> str:
        return self.name.upper()

    def parse(self, value: object, origin: str) -> int | str:
        """The value given in `origin` (an environment variable or a config key), checked."""
        if isinstance(self.default, str):
            text = os.fspath(value) if isinstance(value, os.PathLike) else value
            pattern, described = self.form
            if isinstance(text, str) and text and pattern and not re.fullmatch(pattern, text):
                raise SettingError(f"{origin} must be {described}, got {value!r}")
            if isinstance(text, str):
                return text
            raise SettingError(f"{origin} must be a string, got {value!r}")
        number = _integer(value)
        if number is None:
            raise SettingError(f"{origin} must be an integer, got {value!r}")
        if number < self.minimum:
            raise SettingError(f"{origin} must be at least {self.minimum}, got {number}")
        return number


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None  # True is an int to Python, never a count to a reader
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


DEFAULTS = Settings()
SETTINGS = tuple(
    Setting(
        f.name,
        getattr(DEFAULTS, f.name),
        f.metadata["help"],
        f.metadata["minimum"],
        f.metadata["form"],
    )
    for f in fields(Settings)
)


def resolve_settings(
    environ: Mapping[str, str] | None = None, config: Mapping[str, Any] | None = None
) -> Settings:
    """Defaults, overridden by the environment (VNSEARCH_<NAME>; empty counts as unset),
    overridden by `config` (uppercase names); raises SettingError naming a bad value's origin.

    :param environ: the environment to read (os.environ when not given).
    """
    environ = os.environ if environ is None else environ
    config = config or {}
    values: dict[str, int | str] = {}
    for setting in SETTINGS:
        if setting.config_key in config:
            origin = f"{setting.config_key} in the app config"
            values[setting.name] = setting.parse(config[setting.config_key], origin)
        elif environ.get(setting.env_var, "") != "":
            values[setting.name] = setting.parse(environ[setting.env_var], setting.env_var)
    return Settings(**values)  # type: ignore[arg-type]  # parse returned each field's type
