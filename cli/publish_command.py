"""`vnsearch publish`: send the live index to read replicas (search.index.publish)."""

from __future__ import annotations

import click

from cli.options import index_dir_option, invocation_settings, setting_option


@click.command("publish")
@index_dir_option
@click.argument("destinations", nargs=-1, required=True)
@click.option(
    "--bwlimit",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="rsync's bandwidth limit per transfer, in KiB/s (0: none).",
)
@setting_option("--ssh", "publish_ssh")
def publish_command(index_dir: str, destinations: tuple[str, ...], bwlimit: int, ssh: str) -> None:
    """Send the last committed generation to each DESTINATION (a folder, or host:/path over
    ssh) with rsync, only files it lacks, then switch it there atomically. A replica a
    publish fails on stays on its previous generation; the others are still published."""
    from search.index.publish import PublishError, committed_files, publish, ssh_command

    try:
        remote_shell = ssh_command(ssh)
        committed_files(index_dir)  # refuse up front rather than once per replica
    except (PublishError, OSError) as error:
        raise click.ClickException(str(error)) from None
    failed = 0
    for destination in destinations:
        try:
            done = publish(
                index_dir,
                destination,
                bwlimit_kib=bwlimit,
                ssh=remote_shell,
                sidecar_min_docs=invocation_settings().serve_sidecar_min_docs,
            )
        except PublishError as error:
            failed += 1
            click.echo(f"{destination}: not published: {error}", err=True)
            continue
        click.echo(
            f"{done.replica}: generation {done.generation} in {done.build} "
            f"({done.sent} of {done.files} files sent)"
        )
    if failed:
        raise click.ClickException(f"{failed} of {len(destinations)} replicas not published")
