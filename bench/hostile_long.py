"""`bench/hostile.py --long N`: the test suite's request fuzzer, N whole requests against a live
server, every violation collected rather than the first one shrunk.

The requests and the properties are the bounded fuzzer's own (tests/hostile_requests.py,
tests/hostile_checks.py): repeated and reserved parameters, punctuation-joined and long word
lists, every filter at once, article ids from the importer's alphabet, odd Host and
conditional headers, bodies. `make test` runs a few hundred of them through Flask's test
client; this runs them over HTTP.
Seeded: the same seed sends the same requests.
"""

from __future__ import annotations

import http.client
import sys
import time
from collections import Counter
from typing import Any

from common import REPO_DIR

sys.path.insert(0, str(REPO_DIR))  # tests/ is not an installed package

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from tests.hostile_checks import check, send_http  # noqa: E402
from tests.hostile_requests import HostileRequest, hostile_requests  # noqa: E402

# Answers bigger than the demo index's: a page of 100 hits of the full index is larger.
FULL_INDEX_BASE_BYTES = 4 * 1024 * 1024


def _kind(problem: str) -> str:
    """A problem without its figures, to count alike ones together."""
    return "".join("#" if ch.isdigit() else ch for ch in problem.split(":")[0])[:60]


def run_long(
    host: str,
    port: int,
    n: int,
    run_seed: int,
    budget_ms: int,
    base_bytes: int = FULL_INDEX_BASE_BYTES,
) -> tuple[list[str], list[dict[str, Any]]]:
    """Send n generated requests; summary lines and every violation (request and problems)."""
    violations: list[dict[str, Any]] = []
    statuses: Counter[str] = Counter()
    started = time.perf_counter()

    def send(request: HostileRequest) -> Any:
        answer = send_http(host, port, request)
        statuses[str(answer.status)] += 1
        return answer

    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(run_seed)
    @given(request=hostile_requests())
    def one(request: HostileRequest) -> None:
        try:
            problems = check(request, send, budget_ms, base_bytes)
        except (OSError, http.client.HTTPException) as error:
            statuses["none"] += 1
            problems = [f"no answer: {error!r}"]
        if problems:
            violations.append(
                {
                    "method": request.method,
                    "target": request.target[:2000],
                    "headers": request.headers,
                    "size": request.size,
                    "problems": problems,
                }
            )

    one()
    kinds = Counter(_kind(p) for v in violations for p in v["problems"])
    lines = [
        f"{sum(statuses.values())} answers in {time.perf_counter() - started:.0f} s; statuses "
        + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())),
        *(f"  {count:>5}  {kind}" for kind, count in kinds.most_common()),
    ]
    return lines, violations


def report_long(lines: list[str], violations: list[dict[str, Any]], out: Any) -> int:
    """Print the summary and the first violations, write them all to `out`; the exit status."""
    import json

    for line in lines:
        print(line)
    print(f"\nviolations: {len(violations)}")
    for found in violations[:50]:
        print(f"  {found['method']} {found['target'][:300]} {found['headers']}")
        print(f"    {'; '.join(found['problems'])}")
    out.write_text(json.dumps({"summary": lines, "violations": violations}, indent=1), "utf-8")
    print(f"details: {out}")
    return 1 if violations else 0
