"""Load and soak (issue 25): minutes of mixed scoring through the sandbox's scoring front against a real deployed
plumber API, with the memory of the sandbox process (and of a wizard kept on its scoring screen) sampled throughout.

    .venv/bin/python benchmarks/soak.py [--minutes 30] [--concurrency 32] [--sample-seconds 5] [--no-wizard]

What runs, all on 127.0.0.1:
- `rdeploy-tui deploy --sandbox` deploys the default spec (endpoint `soak`, key auth) with real R, then
  `rdeploy-tui sandbox` serves that sandbox folder in its own process (it hosts the deployment's plumber API again),
  so its memory is its own and nothing of the load generator's.
- --concurrency workers score the endpoint until the time is up (no other bound is needed: each loop ends at the
  deadline, each request has a 60 s timeout): half keep one connection open (keep-alive), half open a new TLS
  connection for every request. Every answer must be HTTP 200 with the sample model's two forecast rows.
- The wizard (`rdeploy-tui` as on a compute instance, in a private tmux server at 80x24) opens on the endpoints list,
  goes to the scoring screen with `s`, and sends the request with F9 every 2 s; its screen must keep showing HTTP 200.
- Every --sample-seconds: VmRSS of the sandbox process, its plumber R process and the wizard.

Pass: no error at all, and after the warm-up (the first tenth of the run, at least 20 s, at most 2 minutes:
connection pools and caches fill) each process measured grows by at most GROWTH_BOUND_MIB to the end of the run.
Exit 0 on pass, 1 on fail, 2 when R or the deploy is missing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shlex
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

SCRIPT = Path(sys.executable).parent / "rdeploy-tui"
TIME_SCALE = "0.003"
ENDPOINT = "soak"
GROWTH_BOUND_MIB = 25.0  # after the warm-up; a leak of 1 KB a request at 100 requests/s grows 6 MiB a minute
REQUEST_TIMEOUT_S = 60.0
WIZARD_SEND_EVERY_S = 2.0


# ----- setting up ---------------------------------------------------------------------------------------------------
def deploy(home: Path) -> Path:
    """The default spec, endpoint `soak` with key auth (no token to renew in a long run), deployed with real R."""
    from rdeploy_tui.sandbox import arm
    from rdeploy_tui.spec.deploy_spec import default_spec, save_spec

    spec = default_spec()
    spec.workspace.subscription_id, spec.workspace.resource_group = arm.DEFAULT_SUBSCRIPTION, arm.DEFAULT_RESOURCE_GROUP
    spec.workspace.name = arm.DEFAULT_WORKSPACE
    spec.endpoint.name, spec.endpoint.auth_mode = ENDPOINT, "key"
    path = home.parent / "rdeploy.yaml"
    save_spec(spec, path)
    env = {**os.environ, "RDEPLOY_HOME": str(home), "RDEPLOY_SANDBOX_TIME_SCALE": TIME_SCALE}
    env.pop("REQUESTS_CA_BUNDLE", None)
    done = subprocess.run(
        [str(SCRIPT), "deploy", "--spec", str(path), "--sandbox", "--yes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise SystemExit(
            f"soak: the deploy failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return path


@dataclass
class Served:
    process: subprocess.Popen
    base_url: str
    ca_cert: str
    exports: dict[str, str]  # the service principal's and the simulated compute instance's variables


def serve(home: Path) -> Served:
    """`rdeploy-tui sandbox` on the deployed folder, in its own process; its banner gives where and who."""
    env = {**os.environ, "RDEPLOY_HOME": str(home)}
    env.pop("REQUESTS_CA_BUNDLE", None)
    process = subprocess.Popen(
        [
            str(SCRIPT),
            "sandbox",
            "--state-dir",
            str(home / "sandbox"),
            "--time-scale",
            TIME_SCALE,
            "--compute-instance",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base_url, ca_cert, exports = "", "", {}
    deadline = time.monotonic() + 120
    assert process.stdout is not None
    for line in process.stdout:  # ends with the banner's last line, or when the process ends
        if line.startswith("rdeploy-tui sandbox serving at "):
            base_url = line.split()[-1]
        if "--ca-bundle " in line:
            ca_cert = line.split("--ca-bundle ", 1)[1].split()[0]
        if line.strip().startswith("export "):
            for assignment in shlex.split(line.strip())[1:]:
                key, _, value = assignment.partition("=")
                exports[key] = value
        if line.startswith("Press Ctrl+C to stop.") or time.monotonic() > deadline:
            break
    if not (base_url and ca_cert and exports.get("AZURE_CLIENT_ID")):
        process.kill()
        raise SystemExit("soak: `rdeploy-tui sandbox` did not print where it serves")
    threading.Thread(target=lambda: process.stdout and process.stdout.read(), daemon=True).start()  # drain
    return Served(process, base_url, ca_cert, exports)


def scoring_target(served: Served):
    """The endpoint's scoring URI and key, read as `endpoints score` reads them (service principal, custom ARM)."""
    from rdeploy_tui import azure
    from rdeploy_tui.sandbox import arm

    for key in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"):
        os.environ[key] = served.exports[key]
    session = azure.connect(azure.ConnectionOptions(arm_endpoint=served.base_url, ca_bundle=served.ca_cert))
    ws = azure.Workspace.open(
        session, arm.DEFAULT_SUBSCRIPTION, arm.DEFAULT_RESOURCE_GROUP, arm.DEFAULT_WORKSPACE, light=True
    )
    return azure.endpoint_target(ws, ENDPOINT)


