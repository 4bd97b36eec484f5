"""Options shared by the `vnsearch` commands: a setting's value as an option's default."""

from __future__ import annotations

from typing import Any

import click

from search.settings import SETTINGS, get_setting

_SETTINGS = {s.name: s for s in SETTINGS}


def setting_option(flag: str, name: str, text: str | None = None, kind: Any = None) -> Any:
    """A click option whose default is the setting's value, read when the command runs, and
    whose help (unless `text` is given) and shown default come from its declaration."""
    setting = _SETTINGS[name]
    convert = int if isinstance(setting.default, int) else str
    return click.option(
        flag,
        type=kind or convert,
        default=lambda: convert(get_setting(name)),
        show_default=f"{setting.default}, or ${setting.env_var}",
        help=text or setting.help,
    )


index_dir_option: Any = setting_option("--index-dir", "index_dir", kind=click.Path(file_okay=False))
