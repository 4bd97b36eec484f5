"""How many processes an import batch gets: as configured, less the cores others keep busy."""

from __future__ import annotations

import os
import time

# Below this many articles per process, starting processes costs more than it saves.
MIN_ARTICLES_PER_PROC = 500


class OtherLoad:
    """How many cores other processes kept busy since the last look (Linux /proc/stat, less
    this process and its waited-for helpers). A second indexing process pays only on an idle
    core: sharing one with another busy process, it costs ~20% more CPU for no time saved."""

    def __init__(self) -> None:
        self._last = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                fields = stat.readline().split()
            ticks = [int(n) for n in fields[1:9]]  # user nice system idle iowait irq softirq steal
            hertz = os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError):
            return None
        if fields[0] != "cpu" or len(ticks) < 8:
            return None
        busy = (sum(ticks) - ticks[3] - ticks[4]) / hertz
        own = os.times()
        mine = own.user + own.system + own.children_user + own.children_system
        return time.monotonic(), busy, mine

    def cores(self) -> float | None:
        """Cores busy with other work since the last call; None when unknown."""
        now, last = self._sample(), self._last
        self._last = now
        if now is None or last is None or now[0] - last[0] < 0.5:
            return None
        return max(0.0, (now[1] - last[1] - (now[2] - last[2])) / (now[0] - last[0]))


def processes_for(wanted: int, articles: int, other_cores: float | None) -> int:
    """Processes for a batch: at most `wanted`, at least MIN_ARTICLES_PER_PROC articles each,
    and no more than the cores other processes leave idle (rounded)."""
    procs = max(1, min(wanted, articles // MIN_ARTICLES_PER_PROC))
    if procs > 1 and other_cores is not None:
        idle = _cores() - other_cores
        procs = max(1, min(procs, int(idle + 0.5)))
    return procs


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