def child_pids(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def plumber_pid(sandbox_pid: int) -> int | None:
    """The R process serving the deployment (the sandbox starts it through a small launcher that execs Rscript)."""
    for pid in child_pids(sandbox_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"start_plumber.R" in cmdline:
            return pid
    return None


def rss_mib(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Wizard:
    """The real console script on the scoring screen, in a private tmux server; F9 sends."""

    def __init__(self, folder: Path, served: Served, spec: Path) -> None:
        self.socket = f"rdeploy-soak-{os.getpid()}"
        home = folder / "wizard-home"
        home.mkdir()
        shutil.copy(spec, home / "last-run.yaml")  # reopened with a last run: it opens on the endpoints list
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in served.exports.items() if not k.startswith("AZURE_"))
        command = f"exec env RDEPLOY_HOME={home} {env} {SCRIPT}"
        subprocess.run(
            ["tmux", "-L", self.socket, "new-session", "-d", "-s", "w", "-x", "80", "-y", "24", command], check=True
        )
        self.pid = int(self._tmux("display-message", "-p", "-t", "w", "#{pane_pid}").strip())
        self.sends = 0

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "w")

    def wait(self, needle: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.screen():
                return True
            time.sleep(0.25)
        return False

    def key(self, key: str) -> None:
        self._tmux("send-keys", "-t", "w", key)

    def close(self) -> None:
        self.key("F10")
        self._tmux("kill-server")


# ----- the load -----------------------------------------------------------------------------------------------------
@dataclass
class Worker:
    keep_alive: bool
    latencies_ms: array = field(default_factory=lambda: array("d"))
    errors: list[str] = field(default_factory=list)
    reused: int = 0  # requests sent on a connection that had answered before


def run_worker(w: Worker, uri: str, key: str, context: ssl.SSLContext, body: bytes, until: float) -> None:
    parts = urlsplit(uri)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    conn: http.client.HTTPSConnection | None = None
    answered_on_conn = 0
    while time.monotonic() < until:
        if conn is None:
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=context, timeout=REQUEST_TIMEOUT_S)
            answered_on_conn = 0
        started = time.perf_counter()
        try:
            conn.request("POST", parts.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                w.errors.append(f"HTTP {response.status}: {data[:120]!r}")
            else:
                rows = json.loads(data)
                if not (isinstance(rows, list) and len(rows) == 2 and "forecast" in rows[0]):
                    w.errors.append(f"unexpected answer: {data[:120]!r}")
            w.latencies_ms.append(elapsed)
            w.reused += answered_on_conn > 0
            answered_on_conn += 1
            if not w.keep_alive or response.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            w.errors.append(f"{type(exc).__name__}: {exc}")
            conn.close()
            conn = None
        if len(w.errors) > 1000:  # a run that fails this much has said all it can
            break
    if conn is not None:
        conn.close()


# ----- the run ------------------------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long the load runs (default 30)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (default 32)")
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="memory sampling period (default 5)")
    parser.add_argument("--no-wizard", action="store_true", help="leave the wizard out (no tmux needed)")
    args = parser.parse_args()
    if not 0 < args.minutes <= 24 * 60 or not 1 <= args.concurrency <= 256:
        parser.error("--minutes must be in (0, 1440] and --concurrency in [1, 256]")

    from rdeploy_tui.local.plumber import find_rscript

    if find_rscript() is None:
        print("soak: needs Rscript with plumber (a real deployment)", file=sys.stderr)
        return 2
    use_wizard = not args.no_wizard and shutil.which("tmux") is not None
    folder = Path(tempfile.mkdtemp(prefix="rdeploy-soak-"))
    home = folder / "home"
    served: Served | None = None
    wizard: Wizard | None = None
    try:
        print("soak: deploying the sample model with R (sandbox, time scale 0.003) ...", file=sys.stderr, flush=True)
        spec = deploy(home)
        served = serve(home)
        target = scoring_target(served)
        context = ssl.create_default_context(cafile=served.ca_cert)
        body = json.dumps({"forecast_horizon": [2]}).encode()
        deadline = time.monotonic() + 120
        while True:  # the sandbox starts the deployment's R again: wait until it answers (bounded)
            probe = Worker(keep_alive=False)
            run_worker(probe, target.uri, target.credential, context, body, time.monotonic() + 0.5)
            if probe.latencies_ms and not probe.errors:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"soak: the deployment never answered: {probe.errors[-1:]}")
            time.sleep(0.5)
        if use_wizard:
            wizard = Wizard(folder, served, spec)
            on_list = wizard.wait("Online endpoints", 120)
            wizard.key("s")
            if not (on_list and wizard.wait("Score soak", 60)):
                raise SystemExit("soak: the wizard did not reach the scoring screen:\n" + wizard.screen())

        seconds = args.minutes * 60
        warmup = min(120.0, max(20.0, seconds / 10))
        started = time.monotonic()
        until = started + seconds
        workers = [Worker(keep_alive=i % 2 == 0) for i in range(args.concurrency)]
        key = target.credential or ""
        threads = [
            threading.Thread(target=run_worker, args=(w, target.uri, key, context, body, until), daemon=True)
            for w in workers
        ]
        for t in threads:
            t.start()
        r_pid = plumber_pid(served.process.pid)
        measured = {"sandbox": served.process.pid, "plumber (R)": r_pid}
        if wizard is not None:
            measured["wizard"] = wizard.pid
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in measured}
        wizard_bad: list[str] = []
        next_sample = next_send = started
        while time.monotonic() < until:  # bounded by the deadline
            now = time.monotonic()
            if wizard is not None and now >= next_send:
                wizard.key("F9")
                wizard.sends += 1
                next_send = now + WIZARD_SEND_EVERY_S
            if now >= next_sample:
                for name, pid in measured.items():
                    value = rss_mib(pid)
                    if value is not None:
                        samples[name].append((now - started, value))
                if wizard is not None and wizard.sends > 2:
                    shown = wizard.screen()  # the last answer's status, or "Sending to ..." while one is in flight
                    if "HTTP 200 from" not in shown and "Sending to" not in shown:
                        status = next((line for line in shown.splitlines() if "HTTP" in line), "no status line")
                        wizard_bad.append(f"at {now - started:.0f} s: {status.strip()}")
                print(
                    f"  {now - started:6.0f} s  "
                    + "  ".join(f"{n} {samples[n][-1][1]:.1f} MiB" for n in samples if samples[n])
                    + f"  requests {sum(len(w.latencies_ms) for w in workers):,}"
                    f"  errors {sum(len(w.errors) for w in workers)}",
                    file=sys.stderr,
                    flush=True,
                )
                next_sample = now + args.sample_seconds
            time.sleep(0.05)
        for t in threads:
            t.join(REQUEST_TIMEOUT_S + 5)
        return report(args, workers, samples, warmup, seconds, wizard, wizard_bad)
    finally:
        if wizard is not None:
            wizard.close()
        if served is not None:
            served.process.send_signal(signal.SIGTERM)
            try:
                served.process.wait(60)
            except subprocess.TimeoutExpired:
                served.process.kill()
        shutil.rmtree(folder, ignore_errors=True)


