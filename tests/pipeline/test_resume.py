"""A deploy killed with SIGKILL (the whole process tree, sandbox included) resumes on the next run
without a second endpoint. The CLI runs as a real subprocess with its own in-process sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.sandbox, pytest.mark.r, pytest.mark.slow]


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        for child in children.get(current, []):
            found.append(child)
            frontier.append(child)
    return found


def _deploy(home: Path, spec: Path, *, kill_when=None, timeout: float = 120) -> tuple[int, list[dict]]:
    env = {**os.environ, "RDEPLOY_HOME": str(home), "RDEPLOY_SANDBOX_TIME_SCALE": "0.008"}
    env.pop("REQUESTS_CA_BUNDLE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rdeploy_tui", "deploy", "--spec", str(spec), "--sandbox", "--yes", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    for line in proc.stdout:
        events.append(json.loads(line))
        if kill_when is not None and kill_when(events[-1]):
            # Freeze it first so its threads cannot start another plumber between the snapshot of its
            # process tree and the kill; those die with it, as in a crash.
            proc.send_signal(signal.SIGSTOP)
            tree = _descendants(proc.pid)
            proc.send_signal(signal.SIGKILL)
            for pid in tree:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait()
            return -9, events
        assert time.monotonic() < deadline, "deploy took too long"
    rc = proc.wait()
    if rc != 0:
        print(proc.stderr.read() if proc.stderr else "")
    return rc, events


@pytest.fixture
def spec_file(tmp_path):
    from rdeploy_tui.spec.deploy_spec import default_spec, save_spec

    path = tmp_path / "rdeploy.yaml"
    save_spec(default_spec(), path)
    return path


def _endpoint_count(home: Path) -> int:
    """How many endpoint creations the sandbox accepted, from its own state (one endpoint, one create)."""
    state = json.loads((home / "sandbox" / "state.json").read_text())
    return len(state.get("endpoints", {}))


@pytest.mark.parametrize(
    "where, kill_when",
    [
        ("build", lambda e: e["event"] == "LogLines" and e["step"] == "build-image"),
        ("deployment", lambda e: e["event"] == "LogLines" and e["step"] == "create-deployment"),
    ],
)
def test_resume_after_sigkill(tmp_path, spec_file, where, kill_when):
    home = tmp_path / "home"
    rc, events = _deploy(home, spec_file, kill_when=kill_when)
    assert rc == -9, f"the deploy ended before the kill point ({where}): {events[-3:]}"
    saved = json.loads(next((home / "deployments").glob("*.json")).read_text())
    running = [k for k, v in saved["steps"].items() if v["status"] == "running"]
    assert ("build-image" if where == "build" else "create-deployment") in running

    rc, events = _deploy(home, spec_file)
    assert rc == 0, events[-1]
    assert events[-1]["event"] == "PlanFinished" and events[-1]["status"] == "succeeded"
    progress = " ".join(e.get("message", "") for e in events if e["event"] == "StepProgress")
    assert "resuming the previous deploy" in progress
    if where == "build":
        # the in-process sandbox died with the run, so its ACR run ended: built again, said so
        assert "building again" in progress or "resuming: build run" in progress
    else:
        build = next(e for e in events if e["event"] == "StepFinished" and e["step"] == "build-image")
        assert build["status"] == "skipped"
    assert _endpoint_count(home) == 1  # never a second endpoint
    score = next(e for e in events if e["event"] == "StepFinished" and e["step"] == "smoke-score")
    assert score["message"].startswith("HTTP 200")
    assert _processes_under(home) == []  # neither run left a plumber behind


def _processes_under(home: Path) -> list[str]:
    """Command lines of live processes that use files of this test's state folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(home) in cmdline:
                found.append(cmdline)
    return found
