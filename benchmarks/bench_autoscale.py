"""Autoscale on the sandbox: a steady load against a deployment autoscaled on the endpoint's latency (the how-to's
endpoint rule), showing its instances going 1 -> N (real R processes behind the scoring front) and the p95 falling,
then a light load scaling it back in.

    .venv/bin/python benchmarks/bench_autoscale.py [--time-scale 0.01] [--concurrency 8] [--max 4]

The deployment is deployed by rdeploy-tui's own pipeline with `deployment.autoscale` in its spec (so the deploy's
autoscale step writes the setting through azure-mgmt-monitor), on the in-process sandbox. Its scoring script waits
50 ms a request, as a model that reads a feature store would: plumber answers one request at a time, so under a
concurrent load the requests queue and the latency grows with the load per instance. (A CPU-bound model would scale
the same way on a machine with spare cores; this 2-core VM has none to give a third instance.) Latencies are the
client's, measured per window; "instances" is what the sandbox runs, "capacity" the deployment's sku.capacity.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

SLOW_PLUMBER = """\
#* @get /live
#* @serializer unboxedJSON
function() list(status = "alive")

#* @get /ready
#* @serializer unboxedJSON
function() list(status = "ready")

#* @post /score
#* @serializer unboxedJSON
function(req, res) {
  Sys.sleep(0.05)  # a model that waits 50 ms for its features
  res$setHeader("Connection", "close")
  list(ok = TRUE)
}
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


class Load:
    """`concurrency` clients scoring back to back; latencies kept with the time each answer came."""

    def __init__(self, uri: str, key: str, ca: str, concurrency: int) -> None:
        import httpx

        self.results: list[tuple[float, float, int]] = []  # (time, ms, status)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = []
        for _ in range(concurrency):
            client = httpx.Client(verify=ca, headers={"Authorization": f"Bearer {key}"}, timeout=30)
            thread = threading.Thread(target=self._run, args=(client, uri), daemon=True)
            self.threads.append(thread)

    def _run(self, client, uri: str) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                status = client.post(uri, json={"x": [1]}).status_code
            except Exception:
                status = 0
            with self.lock:
                self.results.append((time.monotonic(), (time.perf_counter() - started) * 1000, status))
        client.close()

    def start(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def window(self, since: float) -> list[tuple[float, float, int]]:
        with self.lock:
            return [r for r in self.results if r[0] >= since]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=0.01, help="the sandbox's time scale (1 = Azure's pace)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max", type=int, default=4, help="autoscale's maximum instances")
    parser.add_argument("--window", type=float, default=3.0, help="seconds per printed row")
    parser.add_argument("--limit", type=float, default=90.0, help="seconds each phase may take at most")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RDEPLOY_HOME"] = str(Path(tmp) / "home")
        return run(Path(tmp), args)


