"""Options shared by the `vnsearch` commands: a setting's value as an option's default."""

from __future__ import annotations

from typing import Any

import click

from search.settings import SETTINGS, SettingError, Settings, resolve_settings

_SETTINGS = {s.name: s for s in SETTINGS}
_META_KEY = "vnsearch.settings"


def invocation_settings() -> Settings:
    """The settings of the running command, resolved on first use and kept for the rest of
    the invocation; a bad VNSEARCH_* value is an error naming the variable."""
    meta = click.get_current_context().meta  # shared by a command and its group
    if _META_KEY not in meta:
        try:
            meta[_META_KEY] = resolve_settings()
        except SettingError as error:
            raise click.ClickException(str(error)) from None
    settings: Settings = meta[_META_KEY]
    return settings


def setting_option(flag: str, name: str, text: str | None = None, kind: Any = None) -> Any:
    """A click option whose default is the setting's value for this invocation, and whose
    help (unless `text` is given) and shown default come from its declaration."""
    setting = _SETTINGS[name]
    return click.option(
        flag,
        type=kind or type(setting.default),
        default=lambda: getattr(invocation_settings(), name),
        show_default=f"{setting.default}, or ${setting.env_var}",
        help=text or setting.help,
    )


index_dir_option: Any = setting_option("--index-dir", "index_dir", kind=click.Path(file_okay=False))
