"""A load test from a terminal: n requests at a concurrency, percentiles and errors. A sanity check, not a load
generator."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.scoring.client import MAX_CONNECTIONS, ScoringClient
from rdeploy_tui.scoring.result import ScoreResult
from rdeploy_tui.scoring.target import ScoringTarget

# Load-test bounds: a sanity check from a terminal, not a load generator.
MAX_LOAD_REQUESTS = 1000


MAX_LOAD_CONCURRENCY = MAX_CONNECTIONS  # one connection per request in flight


DEFAULT_LOAD_TIME_LIMIT_S = 120.0


def check_load_test(n: int, concurrency: int) -> str | None:
    """The message for a load test that is out of bounds, or None."""
    if not 1 <= n <= MAX_LOAD_REQUESTS:
        return f"requests must be from 1 to {MAX_LOAD_REQUESTS}"
    if not 1 <= concurrency <= MAX_LOAD_CONCURRENCY:
        return f"concurrency must be from 1 to {MAX_LOAD_CONCURRENCY}"
    if concurrency > n:
        return "concurrency cannot exceed the number of requests"
    return None


def percentile(samples: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = min(len(ordered), max(1, math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass(frozen=True)
class LoadTestResult:
    requested: int
    concurrency: int
    latencies_ms: tuple[float, ...]  # of every answered request (any status)
    statuses: dict[int, int]  # status -> count
    failures: dict[str, int]  # transport error -> count
    seconds: float  # wall time of the whole test
    stopped: str | None = None  # why it ended early: "time limit", "cancelled"

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + sum(self.failures.values())

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def errors(self) -> int:
        return self.sent - self.ok

    def p(self, q: float) -> float | None:
        return percentile(list(self.latencies_ms), q)

    @property
    def throughput(self) -> float:
        """Completed requests per second of wall time."""
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        def fmt(v: float | None) -> str:
            return "-" if v is None else f"{v:.0f} ms"

        parts = [
            f"{self.sent}/{self.requested} requests at concurrency {self.concurrency} in {self.seconds:.1f} s",
            f"p50 {fmt(self.p(50))} · p95 {fmt(self.p(95))} · p99 {fmt(self.p(99))}",
            f"{self.throughput:.1f} req/s · {self.errors} errors",
        ]
        if self.stopped:
            parts.append(f"stopped early: {self.stopped}")
        return "\n".join(parts)

    def error_lines(self) -> list[str]:
        lines = [f"HTTP {status}: {count}" for status, count in sorted(self.statuses.items()) if status != 200]
        lines += [f"{what}: {count}" for what, count in sorted(self.failures.items())]
        return lines


def run_load_test(
    client: ScoringClient,
    target: ScoringTarget,
    body: str | bytes,
    n: int,
    concurrency: int,
    *,
    time_limit: float = DEFAULT_LOAD_TIME_LIMIT_S,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int], None] | None = None,
    on_result: Callable[[ScoreResult], None] | None = None,
) -> LoadTestResult:
    """n requests, at most `concurrency` in flight, stopping at `time_limit` seconds or when `cancelled()`.

    Raises RdeployError when n/concurrency are out of bounds (check_load_test).
    """
    problem = check_load_test(n, concurrency)
    if problem:
        raise RdeployError(
            f"load test not started: {problem}", "change the numbers and start it again", code="BadLoadTest"
        )
    # No single request may outlive the test's time limit.
    target = replace(target, timeout=min(target.timeout, time_limit))
    lock = threading.Lock()
    next_index = [0]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    failures: dict[str, int] = {}
    stopped: list[str] = []
    started = time.perf_counter()
    deadline = started + time_limit

    def take() -> bool:
        with lock:
            if stopped:
                return False
            if cancelled():
                stopped.append("cancelled")
                return False
            if time.perf_counter() >= deadline:
                stopped.append("time limit")
                return False
            if next_index[0] >= n:
                return False
            next_index[0] += 1
            return True

    def worker() -> None:
        while take():
            result = client.score(target, body)
            if on_result is not None:  # e.g. the rollout compares answers
                on_result(result)
            with lock:
                if result.status is None:
                    failures[result.error or "no answer"] = failures.get(result.error or "no answer", 0) + 1
                else:
                    latencies.append(result.latency_ms)
                    statuses[result.status] = statuses.get(result.status, 0) + 1
                done = len(latencies) + sum(failures.values())
            if progress is not None:
                progress(done, n)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="rdeploy-load") as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    return LoadTestResult(
        n,
        concurrency,
        tuple(latencies),
        statuses,
        failures,
        time.perf_counter() - started,
        stopped[0] if stopped else None,
    )
