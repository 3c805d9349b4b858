"""The scoring client's overhead over a raw HTTP request, against the real local plumber API.

    .venv/bin/python benchmarks/bench_scoring.py [--n 200]

Starts the sample model's generated plumber API with the local runner, then alternates blocks of raw
http.client POSTs and ScoringClient.score() calls of the same bytes with the same headers (so plumber
does the same work, gzip included), timing each from the caller's side. Like is compared with like:
httpuv answers a reused (keep-alive) connection ~40 ms late (r-facts: Nagle/delayed ACK), so
new-connection requests are compared with new-connection requests (the gated figure) and
keep-alive with keep-alive (printed for information). Exit code 1 when the median overhead on new
connections is above 2 ms. Needs Rscript with plumber.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rdeploy_tui.deploy_folder.render import render, write_folder
from rdeploy_tui.deploy_folder.sample_model import SAMPLE_REQUEST, sample_model_dir
from rdeploy_tui.local.plumber import start_plumber
from rdeploy_tui.scoring.client import ScoringClient
from rdeploy_tui.scoring.target import ScoringTarget
from rdeploy_tui.spec.deploy_spec import default_spec

LIMIT_MS = 2.0
BLOCK = 10
TOKEN = "benchmark-token"  # plumber ignores it; sent so both sides carry the same headers


def raw_request(conn: http.client.HTTPConnection, body: bytes, headers: dict[str, str]) -> int:
    conn.request("POST", "/score", body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def measure(url: str, n: int, keep_alive: bool) -> tuple[list[float], list[float]]:
    body = json.dumps(SAMPLE_REQUEST).encode()
    target = ScoringTarget(url + "/score", TOKEN)
    # The headers httpx sends, so plumber answers both the same way (gzip included).
    headers = {**target.headers(), "Accept-Encoding": "gzip, deflate", "User-Agent": "python-httpx"}
    host, port = url.removeprefix("http://").split(":")
    raw_ms: list[float] = []
    client_ms: list[float] = []
    kept = http.client.HTTPConnection(host, int(port), timeout=30) if keep_alive else None
    with ScoringClient(keep_alive=keep_alive) as client:
        # Blocks of BLOCK requests per side, alternating: alternating single requests lets one
        # connection's delayed-ACK timer mask the other's keep-alive stall.
        for block in range(n // BLOCK + 1):  # the first block warms up both sides
            for _ in range(BLOCK):
                t0 = time.perf_counter()
                conn = kept or http.client.HTTPConnection(host, int(port), timeout=30)
                status = raw_request(conn, body, headers)
                if kept is None:
                    conn.close()
                elapsed = (time.perf_counter() - t0) * 1000
                if status != 200:
                    raise SystemExit(f"unexpected raw answer: HTTP {status}")
                if block:
                    raw_ms.append(elapsed)
            for _ in range(BLOCK):
                t0 = time.perf_counter()
                result = client.score(target, body)
                elapsed = (time.perf_counter() - t0) * 1000
                if result.status != 200:
                    raise SystemExit(f"unexpected client answer: {result.summary()}")
                if block:
                    client_ms.append(elapsed)
    if kept is not None:
        kept.close()
    return raw_ms, client_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="requests per side and mode (default 200)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_folder(render(default_spec()), folder)
        proc = start_plumber(
            folder / "src", sample_model_dir(), start_script=folder / "docker-context" / "start_plumber.R"
        )
        try:
            proc.wait_ready("/ready", timeout=60)
            gated = None
            for keep_alive in (False, True):
                raw, client = measure(proc.url, args.n, keep_alive)
                raw_med, client_med = statistics.median(raw), statistics.median(client)
                overhead = client_med - raw_med
                mode = "keep-alive connection" if keep_alive else "new connection per request"
                print(
                    f"{mode} (n={args.n}): raw http.client median {raw_med:.2f} ms, "
                    f"ScoringClient median {client_med:.2f} ms, overhead {overhead:+.2f} ms"
                )
                if not keep_alive:
                    gated = overhead
        finally:
            proc.stop()
    verdict = "OK" if gated is not None and gated <= LIMIT_MS else "TOO SLOW"
    print(f"median overhead on new connections: {gated:+.2f} ms (limit {LIMIT_MS:.0f} ms): {verdict}")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
