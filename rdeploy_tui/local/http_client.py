"""HTTP to the local plumber API: one plain request (liveness, readiness), and /score latency samples
on new vs. reused connections.

Latency depends on the connection: httpuv answers a reused (keep-alive) connection ~40 ms late
(r-facts: Nagle/delayed ACK), a new connection in a few ms. Both are measured and labelled, and whether
the API closes each connection (`Connection: close`, as the generated plumber.R does so that a keep-alive
client such as Azure's scoring front reconnects instead of waiting). Scoring requests go through
rdeploy_tui.scoring's client, as they do for an endpoint.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from rdeploy_tui.scoring.client import ScoringClient
from rdeploy_tui.scoring.load_test import percentile
from rdeploy_tui.scoring.target import ScoringTarget


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def _connect(url: str, timeout: float) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"no host in {url!r}")
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)


def _send(conn: http.client.HTTPConnection, method: str, path: str, payload: bytes | None) -> Response:
    headers = {"Content-Type": "application/json"} if payload is not None else {}
    t0 = time.perf_counter()
    conn.request(method, path, body=payload, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    return Response(resp.status, resp.getheader("Content-Type") or "", body, time.perf_counter() - t0)


def request(url: str, method: str, path: str, body: object = None, *, timeout: float = 30.0) -> Response:
    """One request on a new connection; body (if not None) is sent as JSON. Raises OSError/HTTPException."""
    payload = None if body is None else json.dumps(body).encode("utf-8")
    conn = _connect(url, timeout)
    try:
        return _send(conn, method, path, payload)
    finally:
        conn.close()


@dataclass
class Latency:
    connection: str  # "new" | "keep-alive"
    samples_ms: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    closes: int = 0  # answers that said `Connection: close`

    def percentile(self, p: float) -> float | None:
        """Nearest-rank percentile; None without samples."""
        return percentile(self.samples_ms, p)

    def summary(self) -> dict[str, object]:
        return {
            "connection": self.connection,
            "n": len(self.samples_ms),
            "p50_ms": self.percentile(50),
            "p95_ms": self.percentile(95),
            "max_ms": max(self.samples_ms) if self.samples_ms else None,
            "non_200": sum(1 for s in self.statuses if s != 200),
            "connection_close": self.closes,
        }


def measure(url: str, path: str, body: object, n: int, *, keep_alive: bool, timeout: float = 30.0) -> Latency:
    """n POSTs of body (as JSON); a new connection for each, or all on one kept-alive connection.
    Raises OSError when a request gets no answer."""
    payload = json.dumps(body).encode("utf-8")
    target = ScoringTarget(url.rstrip("/") + path, timeout=timeout)
    result = Latency("keep-alive" if keep_alive else "new")
    with ScoringClient(keep_alive=keep_alive, max_connections=1) as client:
        for _ in range(n):
            answer = client.score(target, payload)
            if answer.status is None:
                raise OSError(answer.error)
            result.samples_ms.append(answer.latency_ms)
            result.statuses.append(answer.status)
            result.closes += answer.headers.get("connection", "").lower() == "close"
    return result
