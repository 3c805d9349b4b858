"""The reliability battery of issue 15, tried from outside as users and faults would: real CLI processes, real
signals, the built-in sandbox with the real Azure SDKs, real R. Prints one table: test | tried | handled well.

    .venv/bin/python benchmarks/fault_battery.py [--only NAME ...] [--list]

Each check runs in its own temporary RDEPLOY_HOME and has a deadline: a hang is a failed row, never a stuck run.
Checks that need R are marked "no R" and skipped when Rscript with plumber is missing. About 3-4 minutes.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import resource
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CLI = [sys.executable, "-m", "rdeploy_tui"]
TIME_SCALE = "0.003"
CHECK_DEADLINE_S = 300.0


@dataclass
class Row:
    name: str
    tried: str
    ok: bool | None  # None: skipped
    seen: str


CHECKS: list[tuple[str, str, Callable[[Path], tuple[bool, str]], bool]] = []  # name, tried, check, needs R


def check(name: str, tried: str, *, needs_r: bool = False):
    def register(fn: Callable[[Path], tuple[bool, str]]):
        CHECKS.append((name, tried, fn, needs_r))
        return fn

    return register


# ----- helpers ------------------------------------------------------------------------------------------------
def env(home: Path, **extra: str) -> dict[str, str]:
    e = {**os.environ, "RDEPLOY_HOME": str(home), "RDEPLOY_SANDBOX_TIME_SCALE": TIME_SCALE, **extra}
    e.pop("REQUESTS_CA_BUNDLE", None)
    return e


def cli(args: list[str], home: Path, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        CLI + args, env=env(home, **extra), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def spec_file(folder: Path, **changes) -> Path:
    from rdeploy_tui.spec.deploy_spec import default_spec, save_spec

    spec = default_spec()
    for dotted, value in changes.items():
        section, field = dotted.split("__")
        setattr(getattr(spec, section), field, value)
    path = folder / "rdeploy.yaml"
    save_spec(spec, path)
    return path


def wait_for(fn: Callable[[], object], timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    return None


def plumbers(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "status").read_text()
            except OSError:
                continue
            if (
                "start_plumber.R" in cmd
                and marker in cmd
                and "\nState:\tZ" not in state
                and not cmd.split()[1:2] == ["-c"]
            ):
                found.append(int(entry.name))
    return found


def serving(marker: str) -> list[int]:
    """The plumbers of `plumbers(marker)` that listen already (killed before, R would die of SIGPIPE on its banner
    and prove nothing)."""
    listening = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[3] == "0A":
            listening.add(parts[9])
    found = []
    for pid in plumbers(marker):
        try:
            inodes = {os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1] for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if inodes & listening:
            found.append(pid)
    return found


def r_available() -> bool:
    from rdeploy_tui.local.plumber import find_rscript

    rscript = find_rscript()
    if rscript is None:
        return False
    probe = subprocess.run([rscript, "-e", "invisible(loadNamespace('plumber'))"], capture_output=True, timeout=60)
    return probe.returncode == 0


def clean(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ----- 1. hang ------------------------------------------------------------------------------------------------
@check("1 corrupt sandbox state", "state.json = [] then `endpoints list --sandbox` (deadline 60 s)")
def _(tmp: Path):
    (tmp / "sandbox").mkdir(parents=True)
    (tmp / "sandbox" / "state.json").write_text("[]")
    started = time.monotonic()
    try:
        r = cli(["endpoints", "list", "--sandbox"], tmp, timeout=60)
    except subprocess.TimeoutExpired:
        return False, "hung past 60 s"
    moved = list((tmp / "sandbox").glob("state.json.corrupt-*"))
    ok = r.returncode == 0 and "moved to" in r.stderr and len(moved) == 1 and "Traceback" not in r.stderr
    return ok, f"exit {r.returncode} in {time.monotonic() - started:.1f} s; corrupt file kept: {bool(moved)}"


@check("1 start-up failure after listen", "Sandbox.start() with a failing first-start step (deadline 30 s)")
def _(tmp: Path):
    from rdeploy_tui.sandbox import Sandbox
    from rdeploy_tui.sandbox import server as server_module

    original = server_module.seed
    server_module.seed = lambda sandbox: (_ for _ in ()).throw(OSError(28, "No space left on device"))
    outcome: list[object] = []
    sandbox = Sandbox(tmp / "state", time_scale=0.003)
    thread = threading.Thread(target=lambda: outcome.append(_call(sandbox.start)), daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(30)
    server_module.seed = original
    if thread.is_alive():
        return False, "hung past 30 s"
    return isinstance(
        outcome[0], OSError
    ), f"raised {type(outcome[0]).__name__} after {time.monotonic() - started:.2f} s"


def _call(fn):
    try:
        fn()
    except BaseException as exc:
        return exc
    return None


# ----- 2. orphans ---------------------------------------------------------------------------------------------
def _kill_when_serving(proc: subprocess.Popen, marker: str) -> tuple[bool, str]:
    pids = wait_for(lambda: serving(marker), 120)
    if not pids:
        proc.kill()
        return False, "no plumber ever started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    gone = wait_for(lambda: not plumbers(marker), 15)
    left = plumbers(marker)
    for pid in left:
        os.killpg(pid, signal.SIGKILL)
    return bool(gone), f"R {pids} {'gone' if gone else 'STILL RUNNING'} after SIGKILL of pid {proc.pid}"


@check("2 SIGKILL deploy --sandbox", "SIGKILL once the deployment's R serves; R must go too", needs_r=True)
def _(tmp: Path):
    spec = spec_file(tmp)
    proc = subprocess.Popen(
        CLI + ["deploy", "--spec", str(spec), "--sandbox", "--yes"],
        env=env(tmp),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return _kill_when_serving(proc, str(tmp))


@check("2 SIGKILL rdeploy-tui sandbox", "SIGKILL of the sandbox command hosting a deployment", needs_r=True)
def _(tmp: Path):
    spec = spec_file(tmp)
    r = cli(["deploy", "--spec", str(spec), "--sandbox", "--yes"], tmp, timeout=300)
    if r.returncode != 0:
        return False, "setup deploy failed: " + clean(r.stdout[-200:])
    proc = subprocess.Popen(
        CLI + ["sandbox", "--state-dir", str(tmp / "sandbox"), "--time-scale", TIME_SCALE],
        env=env(tmp),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return _kill_when_serving(proc, str(tmp))


@check("2 orphan reaped on restart", "no PDEATHSIG: SIGKILL sandbox, start again; old R reaped, one R", needs_r=True)
def _(tmp: Path):
    spec = spec_file(tmp)
    if cli(["deploy", "--spec", str(spec), "--sandbox", "--yes"], tmp, timeout=300).returncode != 0:
        return False, "setup deploy failed"
    args = CLI + ["sandbox", "--state-dir", str(tmp / "sandbox"), "--time-scale", TIME_SCALE]
    extra = {"RDEPLOY_NO_PDEATHSIG": "1"}
    first = subprocess.Popen(args, env=env(tmp, **extra), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    old = wait_for(lambda: serving(str(tmp)), 120) or []
    os.kill(first.pid, signal.SIGKILL)
    first.wait(30)
    orphaned = bool(old) and set(old) <= set(plumbers(str(tmp)))  # without PDEATHSIG the orphan really exists
    second = subprocess.Popen(args, env=env(tmp, **extra), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        reaped = wait_for(lambda: not set(old) & set(plumbers(str(tmp))), 60)
        new = wait_for(lambda: [p for p in serving(str(tmp)) if p not in old], 120) or []
        ok = orphaned and bool(reaped) and len(plumbers(str(tmp))) == 1
        return (
            ok,
            f"orphan {old} (alive after the kill: {orphaned}) {'reaped' if reaped else 'LEFT'}; now serving {new}",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(60)
        for pid in plumbers(str(tmp)):
            os.killpg(pid, signal.SIGKILL)


# ----- 3. needless rolling update --------------------------------------------------------------------------------
@check("3 unchanged spec x3", "deploy the same spec three times; runs 2 and 3 skip the deployment", needs_r=True)
def _(tmp: Path):
    spec = spec_file(tmp)
    statuses, times = [], []
    for _ in range(3):
        started = time.monotonic()
        r = cli(["deploy", "--spec", str(spec), "--sandbox", "--yes", "--json"], tmp, timeout=300)
        times.append(time.monotonic() - started)
        events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        statuses.append(
            next(
                (e["status"] for e in events if e["event"] == "StepFinished" and e["step"] == "create-deployment"), "?"
            )
        )
    return statuses == [
        "done",
        "skipped",
        "skipped",
    ], f"deployment step {statuses}; {', '.join(f'{t:.1f} s' for t in times)}"


# ----- 4. unbounded waits ----------------------------------------------------------------------------------------
@check("4 endpoint stuck in Creating", "the server leaves the endpoint Creating; deploy waits (deadline 90 s)")
def _(tmp: Path):
    from rdeploy_tui.azure import Workspace, session_for_sandbox
    from rdeploy_tui.azure.online import Endpoints
    from rdeploy_tui.errors import RdeployError
    from rdeploy_tui.sandbox import Sandbox
    from rdeploy_tui.sandbox.online import update_doc

    os.environ["RDEPLOY_HOME"] = str(tmp)
    with Sandbox(tmp / "sandbox", time_scale=0.003) as sandbox, session_for_sandbox(sandbox) as session:
        ws = Workspace.open(session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)
        Endpoints(ws).create_or_update_endpoint("stuck", "key")
        update_doc(sandbox, "endpoints", _endpoint_id(sandbox, "stuck"), state="Creating")
        started = time.monotonic()
        try:
            Endpoints(ws).create_or_update_endpoint("stuck", "key")
            return False, "returned although the endpoint never settled"
        except RdeployError as exc:
            ok = exc.code == "StillRunning" and "bill" in exc.what and "endpoints show" in (exc.next_step or "")
            return ok, f"after {time.monotonic() - started:.1f} s: {clean(exc.what, 70)}"


def _endpoint_id(sandbox, name: str) -> str:
    with sandbox.state.view() as data:
        return next(doc["id"] for doc in data["endpoints"].values() if doc["name"] == name)


# ----- 5. concurrent deploys -------------------------------------------------------------------------------------
@check("5 two deploys of one target", "a second deploy while another process holds the target")
def _(tmp: Path):
    from rdeploy_tui.pipeline.runner import run_deploy
    from rdeploy_tui.pipeline.state import ResumeStore, target_key
    from rdeploy_tui.spec.deploy_spec import default_spec

    spec = default_spec()
    w = spec.workspace
    target = target_key(w.subscription_id, w.resource_group, w.name, spec.endpoint.name, spec.deployment.name)
    store = ResumeStore(tmp / "deployments")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from rdeploy_tui.pipeline.target_lock import TargetLock
        lock = TargetLock(Path({str(store.path(target))!r}), {target!r})
        lock.acquire()
        print("held", flush=True)
        sys.stdin.read()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        holder.stdout.readline()
        started = time.monotonic()
        outcome = run_deploy(spec, session=None, sink=lambda e: None, store=store)
        ok = outcome.status == "failed" and f"process {holder.pid}" in outcome.error.what
        return ok, f"refused in {time.monotonic() - started:.2f} s: {clean(outcome.error.what, 80)}"
    finally:
        holder.stdin.close()
        holder.wait(30)


# ----- 6. billion laughs and special files ------------------------------------------------------------------------
LAUGHS = "scoring:\n  sample_request:\n    a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"    {b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi")
)


@check("6 billion laughs", "validate a <1 KB spec of nested YAML aliases (deadline 60 s, RSS < 400 MB)")
def _(tmp: Path):
    path = tmp / "laughs.yaml"
    path.write_text(LAUGHS)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    try:
        r = cli(["validate", "--spec", str(path)], tmp, timeout=60)
    except subprocess.TimeoutExpired:
        return False, "still expanding after 60 s"
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) // 1024
    ok = r.returncode == 1 and "aliases expand" in r.stderr and peak < 400
    return ok, f"{path.stat().st_size} B spec refused in {time.monotonic() - started:.1f} s, peak {peak} MiB"


@check("6 spec is /dev/zero or a FIFO", "validate --spec /dev/zero; --spec a FIFO nobody writes (30 s each)")
def _(tmp: Path):
    os.mkfifo(tmp / "fifo")
    seen = []
    for target in ("/dev/zero", str(tmp / "fifo")):
        try:
            r = cli(["validate", "--spec", target], tmp, timeout=30)
        except subprocess.TimeoutExpired:
            return False, f"{target}: hung"
        seen.append(r.returncode == 1 and "not a regular file" in r.stderr)
    return all(seen), "both refused at once" if all(seen) else f"results {seen}"


# ----- 7. predictable keys ---------------------------------------------------------------------------------------
@check("7 empty sandbox secret", "an empty sandbox/secret file, then `endpoints list --sandbox`")
def _(tmp: Path):
    (tmp / "sandbox").mkdir(parents=True)
    (tmp / "sandbox" / "secret").write_bytes(b"")
    r = cli(["endpoints", "list", "--sandbox"], tmp, timeout=60)
    size = len((tmp / "sandbox" / "secret").read_bytes())
    return (
        r.returncode == 0 and size >= 32 and "too short" in r.stderr,
        f"secret now {size} bytes; warned: {'too short' in r.stderr}",
    )


# ----- 8. false reports ------------------------------------------------------------------------------------------
def _sandbox_deploy(tmp: Path, fault: str, match: str):
    from rdeploy_tui.azure import session_for_sandbox
    from rdeploy_tui.pipeline.runner import run_deploy
    from rdeploy_tui.sandbox import Sandbox
    from rdeploy_tui.spec.deploy_spec import default_spec

    os.environ["RDEPLOY_HOME"] = str(tmp)
    with Sandbox(tmp / "sandbox", time_scale=0.003) as sandbox:
        spec = default_spec()
        spec.workspace.subscription_id, spec.workspace.resource_group = sandbox.subscription_id, sandbox.resource_group
        spec.workspace.name = sandbox.workspace_name
        sandbox.faults.arm(fault, count=1, match=match)
        with session_for_sandbox(sandbox) as session:
            return run_deploy(spec, session=session, sink=lambda e: None, smoke_score=False)


@check("8 403 on endpoint creation", "AuthorizationFailed on PUT endpoint; the Left behind summary")
def _(tmp: Path):
    outcome = _sandbox_deploy(tmp, "authorization-failed", r"PUT .*/onlineEndpoints/[^/]+$")
    left = outcome.summary.split("Left behind:", 1)[-1]
    return "nothing was created" in left and "exists" not in left, clean("Left behind:" + left, 90)


@check("8 refused deployment PUT", "BadArgument on PUT deployment; the Left behind summary")
def _(tmp: Path):
    outcome = _sandbox_deploy(tmp, "bad-argument", r"PUT .*/deployments/")
    left = outcome.summary.split("Left behind:", 1)[-1]
    return "instance-hour" not in left and "does not bill compute" in left, clean("Left behind:" + left, 90)


# ----- 9. tracebacks and wrong causes ---------------------------------------------------------------------------
@check("9 resume file []", "deployments/<target>.json = [] then deploy (fails later on purpose: no ACR)")
def _(tmp: Path):
    from rdeploy_tui.pipeline.state import ResumeStore, target_key
    from rdeploy_tui.sandbox import arm

    spec = spec_file(
        tmp,
        workspace__subscription_id=arm.DEFAULT_SUBSCRIPTION,
        workspace__resource_group=arm.DEFAULT_RESOURCE_GROUP,
        workspace__name=arm.NO_ACR_WORKSPACE,
    )
    target = target_key(
        arm.DEFAULT_SUBSCRIPTION, arm.DEFAULT_RESOURCE_GROUP, arm.NO_ACR_WORKSPACE, "r-endpoint-forecast", "blue"
    )
    path = ResumeStore(tmp / "deployments").path(target)
    path.parent.mkdir(parents=True)
    path.write_text("[]")
    r = cli(["deploy", "--spec", str(spec), "--sandbox", "--yes"], tmp, timeout=120)
    ok = "unexpected error" not in r.stderr and "moved to" in r.stdout and "no container registry" in r.stdout
    return ok, "warned, moved aside, deploy went on to its real error" if ok else clean(r.stdout + r.stderr, 90)


ORDINARY = {
    "deep YAML": (
        lambda t: (t / "s.yaml").write_text("a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 300))),
        ["validate", "--spec", "{t}/s.yaml"],
    ),
    "deep JSON spec": (
        lambda t: (t / "s.yaml").write_text("[" * 100000 + "]" * 100000),
        ["validate", "--spec", "{t}/s.yaml"],
    ),
    "spec /dev/zero": (lambda t: None, ["validate", "--spec", "/dev/zero"]),
    "spec a folder": (lambda t: None, ["validate", "--spec", "{t}"]),
    "spec empty": (lambda t: (t / "s.yaml").write_text(""), ["validate", "--spec", "{t}/s.yaml"]),
    "spec not UTF-8": (
        lambda t: (t / "s.yaml").write_bytes(b"model: {name: \xff}\n"),
        ["validate", "--spec", "{t}/s.yaml"],
    ),
    "spec duplicate key": (
        lambda t: (t / "s.yaml").write_text("model: {name: a, name: b}\n"),
        ["validate", "--spec", "{t}/s.yaml"],
    ),
    "--out a file": (lambda t: (t / "f").write_text("x"), ["init", "--spec", "{t}/new.yaml", "--out", "{t}/f"]),
    "--out under a file": (
        lambda t: (t / "f").write_text("x"),
        ["init", "--spec", "{t}/new.yaml", "--out", "{t}/f/sub"],
    ),
    "--out read-only": (lambda t: None, ["init", "--spec", "{t}/new.yaml", "--out", "/sys/rdeploy-battery"]),
    "score --file binary": (
        lambda t: (t / "b.bin").write_bytes(bytes(range(256))),
        ["endpoints", "score", "x", "--file", "{t}/b.bin", "--sandbox"],
    ),
    "score --file deep JSON": (
        lambda t: (t / "d.json").write_text("[" * 100000 + "]" * 100000),
        ["endpoints", "score", "x", "--file", "{t}/d.json", "--sandbox"],
    ),
    "score --file a folder": (lambda t: None, ["endpoints", "score", "x", "--file", "{t}", "--sandbox"]),
    "unknown key with escapes": (
        lambda t: (t / "s.yaml").write_text('"\\e]0;pwned\\a": 1\n'),
        ["validate", "--spec", "{t}/s.yaml"],
    ),
}


@check("9 ordinary mistakes", f"{len(ORDINARY)} mistakes through the CLI: no traceback, file named, next step")
def _(tmp: Path):
    bad = []
    for label, (prepare, args) in ORDINARY.items():
        folder = tmp / label.replace(" ", "_").replace("/", "_")
        folder.mkdir()
        prepare(folder)
        argv = [a.replace("{t}", str(folder)) for a in args]
        try:
            r = cli(argv, folder / "home", timeout=60)
        except subprocess.TimeoutExpired:
            bad.append(f"{label}: hung")
            continue
        named = any(a in r.stderr for a in argv[1:] if "/" in a) or "nested" in r.stderr
        if (
            r.returncode not in (1, 2)
            or "unexpected error" in r.stderr
            or "Traceback" in r.stderr
            or "\x1b" in r.stderr
            or not named
        ):
            bad.append(label)
    return not bad, f"{len(ORDINARY) - len(bad)}/{len(ORDINARY)} explained" + (
        f"; not: {', '.join(bad)}" if bad else ""
    )


# ----- 10. smaller ----------------------------------------------------------------------------------------------
@check("10 sandbox front door", "GET on the scoring URI; 512 MiB announced without a key; request log bound")
def _(tmp: Path):
    from rdeploy_tui.sandbox import Sandbox
    from rdeploy_tui.sandbox.server import REQUEST_LOG_MAX

    with Sandbox(tmp / "sandbox", time_scale=0.003) as sandbox:

        def raw(head: str) -> str:
            context = ssl.create_default_context(cafile=str(sandbox.ca_bundle))
            with (
                socket.create_connection(("127.0.0.1", sandbox.port), timeout=20) as s,
                context.wrap_socket(s, server_hostname="127.0.0.1") as t,
            ):
                t.sendall(head.encode())
                return t.recv(4096).decode(errors="replace").split("\r\n")[0]

        get = raw("GET /endpoints/x/score HTTP/1.1\r\nHost: x\r\n\r\n")
        big = raw("POST /endpoints/x/score HTTP/1.1\r\nHost: x\r\nContent-Length: 536870000\r\n\r\n")
        for _ in range(REQUEST_LOG_MAX * 2):
            sandbox.request_log.append({})
        bounded = len(sandbox.request_log) <= REQUEST_LOG_MAX * 1.1
    return get.endswith(
        "405 Method Not Allowed"
    ) and " 404 " in big + " " and bounded, f"GET: {get[9:]}; no key + 512 MiB: {big[9:]}; log bounded: {bounded}"


@check("10 non-JSON scoring body", "POST `not json` and invalid UTF-8 to the local plumber API", needs_r=True)
def _(tmp: Path):
    import http.client

    from rdeploy_tui.deploy_folder.render import render, write_folder
    from rdeploy_tui.deploy_folder.sample_model import sample_model_dir
    from rdeploy_tui.local.plumber import start_plumber
    from rdeploy_tui.spec.deploy_spec import DeploySpec

    write_folder(render(DeploySpec(), base_dir=tmp), tmp / "f")
    answers = []
    with start_plumber(
        tmp / "f" / "src", sample_model_dir(), start_script=tmp / "f" / "docker-context" / "start_plumber.R"
    ) as api:
        api.wait_ready(timeout=60)
        for body in (b"not json", b'{"x": "\xff"}'):
            conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
            conn.request("POST", "/score", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            answers.append((response.status, json.loads(response.read()).get("error", "")))
            conn.close()
    ok = all(s == 400 and "not valid JSON" in e for s, e in answers)
    return ok, "; ".join(f"{s}: {clean(e, 40)}" for s, e in answers)


# ----- 11. outside the sandbox ----------------------------------------------------------------------------------
@check(
    "11 proxy, workload identity, .dockerignore",
    "HTTPS_PROXY/NO_PROXY; AZURE_FEDERATED_TOKEN_FILE; `*.R` in .dockerignore",
)
def _(tmp: Path):
    from rdeploy_tui.azure.acr import make_context_archive
    from rdeploy_tui.azure.credentials import build_credential
    from rdeploy_tui.scoring.proxy import proxy_for

    saved = dict(os.environ)
    try:
        for name in [n for n in os.environ if n.lower().endswith("_proxy") or n.startswith("AZURE_")]:
            del os.environ[name]
        os.environ.update({"HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": ".internal"})
        proxied = proxy_for("https://ep.westeurope.inference.ml.azure.com/score") == "http://proxy.corp:3128"
        direct = proxy_for("https://ep.internal/score") is None and proxy_for("http://ep.example/score") is None
        (tmp / "token").write_text("oidc")
        os.environ.update(
            {
                "AZURE_CLIENT_ID": "c",
                "AZURE_TENANT_ID": "t",
                "AZURE_FEDERATED_TOKEN_FILE": str(tmp / "token"),
                "PATH": str(tmp),
            }
        )
        credential, source = build_credential()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    files = {"Dockerfile": b"FROM x\n", ".dockerignore": b"*.R\n", "x.R": b"", "sub/x.R": b""}
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(make_context_archive(files)))) as tar:
        sent = set(tar.getnames())
    docker_rules = "sub/x.R" in sent and "x.R" not in sent
    ok = proxied and direct and type(credential).__name__ == "WorkloadIdentityCredential" and docker_rules
    return (
        ok,
        f"proxied {proxied}, NO_PROXY/http direct {direct}, {type(credential).__name__}, sub/x.R kept {docker_rules}",
    )


# ----- the run --------------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run only checks whose name starts with one of these (e.g. 1 2 6)")
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    parser.add_argument(
        "--deadline", type=float, default=CHECK_DEADLINE_S, help="seconds a check may take before it counts as hung"
    )
    args = parser.parse_args()
    if args.list:
        for name, tried, _, needs_r in CHECKS:
            print(f"{name:34} {tried}{'  [R]' if needs_r else ''}")
        return 0
    have_r = r_available()
    rows = []
    for name, tried, fn, needs_r in CHECKS:
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        if needs_r and not have_r:
            rows.append(Row(name, tried, None, "no R: skipped"))
            continue
        saved_env = dict(os.environ)
        with tempfile.TemporaryDirectory(prefix="rdeploy-battery-") as folder:
            started = time.monotonic()
            result: list[tuple[bool, str]] = []

            def run(fn=fn, folder=folder) -> None:
                try:
                    result.append(fn(Path(folder)))
                except Exception as exc:
                    result.append((False, f"check raised {type(exc).__name__}: {clean(str(exc), 60)}"))
                    traceback.print_exc(file=sys.stderr)

            worker = threading.Thread(target=run, daemon=True)  # a check that hangs is a failed row, not a stuck run
            worker.start()
            worker.join(args.deadline)
            ok, seen = result[0] if result else (False, f"hung: no end within {args.deadline:.0f} s")
            seen = f"{seen} [{time.monotonic() - started:.0f} s]"
        os.environ.clear()
        os.environ.update(saved_env)
        rows.append(Row(name, tried, ok, seen))
        print(f"{'ok ' if ok else 'BAD'} {name}: {seen}", file=sys.stderr, flush=True)
    width = max(len(r.name) for r in rows)
    print(f"\n{'test':{width}} | handled well | tried -> seen")
    print(f"{'-' * width}-+--------------+{'-' * 60}")
    for r in rows:
        verdict = "skipped" if r.ok is None else ("yes" if r.ok else "NO")
        print(f"{r.name:{width}} | {verdict:12} | {r.tried} -> {r.seen}")
    failed = [r for r in rows if r.ok is False]
    print(
        f"\n{len(rows) - len(failed)}/{len(rows)} handled well"
        + (f"; not: {', '.join(r.name for r in failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