def report(args, workers, samples, warmup, seconds, wizard, wizard_bad) -> int:
    all_ms = [x for w in workers for x in w.latencies_ms]
    kept = [x for w in workers if w.keep_alive for x in w.latencies_ms]
    fresh = [x for w in workers if not w.keep_alive for x in w.latencies_ms]
    errors = [e for w in workers for e in w.errors]
    reused = sum(w.reused for w in workers if w.keep_alive)
    kept_workers = sum(w.keep_alive for w in workers)
    print(
        f"\nsoak: {args.minutes:g} min, concurrency {args.concurrency} ({kept_workers} keep-alive, "
        f"{len(workers) - kept_workers} a new TLS connection per request), through the sandbox's front"
    )
    print(
        f"requests   {len(all_ms):,} ({len(all_ms) / seconds:.0f}/s); errors {len(errors)}"
        + (f" (first: {errors[0]})" if errors else "")
    )
    print(f"keep-alive {len(kept):,} requests, {reused:,} of them on a connection that had answered before")
    for label, values in (("all", all_ms), ("keep-alive", kept), ("new conn.", fresh)):
        print(
            f"latency ms {label:10} p50 {percentile(values, 50):7.1f}  p90 {percentile(values, 90):7.1f}  "
            f"p99 {percentile(values, 99):7.1f}  max {max(values, default=float('nan')):7.1f}"
        )
    failures = [f"{len(errors)} scoring errors"] if errors else []
    print(f"memory MiB (warm-up {warmup:.0f} s; growth judged after it, bound {GROWTH_BOUND_MIB:g} MiB)")
    print(f"  {'process':12} {'start':>7} {'after warm-up':>14} {'peak':>7} {'end':>7} {'growth':>7}  slope MiB/10 min")
    for name, points in samples.items():
        if not points:
            print(f"  {name:12} (not measured)")
            continue
        after = [v for t, v in points if t >= warmup] or [points[-1][1]]
        growth = after[-1] - after[0]
        tail = [(t, v) for t, v in points if t >= warmup]
        slope = (
            statistics.linear_regression([t for t, _ in tail], [v for _, v in tail]).slope * 600
            if len(tail) > 2
            else 0.0
        )
        judged = name != "plumber (R)"  # R's own heap is the model's business; reported, not judged
        print(
            f"  {name:12} {points[0][1]:7.1f} {after[0]:14.1f} {max(v for _, v in points):7.1f} {after[-1]:7.1f} "
            f"{growth:+7.1f}  {slope:+.1f}{'' if judged else '  (reported only)'}"
        )
        if judged and growth > GROWTH_BOUND_MIB:
            failures.append(f"{name} grew {growth:.1f} MiB after the warm-up (bound {GROWTH_BOUND_MIB:g})")
    if wizard is not None:
        print(
            f"wizard     {wizard.sends} requests sent with F9 on its scoring screen; screens without HTTP 200: "
            f"{len(wizard_bad)}" + (f" (first: {wizard_bad[0]})" if wizard_bad else "")
        )
        if wizard_bad:
            failures.append(f"the wizard showed no HTTP 200 {len(wizard_bad)} times")
    print("result     " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