def run(folder: Path, args: argparse.Namespace) -> int:
    from rdeploy_tui import azure, launch
    from rdeploy_tui.azure.autoscale import read_with_events
    from rdeploy_tui.pipeline.runner import run_deploy
    from rdeploy_tui.sandbox import Sandbox
    from rdeploy_tui.spec.deploy_spec import AutoscaleSpec, ScaleRuleSpec, default_spec

    script = folder / "plumber.R"
    script.write_text(SLOW_PLUMBER)
    spec = default_spec()
    spec.endpoint.name = "bench-autoscale"
    spec.deployment.instance_type = "Standard_DS2_v2"
    spec.scoring.script = str(script)
    spec.scoring.sample_request = {"x": [1]}
    # The how-to's endpoint rule: scale out when the endpoint's average latency passes a threshold for 5 minutes.
    spec.deployment.autoscale = AutoscaleSpec(
        min=1,
        max=args.max,
        scale_out=ScaleRuleSpec(metric="latency", threshold=150, minutes=5, cooldown_minutes=1),
        scale_in=ScaleRuleSpec(metric="latency", threshold=80, minutes=5, cooldown_minutes=1),
    )
    with Sandbox(folder / "sandbox", time_scale=args.time_scale) as sandbox:
        spec.workspace.subscription_id = sandbox.subscription_id
        spec.workspace.resource_group = sandbox.resource_group
        spec.workspace.name = sandbox.workspace_name
        session = launch.connect_to(sandbox)
        started = time.perf_counter()
        outcome = run_deploy(spec, session=session, sink=lambda e: None, base_dir=folder)
        if outcome.status != "succeeded":
            print(outcome.summary, file=sys.stderr)
            return 1
        print(f"deployed in {time.perf_counter() - started:.1f} s (time scale {args.time_scale}); autoscale:")
        ws = azure.Workspace.open(session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)
        endpoints = azure.RestEndpoints(ws)
        info, _ = read_with_events(ws, spec.endpoint.name, "blue", _utc_now())
        for line in info.lines():
            print("  " + line)
        target = azure.endpoint_target(ws, spec.endpoint.name)
        dep_id = f"{ws.info.id}/onlineEndpoints/{spec.endpoint.name}/deployments/blue"

        def instances() -> tuple[int, int]:
            found = endpoints.find_deployment(spec.endpoint.name, "blue")
            return len(sandbox.hosting.instances(dep_id)), (found.instance_count or 0) if found else 0

        rows: list[tuple[str, float, int, int, int, float, float, float]] = []
        t0 = time.monotonic()

        def phase(name: str, concurrency: int, done) -> None:
            load = Load(target.uri, target.credential, str(sandbox.ca_bundle), concurrency).start()
            phase_start = time.monotonic()
            try:
                while time.monotonic() - phase_start < args.limit:
                    since = time.monotonic()
                    time.sleep(args.window)  # a benchmark's reporting period, not a synchronisation
                    got = [r for r in load.window(since) if r[2] == 200]
                    running, capacity = instances()
                    ms = [r[1] for r in got]
                    rows.append(
                        (
                            name,
                            time.monotonic() - t0,
                            running,
                            capacity,
                            len(got),
                            len(got) / args.window,
                            statistics.median(ms) if ms else float("nan"),
                            percentile(ms, 95) if ms else float("nan"),
                        )
                    )
                    _print_row(rows[-1])
                    if done(running):
                        break
            finally:
                load.finish()

        print(f"\n{'phase':<6} {'t s':>6} {'instances':>9} {'capacity':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7}")
        phase("load", args.concurrency, lambda running: running >= args.max and _steady(rows, 3))
        phase("light", 1, lambda running: running == 1 and _steady(rows, 2))
        _, events = read_with_events(ws, spec.endpoint.name, "blue", _utc_now(hours=-24))
        print("\nscale events (activity log, newest first):")
        for event in events:
            print(f"  {event.text()}")
        loaded = [r for r in rows if r[0] == "load"]
        first, last = loaded[0], loaded[-1]
        print(
            f"\nunder load: instances {first[2]} -> {last[2]}, p95 {first[7]:.0f} ms -> {last[7]:.0f} ms, "
            f"throughput {first[5]:.1f} -> {last[5]:.1f} req/s"
        )
        session.close()
    return 0


def _steady(rows: list, n: int) -> bool:
    """The last n rows had the same instance count (the p95 has settled)."""
    return len(rows) >= n and len({r[2] for r in rows[-n:]}) == 1 and len({r[0] for r in rows[-n:]}) == 1


def _print_row(r: tuple) -> None:
    name, t, running, capacity, _n, rate, p50, p95 = r
    print(f"{name:<6} {t:>6.1f} {running:>9} {capacity:>8} {rate:>7.1f} {p50:>7.0f} {p95:>7.0f}", flush=True)


def _utc_now(hours: float = 0.0):
    from datetime import datetime, timedelta, timezone

    return datetime.now(timezone.utc) + timedelta(hours=hours)


if __name__ == "__main__":
    raise SystemExit(main())
