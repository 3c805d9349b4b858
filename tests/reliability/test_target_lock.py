"""Issue 15 item 5: a second deploy of the same target is refused at once and told who holds it."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap

from reliability_helpers import wait_for

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
