"""Which Dask workers hold which shard, as actors, and keeping that so as workers come and go.

Shard `s` goes to the workers `s`, `s + 1`, ... (modulo their number, in address order), one
per replica, so that the shards spread evenly and a shard's replicas sit on different workers
while there are enough of them. A holder whose call fails (its worker died) is dropped; the
next call to that shard first asks a replica, and a new actor is started on a live worker in
the background (never waited for by a request), to be used once it is up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from distributed import Client, Future

from search.cluster.shard import ShardActor, ShardWarming
from search.errors import SearchError
from search.index.shard_layout import ShardLayout

START_TIMEOUT_S = 60.0  # an actor not started by then (its worker vanished): start another
HEDGE_SHARE = 0.5  # of the time left, given to a holder while a replica could still answer


class ShardMissing(Exception):
    """No live holder of the shard could answer."""


@dataclass
class _Holder:
    future: Future  # the actor's task: done once the actor is up
    started: float  # time.monotonic() when it was asked for
    worker: str | None  # the worker it was asked on, then the one it was started on
    actor: Any = None


class ShardHolders:
    """The actors holding each shard of `layout` on `client`'s workers."""

    def __init__(
        self,
        client: Client,
        layout: ShardLayout,
        replicas: int = 1,
        warming: ShardWarming | None = None,
    ) -> None:
        self.client = client
        self.layout = layout
        self.replicas = max(1, replicas)
        self.warming = warming or ShardWarming()
        self._lock = threading.Lock()
        self._held: dict[int, list[_Holder]] = {s: [] for s in range(layout.shards)}
        workers = self._workers()
        for shard in range(layout.shards):
            for replica in range(min(self.replicas, len(workers)) or 1):
                where = workers[(shard + replica) % len(workers)] if workers else None
                self._held[shard].append(self._start(shard, where))

    def _workers(self) -> list[str]:
        return sorted(self.client.scheduler_info()["workers"])

    def _start(self, shard: int, worker: str | None) -> _Holder:
        future = self.client.submit(
            ShardActor,
            shard,
            self.layout.shard_dir(shard),
            self.warming,
            actor=True,
            pure=False,
            workers=[worker] if worker else None,
            allow_other_workers=True,
        )
        return _Holder(future, time.monotonic(), worker)

    def wait_ready(self, timeout_s: float) -> None:
        """Wait until every actor is up (at start: the first requests are then whole)."""
        deadline = time.monotonic() + timeout_s
        for shard in range(self.layout.shards):
            for holder in list(self._held[shard]):
                holder.future.result(timeout=max(0.1, deadline - time.monotonic()))

    def ask(self, shard: int, call: Callable[[Any], Any], deadline: float) -> Any:
        """`call(actor)`'s answer from the first live holder of the shard that gives one.

        While another holder is left, one is waited for HEDGE_SHARE of the time left only: a
        call to an actor whose worker was just killed does not fail, it waits for the
        connection until the timeout. Past that share the next holder is asked; the first
        one is dropped when its worker has left the cluster, else asked last from then on.

        :raise ShardMissing: every holder failed or none is up.
        """
        holders = self._ready(shard)
        for number, holder in enumerate(holders):
            left = max(0.0, deadline - time.monotonic())
            last = number == len(holders) - 1
            try:
                return call(holder.actor).result(timeout=left if last else left * HEDGE_SHARE)
            except SearchError:  # the request is at fault (a 400), not the shard
                raise
            except TimeoutError:  # too slow, or its worker is gone
                if last:
                    break
                if self._alive(holder):
                    self._demote(shard, holder)  # stalled: the replica is asked first next
                else:
                    self._drop(shard, holder)
            except Exception:  # its worker died: try a replica
                self._drop(shard, holder)
        raise ShardMissing(f"shard {shard} has no live holder")

    def _where(self, future: Future) -> str | None:
        """The worker an actor was started on (another than asked for, when that one left)."""
        try:
            places = self.client.who_has([future]).get(future.key, ())
        except Exception:  # the scheduler is unreachable: keep what was asked for
            return None
        return next(iter(places), None)

    def _alive(self, holder: _Holder) -> bool:
        """Whether the worker the holder's actor lives on is still in the cluster."""
        try:
            return holder.worker in self._workers()
        except Exception:  # the scheduler is unreachable: say nothing of the worker
            return True

    def _ready(self, shard: int) -> list[_Holder]:
        """The shard's holders whose actors are up; starts new ones where some are lost."""
        with self._lock:
            held = self._held[shard]
            for holder in list(held):
                status = holder.future.status
                if status == "finished" and holder.actor is None:
                    holder.actor = holder.future.result()
                    holder.worker = self._where(holder.future) or holder.worker
                elif status in ("error", "cancelled", "lost") or (
                    status == "pending" and time.monotonic() - holder.started > START_TIMEOUT_S
                ):
                    held.remove(holder)
                    holder.future.cancel()
            if len(held) < self.replicas:
                self._restart(shard, held)
            return [holder for holder in held if holder.actor is not None]

    def _restart(self, shard: int, held: list[_Holder]) -> None:
        """Start the missing holders of the shard on live workers, the shard's own first."""
        try:
            workers = self._workers()
        except Exception:  # the scheduler itself is unreachable: try again next request
            return
        if not workers:
            return
        while len(held) < min(self.replicas, len(workers)) or not held:
            taken = {holder.worker for holder in held}
            free = [w for w in workers if w not in taken] or workers
            held.append(self._start(shard, free[shard % len(free)]))

    def _demote(self, shard: int, holder: _Holder) -> None:
        with self._lock:
            if holder in self._held[shard]:
                self._held[shard].remove(holder)
                self._held[shard].append(holder)

    def _drop(self, shard: int, holder: _Holder) -> None:
        with self._lock:
            if holder in self._held[shard]:
                self._held[shard].remove(holder)
                holder.future.cancel()

    def held_on(self, shard: int) -> set[str]:
        """The addresses of the workers whose actors hold the shard now."""
        with self._lock:
            futures = [holder.future for holder in self._held[shard] if holder.actor is not None]
        where = self.client.who_has(futures)
        return {address for key in where for address in where[key]}

    def close(self) -> None:
        with self._lock:
            for held in self._held.values():
                for holder in held:
                    holder.future.cancel()
                held.clear()
