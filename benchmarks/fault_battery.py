"""The reliability battery: kills, corrupt state, hostile files and the other faults of issues 15 and 25, tried from
outside as users and faults would: real CLI processes, real signals, the built-in sandbox with the real Azure SDKs,
real R. Prints one table: test | tried | handled well.

    .venv/bin/python benchmarks/fault_battery.py [--quick] [--only NAME ...] [--list]

Each check runs in its own temporary RDEPLOY_HOME and has a deadline: a hang is a failed row, never a stuck run.
Checks that need R are marked "no R" and skipped when Rscript with plumber is missing. About 4-5 minutes;
--quick runs only the checks that take seconds (no R, no deploy), under a minute. Section 12 is the files the tool
reads (issue 25); its rows run in CI as tests too (tests/reliability/test_files_read.py, test_target_lock.py,
tests/ui/test_keymap_file.py).
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


@dataclass
class Check:
    name: str
    tried: str
    fn: Callable[[Path], tuple[bool, str]]
    needs_r: bool
    slow: bool  # takes more than a few seconds (a deploy with R, a wait for a deadline): left out by --quick


CHECKS: list[Check] = []


def check(name: str, tried: str, *, needs_r: bool = False, slow: bool = False):
    def register(fn: Callable[[Path], tuple[bool, str]]):
        CHECKS.append(Check(name, tried, fn, needs_r, slow or needs_r))
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
            if "start_plumber.R" in cmd and marker in cmd and "\nState:\tZ" not in state and cmd.split()[1:2] != ["-c"]:
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
        [*CLI, "deploy", "--spec", str(spec), "--sandbox", "--yes"],
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
        [*CLI, "sandbox", "--state-dir", str(tmp / "sandbox"), "--time-scale", TIME_SCALE],
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
    args = [*CLI, "sandbox", "--state-dir", str(tmp / "sandbox"), "--time-scale", TIME_SCALE]
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
    from rdeploy_tui import launch
    from rdeploy_tui.azure import Workspace
    from rdeploy_tui.azure.online import Endpoints
    from rdeploy_tui.errors import RdeployError
    from rdeploy_tui.sandbox import Sandbox
    from rdeploy_tui.sandbox.online import update_doc

    os.environ["RDEPLOY_HOME"] = str(tmp)
    with Sandbox(tmp / "sandbox", time_scale=0.003) as sandbox, launch.connect_to(sandbox) as session:
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
    f"    {b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
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
    from rdeploy_tui import launch
    from rdeploy_tui.pipeline.runner import run_deploy
    from rdeploy_tui.sandbox import Sandbox
    from rdeploy_tui.spec.deploy_spec import default_spec

    os.environ["RDEPLOY_HOME"] = str(tmp)
    with Sandbox(tmp / "sandbox", time_scale=0.003) as sandbox:
        spec = default_spec()
        spec.workspace.subscription_id, spec.workspace.resource_group = sandbox.subscription_id, sandbox.resource_group
        spec.workspace.name = sandbox.workspace_name
        sandbox.faults.arm(fault, count=1, match=match)
        with launch.connect_to(sandbox) as session:
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
        credential, _source = build_credential()
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


# ----- 12. files the tool reads (issue 25 items 5-8) -------------------------------------------------------------
# VmHWM (the process's own high-water mark since its exec) said at exit: wait4's ru_maxrss would carry this
# battery's own peak over the child's exec.
_PEAK_LAUNCHER = (
    "import atexit, sys\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            print('rdeploy-peak-kib', line.split()[1], file=sys.stderr)\n"
    "atexit.register(peak)\n"
    "from rdeploy_tui.cli import main\n"
    "raise SystemExit(main(sys.argv[1:]))\n"
)


def _peak_cli(args: list[str], home: Path, timeout: float = 60) -> tuple[int, str, int]:
    """(exit code, stderr, the CLI process's own peak RSS in MiB); a hang past `timeout` raises TimeoutExpired."""
    r = subprocess.run(
        [sys.executable, "-c", _PEAK_LAUNCHER, *args],
        env=env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    peaks = [int(line.split()[1]) // 1024 for line in r.stderr.splitlines() if line.startswith("rdeploy-peak-kib ")]
    return r.returncode, r.stderr, peaks[0] if peaks else 0


def _clean_refusal(r: subprocess.CompletedProcess, code: int, needle: str) -> bool:
    out = r.stdout + r.stderr
    return (
        r.returncode == code
        and needle in " ".join(out.split())
        and "unexpected error" not in out
        and "Traceback" not in out
        and "\x1b" not in out
    )


def _no_acr_spec(folder: Path, **changes) -> Path:
    from rdeploy_tui.sandbox import arm

    return spec_file(
        folder,
        workspace__subscription_id=arm.DEFAULT_SUBSCRIPTION,
        workspace__resource_group=arm.DEFAULT_RESOURCE_GROUP,
        workspace__name=arm.NO_ACR_WORKSPACE,
        **changes,
    )


class _Tmux:
    """The real console script at 80x24 in a private tmux server."""

    def __init__(self, home: Path) -> None:
        self.socket, self.home, self.done = f"rdeploy-battery-{os.getpid()}", home, home / "exit-code"

    def __enter__(self) -> _Tmux:
        script = Path(sys.executable).parent / "rdeploy-tui"
        command = (
            f"RDEPLOY_HOME={self.home} RDEPLOY_SANDBOX_TIME_SCALE={TIME_SCALE} {script} --sandbox; "
            f"echo $? > {self.done}; echo APP-EXITED; sleep 60"
        )
        subprocess.run(["tmux", "-L", self.socket, "new-session", "-d", "-s", "a", "-x", "80", "-y", "24", command])
        return self

    def screen(self) -> str:
        shown = subprocess.run(["tmux", "-L", self.socket, "capture-pane", "-t", "a", "-p"], capture_output=True)
        return " ".join(shown.stdout.decode(errors="replace").replace("\u258c", " ").split())

    def wait(self, *needles: str, timeout: float = 60) -> bool:
        return bool(wait_for(lambda: all(n in self.screen() for n in needles), timeout))

    def key(self, key: str) -> None:
        subprocess.run(["tmux", "-L", self.socket, "send-keys", "-t", "a", key])

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@check("12 wizard start, FIFOs everywhere", "keymap.yaml, last-run.yaml, a resume file: FIFOs; the wizard in tmux, F10")
def _(tmp: Path):
    import shutil

    if shutil.which("tmux") is None:
        return False, "tmux is not installed"
    home = tmp / "home"
    (home / "deployments").mkdir(parents=True)
    os.mkfifo(tmp / "pipe")
    for place in ("keymap.yaml", "last-run.yaml", "deployments/x-0000000000.json"):
        (home / place).symlink_to(tmp / "pipe")
    started = time.monotonic()
    with _Tmux(home) as tmux:
        first = tmux.wait("Signed in as sandbox user", "named pipe (FIFO)")
        at = time.monotonic() - started
        tmux.key("F10")
        quit_ok = tmux.wait("APP-EXITED", timeout=30) and tmux.done.read_text().strip() == "0"
    return first and quit_ok, f"first screen with the keymap message after {at:.1f} s; F10 exit 0: {quit_ok}"


@check("12 quit: banana", "keymap.yaml `quit: banana` and `help: f10`; the wizard in tmux: said, and F10 quits")
def _(tmp: Path):
    import shutil

    if shutil.which("tmux") is None:
        return False, "tmux is not installed"
    home = tmp / "home"
    home.mkdir()
    (home / "keymap.yaml").write_text("quit: banana\nhelp: f10\n")
    with _Tmux(home) as tmux:
        said = tmux.wait("Signed in as sandbox user", "no keyboard sends as a key")
        tmux.key("F10")
        quit_ok = tmux.wait("APP-EXITED", timeout=30) and tmux.done.read_text().strip() == "0"
    return said and quit_ok, f"entry said: {said}; F10 still quits (exit 0): {quit_ok}"


KEYMAPS = {
    "deeply nested": "next:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 200)),
    "5,000-digit number": "next: " + "9" * 5000 + "\n",
    "/dev/zero": None,
}


@check("12 keymap unreadable", f"keymap.yaml {', '.join(KEYMAPS)}: read as the app reads it, in a child (30 s)")
def _(tmp: Path):
    seen = []
    for label, text in KEYMAPS.items():
        path = tmp / label.replace(" ", "_").replace("/", "_") / "keymap.yaml"
        path.parent.mkdir()
        if text is None:
            path.symlink_to("/dev/zero")
        else:
            path.write_text(text)
        code = f"from rdeploy_tui.ui import keys; k = keys.load_user_keymap({str(path)!r}); print(k.keymap, k.problems)"
        try:
            r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            seen.append(f"{label}: hung")
            continue
        ok = r.returncode == 0 and r.stdout.startswith("{}") and "none of it was applied" in r.stdout
        seen.append(f"{label}: {'said' if ok else 'NOT said: ' + clean(r.stdout + r.stderr, 60)}")
    return all(": said" in s for s in seen), "; ".join(seen)


@check("12 prices cache nested", "cache/prices.json nested 100,000 deep; a price asked of the sandbox, in a child")
def _(tmp: Path):
    (tmp / "cache").mkdir()
    cache = tmp / "cache" / "prices.json"
    cache.write_text("[" * 100_000 + "]" * 100_000)
    code = (
        "from rdeploy_tui.sandbox import Sandbox\n"
        "from rdeploy_tui.launch import connect_to\n"
        "from rdeploy_tui.azure.prices import hourly_price\n"
        f"with Sandbox({str(tmp / 'sandbox')!r}, time_scale=0.003) as box, connect_to(box) as s:\n"
        "    print(hourly_price(s, 'westeurope', 'Standard_DS3_v2'))\n"
    )
    try:
        r = subprocess.run([sys.executable, "-c", code], env=env(tmp), capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False, "hung past 60 s"
    rewritten = cache.stat().st_size < 100_000 and "|westeurope|standard_ds3_v2" in cache.read_text()
    ok = r.returncode == 0 and "per_hour=" in r.stdout and "Traceback" not in r.stderr and rewritten
    return ok, f"exit {r.returncode}; {clean(r.stdout, 60)}; cache rewritten: {rewritten}"


@check("12 hostile holder note", "a held deploy lock whose note has a non-number time and escapes in the host; deploy")
def _(tmp: Path):
    from rdeploy_tui.pipeline.state import ResumeStore, target_key
    from rdeploy_tui.sandbox import arm

    spec = _no_acr_spec(tmp)
    target = target_key(
        arm.DEFAULT_SUBSCRIPTION, arm.DEFAULT_RESOURCE_GROUP, arm.NO_ACR_WORKSPACE, "r-endpoint-forecast", "blue"
    )
    path = ResumeStore(tmp / "deployments").path(target)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from rdeploy_tui.pipeline.target_lock import TargetLock; "
            f"lock = TargetLock(Path({str(path)!r}), {target!r}); lock.acquire(); print('held', flush=True); "
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        holder.stdout.readline()
        path.with_suffix(".holder").write_text(
            json.dumps({"pid": 10**30, "host": "evil\x1b]0;pwned\x07", "since": "yesterday"})
        )
        r = cli(["deploy", "--spec", str(spec), "--sandbox", "--yes"], tmp, timeout=60)
    finally:
        holder.stdin.close()
        holder.wait(30)
    ok = _clean_refusal(r, 1, "is running (a process on evil\\x1b]0;pwned\\x07)")
    return ok, "refused, host shown escaped, no raw escape reached the terminal" if ok else clean(r.stdout, 90)


@check("12 spec with a 5,000-digit number", "deployment.instance_count: 9 x 5,000; validate, then init")
def _(tmp: Path):
    spec = spec_file(tmp)
    spec.write_text(spec.read_text().replace("instance_count: 1", "instance_count: " + "9" * 5000))
    needle = "deployment.instance_count: holds a number of 5,000 digits"
    results = [
        cli(["validate", "--spec", str(spec)], tmp / "h1", timeout=60),
        cli(["init", "--spec", str(spec), "--out", str(tmp / "out")], tmp / "h2", timeout=60),
    ]
    ok = all(_clean_refusal(r, 1, needle) for r in results)
    return ok, f"validate exit {results[0].returncode}, init exit {results[1].returncode}; said at the field: {ok}"


@check("12 score --file /dev/zero", "`endpoints score x --file /dev/zero` and a FIFO (60 s, child peak RSS < 300 MiB)")
def _(tmp: Path):
    os.mkfifo(tmp / "body.pipe")
    seen, ok = [], True
    for target, needle in (("/dev/zero", "character device"), (str(tmp / "body.pipe"), "named pipe")):
        code, stderr, peak = _peak_cli(["endpoints", "score", "x", "--file", target, "--sandbox"], tmp)
        good = code == 2 and needle in stderr and "Traceback" not in stderr and 0 < peak < 300
        ok = ok and good
        seen.append(f"{Path(target).name}: exit {code}, peak {peak} MiB")
    return ok, "; ".join(seen)


@check("12 paths outside the spec's folder", "scoring.script and rollout.requests_file via ../: validate warns where")
def _(tmp: Path):
    (tmp / "shared").mkdir()
    (tmp / "shared" / "plumber.R").write_text("# shared\n")
    (tmp / "shared" / "requests.json").write_text("[{}]")
    (tmp / "project").mkdir()
    spec = spec_file(tmp / "project")
    text = spec.read_text().replace("script: null", "script: ../shared/plumber.R")
    spec.write_text(text.replace("requests_file: null", "requests_file: ../shared/requests.json"))
    r = cli(["validate", "--spec", str(spec)], tmp, timeout=60)
    flat = " ".join(r.stderr.split())
    ok = r.returncode == 0 and flat.count("resolves to") == 2 and str((tmp / "shared").resolve()) in flat
    return ok, f"exit {r.returncode}; warnings naming where they resolve: {flat.count('resolves to')}"


@check("12 BOM spec", "a spec saved with a UTF-8 byte order mark: validate")
def _(tmp: Path):
    spec = spec_file(tmp)
    spec.write_bytes(b"\xef\xbb\xbf" + spec.read_bytes())
    r = cli(["validate", "--spec", str(spec)], tmp, timeout=60)
    return r.returncode == 0, f"exit {r.returncode}: {clean(r.stdout, 60)}"


@check("12 rollout --requests /dev/zero", "refused before anything is created: exit 2, no sandbox started (60 s)")
def _(tmp: Path):
    spec = _no_acr_spec(tmp)
    r = cli(["rollout", "--spec", str(spec), "--sandbox", "--yes", "--requests", "/dev/zero"], tmp / "h", timeout=60)
    untouched = not (tmp / "h" / "sandbox").exists()
    ok = _clean_refusal(r, 2, "the rollout's requests file /dev/zero is a character device") and untouched
    return ok, f"exit {r.returncode}; nothing started: {untouched}"


@check("12 resume file a FIFO", "deployments/<target>.json is a FIFO, then deploy (fails later on purpose: no ACR)")
def _(tmp: Path):
    from rdeploy_tui.pipeline.state import ResumeStore, target_key
    from rdeploy_tui.sandbox import arm

    spec = _no_acr_spec(tmp)
    target = target_key(
        arm.DEFAULT_SUBSCRIPTION, arm.DEFAULT_RESOURCE_GROUP, arm.NO_ACR_WORKSPACE, "r-endpoint-forecast", "blue"
    )
    path = ResumeStore(tmp / "deployments").path(target)
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    r = cli(["deploy", "--spec", str(spec), "--sandbox", "--yes"], tmp, timeout=60)
    ok = "moved to" in r.stdout and "named pipe" in r.stdout and "no container registry" in r.stdout
    return ok, "moved aside with a notice, the deploy went on" if ok else clean(r.stdout + r.stderr, 90)


# ----- the run --------------------------------------------------------------------------------------------------
def run_check(c: Check, deadline: float) -> tuple[bool, str]:
    """One check in its own temporary folder and thread: a check that hangs is a failed row, not a stuck run."""
    saved_env = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory(prefix="rdeploy-battery-") as folder:
            started = time.monotonic()
            result: list[tuple[bool, str]] = []

            def run() -> None:
                try:
                    result.append(c.fn(Path(folder)))
                except Exception as exc:
                    result.append((False, f"check raised {type(exc).__name__}: {clean(str(exc), 60)}"))
                    traceback.print_exc(file=sys.stderr)

            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            worker.join(deadline)
            ok, seen = result[0] if result else (False, f"hung: no end within {deadline:.0f} s")
            return ok, f"{seen} [{time.monotonic() - started:.0f} s]"
    finally:
        os.environ.clear()
        os.environ.update(saved_env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run only checks whose name starts with one of these (e.g. 1 2 6)")
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    parser.add_argument("--quick", action="store_true", help="only the checks that take seconds (no R, no deploys)")
    parser.add_argument(
        "--deadline", type=float, default=CHECK_DEADLINE_S, help="seconds a check may take before it counts as hung"
    )
    args = parser.parse_args()
    if args.list:
        for c in CHECKS:
            marks = ("  [R]" if c.needs_r else "") + ("  [slow]" if c.slow else "")
            print(f"{c.name:36} {c.tried}{marks}")
        return 0
    have_r = r_available()
    rows = []
    for c in CHECKS:
        if args.only and not any(c.name.startswith(prefix) for prefix in args.only):
            continue
        if args.quick and c.slow:
            continue
        if c.needs_r and not have_r:
            rows.append(Row(c.name, c.tried, None, "no R: skipped"))
            continue
        ok, seen = run_check(c, args.deadline)
        rows.append(Row(c.name, c.tried, ok, seen))
        print(f"{'ok ' if ok else 'BAD'} {c.name}: {seen}", file=sys.stderr, flush=True)
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
