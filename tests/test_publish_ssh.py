"""`vnsearch publish` to `host:/path` through a real sshd on 127.0.0.1 (the ssh_server
fixture), reached with the publish_ssh setting: the same guarantees as a local replica."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from search.index.durability import live_dir, verify
from search.index.publish import PublishError, publish, ssh_command

pytestmark = pytest.mark.serial


def news_found(server_url: str) -> int:
    """How many articles a search for the word of the imported news finds on this server."""
    with urllib.request.urlopen(server_url + "api/search?q=xanhquyt", timeout=5) as resp:
        total: int = json.loads(resp.read())["total"]
        return total


def test_publish_over_ssh_sends_only_new_files_and_the_server_follows(
    tmp_path: Path,
    indexing_node: Path,
    import_news: Any,
    served: Any,
    ssh_server: Any,
    running_server: Any,
    files_reused: Any,
) -> None:
    replica = tmp_path / "replica"
    remote, shell = f"{ssh_server.alias}:{replica}", ssh_command(ssh_server.ssh)
    first = publish(str(indexing_node), remote, ssh=shell)
    assert first.sent == first.files and served(replica) == (first.build, first.generation, 77)

    with running_server(replica, tmp_path / "serve.log") as server:
        assert news_found(server.url) == 0
        generation = import_news(indexing_node)
        second = publish(str(indexing_node), remote, ssh=shell)
        assert served(replica) == (second.build, generation, 80)
        deadline = time.monotonic() + 10
        while news_found(server.url) != 3:
            assert time.monotonic() < deadline, "the server still answers from the old build"
            time.sleep(0.05)

    assert verify(live_dir(replica), generation) == ([], [])
    files_reused(replica, first, second)
    assert sorted(os.listdir(replica)) == sorted(["current", first.build, second.build])


@pytest.mark.parametrize("kill_after", [0.0, 0.8])
def test_an_interrupted_publish_over_ssh_leaves_the_previous_generation(
    tmp_path: Path,
    indexing_node: Path,
    import_news: Any,
    served: Any,
    ssh_server: Any,
    interrupted_publish: Any,
    kill_after: float,
) -> None:
    replica = tmp_path / "replica"
    remote, environment = f"{ssh_server.alias}:{replica}", {"VNSEARCH_PUBLISH_SSH": ssh_server.ssh}
    command = [sys.executable, "-m", "cli", "publish", "--index-dir", str(indexing_node), remote]
    assert subprocess.run(command, env={**os.environ, **environment}).returncode == 0
    before = served(replica)
    generation = import_news(indexing_node)
    interrupted_publish(
        [*command, "--bwlimit", "1"], replica, kill_after, env={**os.environ, **environment}
    )

    assert served(replica) == before
    done = CliRunner().invoke(main, command[3:], env=environment)
    assert done.exit_code == 0, done.output
    assert served(replica)[1:] == (generation, 80)
    assert not [n for n in os.listdir(replica) if n.startswith(".incoming-")]


@pytest.mark.parametrize(
    ("host", "ssh", "reason"),
    [
        ("closed_alias", None, "Connection refused"),
        ("no-such-replica.invalid", None, "Could not resolve hostname"),
        ("alias", "ssh -F /nonexistent/ssh_config", "/nonexistent/ssh_config"),
        ("alias", "ssh -F '/unclosed", "No closing quotation"),
        ("alias", " ", "the ssh command is empty"),
    ],
)
def test_an_unreachable_replica_is_a_clear_error(
    tmp_path: Path, indexing_node: Path, ssh_server: Any, host: str, ssh: Any, reason: str
) -> None:
    replica = tmp_path / "replica"
    host = getattr(ssh_server, host, host)
    args = ["publish", "--index-dir", str(indexing_node), "--ssh", ssh or ssh_server.ssh]
    done = CliRunner().invoke(main, [*args, f"{host}:{replica}"])
    assert done.exit_code == 1 and reason in done.output, done.output
    assert "Traceback" not in done.output and not replica.exists()


def test_publish_raises_publish_error_for_a_closed_port(
    tmp_path: Path, indexing_node: Path, ssh_server: Any
) -> None:
    destination = f"{ssh_server.closed_alias}:{tmp_path / 'replica'}"
    with pytest.raises(PublishError, match="cannot run commands on vnsearch-closed over ssh"):
        publish(str(indexing_node), destination, ssh=ssh_command(ssh_server.ssh))
