"""`vnsearch publish`: replicas get only new files, switch atomically, survive interruption."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from search.index.durability import live_dir, verify
from search.index.publish import Replica, publish
from search.index.sidecar import DERIVED_DIR, SidecarKey, open_sidecar, sidecar_path
from search.index.store import open_index


@pytest.mark.parametrize(
    ("destination", "host", "path"),
    [
        ("/srv/vnsearch", None, "/srv/vnsearch"),
        ("replicas/one", None, "replicas/one"),
        ("./odd:name", None, "./odd:name"),
        ("doc2:/srv/vnsearch", "doc2", "/srv/vnsearch"),
        ("deploy@10.0.0.12:/srv/index", "deploy@10.0.0.12", "/srv/index"),
    ],
)
def test_destination_is_a_folder_or_host_and_path(destination: str, host: Any, path: str) -> None:
    assert Replica.parse(destination) == Replica(host, path)


def test_publish_sends_only_new_files_and_keeps_the_previous_build(
    tmp_path: Path, indexing_node: Path, import_news: Any, served: Any, files_reused: Any
) -> None:
    replica = tmp_path / "replica"
    first = publish(str(indexing_node), str(replica))
    assert first.sent == first.files and served(replica) == (first.build, first.generation, 77)

    generation = import_news(indexing_node)
    second = publish(str(indexing_node), str(replica))
    assert served(replica) == (second.build, generation, 80)
    assert verify(live_dir(replica), generation) == ([], [])
    files_reused(replica, first, second)

    third = publish(str(indexing_node), str(replica))
    assert sorted(os.listdir(replica)) == sorted(["current", second.build, third.build])


@pytest.mark.parametrize("kill_after", [0.0, 0.8])
def test_an_interrupted_publish_leaves_the_replica_on_its_previous_generation(
    tmp_path: Path,
    indexing_node: Path,
    import_news: Any,
    served: Any,
    make_app: Any,
    interrupted_publish: Any,
    kill_after: float,
) -> None:
    replica = tmp_path / "replica"
    publish(str(indexing_node), str(replica))
    before = served(replica)
    generation = import_news(indexing_node)
    command = [sys.executable, "-m", "cli", "publish", "--index-dir", str(indexing_node)]
    interrupted_publish(
        [*command, "--bwlimit", "1", str(replica)], replica, kill_after, cwd=tmp_path
    )

    assert served(replica) == before
    health = make_app(replica).test_client().get("/healthz").get_json()
    assert (health["generation"], health["documents"]) == before[1:]

    done = publish(str(indexing_node), str(replica))
    assert served(replica) == (done.build, generation, 80)
    assert not [n for n in os.listdir(replica) if n.startswith(".incoming-")]


def test_a_server_on_an_empty_replica_answers_once_published(
    tmp_path: Path, indexing_node: Path, import_news: Any, make_app: Any
) -> None:
    replica = tmp_path / "replica"
    replica.mkdir()
    client = make_app(replica).test_client()
    assert client.get("/healthz").status_code == 503  # a load balancer keeps it out
    first = publish(str(indexing_node), str(replica))
    assert client.get("/healthz").get_json()["generation"] == first.generation
    generation = import_news(indexing_node)
    publish(str(indexing_node), str(replica))
    assert client.get("/healthz").get_json() == {
        "status": "ok",
        "documents": 80,
        "generation": generation,
    }


def test_publish_command_names_each_replica_and_refuses_a_missing_index(
    tmp_path: Path, indexing_node: Path
) -> None:
    replicas = [str(tmp_path / "r1"), str(tmp_path / "r2")]
    done = CliRunner().invoke(main, ["publish", "--index-dir", str(indexing_node), *replicas])
    assert done.exit_code == 0, done.output
    assert [line.split(":")[0] for line in done.output.splitlines()] == replicas
    missing = CliRunner().invoke(main, ["publish", "--index-dir", str(tmp_path / "none"), "r3"])
    assert missing.exit_code == 1 and "no index in" in missing.output
    assert not (tmp_path / "r3").exists()


def replica_sidecars(replica: Path) -> tuple[int, dict[str, int]]:
    """How many live segments the replica has, and those with a valid sidecar there, with
    the sidecar's inode."""
    folder = os.path.realpath(live_dir(replica))
    with open_index(folder).reader() as reader:
        keys = [SidecarKey.of(leaf.segment()) for leaf, _ in reader.leaf_readers()]
    inodes = {
        key.segment_id: os.stat(sidecar_path(folder, key.segment_id)).st_ino
        for key in keys
        if open_sidecar(folder, key) is not None
    }
    return len(keys), inodes


@pytest.mark.parametrize(("min_docs", "with_sidecars"), [(1, True), (10**9, False)])
def test_the_big_segments_sidecars_travel_with_them(
    tmp_path: Path, indexing_node: Path, import_news: Any, min_docs: int, with_sidecars: bool
) -> None:
    replica = tmp_path / "replica"
    publish(str(indexing_node), str(replica), sidecar_min_docs=min_docs)
    segments, first = replica_sidecars(replica)
    import_news(indexing_node)  # one more segment
    publish(str(indexing_node), str(replica), sidecar_min_docs=min_docs)
    more_segments, second = replica_sidecars(replica)
    assert more_segments == segments + 1
    if not with_sidecars:
        assert first == second == {}
        assert not os.path.exists(os.path.join(live_dir(replica), DERIVED_DIR))
        return
    assert (len(first), len(second)) == (segments, more_segments)  # every segment's
    assert {key: second[key] for key in first} == first  # the old ones hard-linked, not sent
