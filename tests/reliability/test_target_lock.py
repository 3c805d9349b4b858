"""A second deploy of the same target is refused at once and told who holds it (issue 15 item 5)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading

import pytest
from reliability_helpers import run_cli, wait_for

from rdeploy_tui.pipeline.events import PlanFinished
from rdeploy_tui.pipeline.runner import run_deploy
from rdeploy_tui.pipeline.state import ResumeStore, target_key
from rdeploy_tui.spec.deploy_spec import default_spec


def _target(spec):
    w = spec.workspace
    return target_key(w.subscription_id, w.resource_group, w.name, spec.endpoint.name, spec.deployment.name)


def test_a_second_deploy_of_one_target_names_the_holder(tmp_path, rdeploy_home):
    spec = default_spec()
    store = ResumeStore(tmp_path / "deployments")
    path = store.path(_target(spec))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import sys, json
        from pathlib import Path
        from rdeploy_tui.pipeline.target_lock import TargetLock
        lock = TargetLock(Path({str(path)!r}), {_target(spec)!r})
        lock.acquire()
        print("held", flush=True)
        sys.stdin.read()  # hold until the test closes stdin
        lock.release()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        events: list = []
        outcome = run_deploy(spec, session=None, sink=events.append, store=store)  # refused before any Azure call
        assert outcome.status == "failed" and outcome.error.code == "TargetBusy"
        assert f"process {holder.pid} on {socket.gethostname()}, since " in outcome.error.what
        assert isinstance(events[-1], PlanFinished) and events[-1].status == "failed"
        assert not path.exists(), "the refused deploy must not write the holder's state"
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    # Released (and after a SIGKILL the kernel drops the OS lock too): the next deploy gets past the lock.
    from rdeploy_tui.pipeline.target_lock import TargetLock

    with TargetLock(path, _target(spec)):
        pass


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path):
    import os
    import signal

    from rdeploy_tui.pipeline.target_lock import TargetLock

    spec = default_spec()
    path = tmp_path / "t.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import time, json
        from pathlib import Path
        from rdeploy_tui.pipeline.target_lock import TargetLock
        lock = TargetLock(Path({str(path)!r}), {_target(spec)!r})
        lock.acquire()
        print("held", flush=True)
        time.sleep(600)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not _can_take(TargetLock(path, _target(spec)))  # held, really
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        wait_for(lambda: _can_take(TargetLock(path, _target(spec))), 10, "the lock to be free")
    finally:
        if holder.poll() is None:
            holder.kill()


def _can_take(lock) -> bool:
    from rdeploy_tui.errors import RdeployError

    try:
        lock.acquire()
    except RdeployError:
        return False
    lock.release()
    return True


def _hold(path, target):
    """A real process holding the target's lock until its stdin closes."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from rdeploy_tui.pipeline.target_lock import TargetLock
        lock = TargetLock(Path({str(path)!r}), {target!r})
        lock.acquire()
        print("held", flush=True)
        sys.stdin.read()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.sandbox
def test_a_hostile_holder_note_is_shown_without_escapes_through_the_cli(tmp_path):
    """A holder note whose host holds terminal escape sequences retitled the terminal, and a non-number time crashed
    the refusal (issue 25 item 6). Each field is checked and shown without control characters."""
    from rdeploy_tui.pipeline.state import ResumeStore
    from rdeploy_tui.sandbox import arm
    from rdeploy_tui.spec.deploy_spec import save_spec

    spec = default_spec()
    spec.workspace.subscription_id, spec.workspace.resource_group = arm.DEFAULT_SUBSCRIPTION, arm.DEFAULT_RESOURCE_GROUP
    spec.workspace.name = arm.DEFAULT_WORKSPACE
    spec_path = tmp_path / "rdeploy.yaml"
    save_spec(spec, spec_path)
    home = tmp_path / "home"
    path = ResumeStore(home / "deployments").path(_target(spec))
    holder = _hold(path, _target(spec))
    try:
        note = path.with_suffix(".holder")
        note.write_text(json.dumps({"pid": 10**40, "host": "evil\x1b]0;pwned\x07\x1b[2J", "since": "yesterday"}))
        result = run_cli(["deploy", "--spec", str(spec_path), "--sandbox", "--yes"], home)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    out = result.stdout + result.stderr
    assert result.returncode == 1
    assert "is running (a process on evil\\x1b]0;pwned\\x07\\x1b[2J)" in out
    assert "\x1b" not in out and "\x07" not in out
    assert "unexpected error" not in out and "Traceback" not in out


@pytest.mark.parametrize(
    ("note", "shown"),
    [
        pytest.param('{"pid": 12, "host": "h", "since": 1e400}', "process 12 on h)", id="infinite-time"),
        pytest.param('{"pid": 12, "host": "h", "since": NaN}', "process 12 on h)", id="nan-time"),
        pytest.param('{"pid": true, "host": ["h"], "since": -1e300}', "(a process)", id="wrong-types"),
        pytest.param("[" * 5000 + "]" * 5000, "(another rdeploy-tui process)", id="deeply-nested"),
        pytest.param('{"pid": ' + "9" * 5000 + "}", "(another rdeploy-tui process)", id="5000-digit-pid"),
        pytest.param("not json", "(another rdeploy-tui process)", id="not-json"),
        pytest.param("fifo", "(another rdeploy-tui process)", id="fifo"),
    ],
)
def test_any_holder_note_gives_a_refusal_that_names_what_it_can(tmp_path, note, shown):
    from rdeploy_tui.errors import RdeployError
    from rdeploy_tui.pipeline.target_lock import TargetLock

    spec = default_spec()
    path = tmp_path / "t.json"
    holder = _hold(path, _target(spec))
    try:
        note_path = path.with_suffix(".holder")
        note_path.unlink()
        if note == "fifo":
            os.mkfifo(note_path)  # nobody writes to it: an ordinary read would block the refused deploy
        else:
            note_path.write_text(note)
        refused: list[BaseException] = []

        def take() -> None:
            try:
                TargetLock(path, _target(spec)).acquire()
            except BaseException as exc:
                refused.append(exc)

        thread = threading.Thread(target=take, daemon=True)
        thread.start()
        thread.join(60)  # a safety net: the assertion is on the refusal
        assert refused, "the refusal never came (blocked reading the note?)"
        assert isinstance(refused[0], RdeployError) and refused[0].code == "TargetBusy", refused[0]
        assert shown in refused[0].what
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
