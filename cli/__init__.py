"""The `vnsearch` command: index, delete, stats, optimize, check, search, serve, publish."""

from __future__ import annotations

import click

from cli.index_commands import (
    check_command,
    delete_command,
    index_command,
    optimize_command,
    stats_command,
)
from cli.options import invocation_settings
from cli.publish_command import publish_command
from cli.search_commands import search_command
from cli.serve_command import serve_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """vnsearch: full-text search for Vietnamese news archives."""
    invocation_settings()  # resolved up front: a bad VNSEARCH_* value stops any command


for command in (
    index_command,
    delete_command,
    stats_command,
    optimize_command,
    check_command,
    search_command,
    serve_command,
    publish_command,
):
    main.add_command(command)
