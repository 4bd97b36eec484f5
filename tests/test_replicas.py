"""Read replicas for real: two `vnsearch serve` behind HAProxy (deploy/haproxy.cfg), a publish
while readers search, then one replica killed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from search.index.publish import publish

pytestmark = pytest.mark.serial

QUERIES = ["api/search?q=da+nang", "healthz", "api/search?q=xanhquyt", "api/suggest?q=benh"]


def fetch(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def holds_news(server_url: str) -> bool:
    status, body = fetch(server_url + "api/search?q=xanhquyt")
    return status == 200 and body["total"] == 3


class Readers(threading.Thread):
    """Searches through the load balancer until stopped; keeps every failure."""

    def __init__(self, front: str) -> None:
        super().__init__(daemon=True)
        self.front, self.stopped = front, threading.Event()
        self.answered: list[float] = []
        self.failures: list[str] = []

    def run(self) -> None:
        n = 0
        while not self.stopped.is_set():
            path = QUERIES[n % len(QUERIES)]
            n += 1
            try:
                status, _ = fetch(self.front + path)
            except OSError as error:
                self.failures.append(f"{path}: {error}")
                continue
            if status == 200:
                self.answered.append(time.monotonic())
            else:
                self.failures.append(f"{path}: {status}")


def test_publish_and_a_lost_replica_fail_no_request(
    tmp_path: Path,
    indexing_node: Path,
    build_index: Any,
    write_jsonl: Any,
    news_with_word: Any,
    running_server: Any,
    load_balancer: Any,
) -> None:
    replicas = [tmp_path / "replica1", tmp_path / "replica2"]
    for replica in replicas:
        publish(str(indexing_node), str(replica))
    with ExitStack() as stack:
        servers = [
            stack.enter_context(running_server(r, tmp_path / f"{r.name}.log")) for r in replicas
        ]
        front = stack.enter_context(load_balancer([s.url for s in servers], tmp_path))
        readers = Readers(front)
        readers.start()
        stack.callback(readers.join)
        stack.callback(readers.stopped.set)
        time.sleep(1)
        assert not any(holds_news(s.url) for s in servers)

        build_index(
            indexing_node, [write_jsonl(tmp_path / "news.jsonl", news_with_word("xanhquyt"))]
        )
        command = [sys.executable, "-m", "cli", "publish", "--index-dir", str(indexing_node)]
        subprocess.run([*command, *map(str, replicas)], check=True, capture_output=True)
        deadline = time.monotonic() + 5
        while not all(holds_news(s.url) for s in servers):
            assert time.monotonic() < deadline, "a replica still lacks the new articles after 5 s"
            time.sleep(0.1)

        servers[0].process.kill()
        killed_at = time.monotonic()
        time.sleep(3)  # past HAProxy's health checks (2 x 1 s) taking the replica out
        assert holds_news(front)
        readers.stopped.set()
        readers.join()
        assert readers.failures == []
        assert sum(t > killed_at for t in readers.answered) > 5  # they went on
