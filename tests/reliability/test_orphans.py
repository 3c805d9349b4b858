"""SIGKILL of `deploy --sandbox` or `rdeploy-tui sandbox` leaves no plumber R process behind, and a restarted sandbox
reaps what a killed one left (pid files) instead of starting a second R (issue 15 item 2)."""

from __future__ import annotations

import os
import signal

import pytest
from reliability_helpers import kill_all, listening_ports, plumber_pids, port_listened, run_cli, start_cli, wait_for

pytestmark = [pytest.mark.sandbox, pytest.mark.r, pytest.mark.slow]


@pytest.fixture
def spec_file(tmp_path):
    from rdeploy_tui.spec.deploy_spec import default_spec, save_spec

    path = tmp_path / "rdeploy.yaml"
    save_spec(default_spec(), path)
    return path


def _serving(pids: list[int]) -> list[int]:
    return [pid for pid in pids if listening_ports(pid)]


def _sigkill_and_check_r_goes(proc, marker: str) -> None:
    r_pids = wait_for(lambda: _serving(plumber_pids(marker)), 120, "the deployment's plumber process to listen")
    ports = set().union(*(listening_ports(pid) for pid in r_pids))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    try:
        wait_for(lambda: not plumber_pids(marker), 15, f"R {r_pids} to end after its parent's SIGKILL")
        # An exiting process loses its cmdline before its sockets close: wait for the listener to go too.
        wait_for(lambda: not any(port_listened(port) for port in ports), 15, f"ports {ports} to stop listening")
    finally:
        kill_all(plumber_pids(marker))


def test_sigkill_of_deploy_leaves_no_r_and_of_the_sandbox_either(tmp_path, spec_file):
    home = tmp_path / "home"
    deploy = start_cli(["deploy", "--spec", str(spec_file), "--sandbox", "--yes"], home)
    _sigkill_and_check_r_goes(deploy, str(home))
    # The killed deploy's deployment is resumed by the next sandbox on the folder, which hosts it in R again.
    sandbox = start_cli(["sandbox", "--state-dir", str(home / "sandbox"), "--time-scale", "0.003"], home)
    _sigkill_and_check_r_goes(sandbox, str(home))


def test_a_restarted_sandbox_reaps_the_r_a_killed_one_left(tmp_path, spec_file):
    home = tmp_path / "home"
    assert run_cli(["deploy", "--spec", str(spec_file), "--sandbox", "--yes"], home).returncode == 0
    # Without the parent-death signal (macOS, or a kernel that refuses it) the pid file is the only guard.
    no_pdeathsig = {"RDEPLOY_NO_PDEATHSIG": "1"}
    args = ["sandbox", "--state-dir", str(home / "sandbox"), "--time-scale", "0.003"]
    first = start_cli(args, home, **no_pdeathsig)
    second = None
    try:
        orphans = wait_for(lambda: _serving(plumber_pids(str(home))), 120, "the first sandbox's plumber")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        assert plumber_pids(str(home)) == orphans  # the orphan this guards against really exists
        second = start_cli(args, home, **no_pdeathsig)
        wait_for(lambda: not any(pid in orphans for pid in plumber_pids(str(home))), 60, "the orphan to be reaped")
        new = wait_for(lambda: _serving(plumber_pids(str(home))), 120, "the second sandbox's plumber")
        assert len(new) == 1 and new != orphans
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
        wait_for(lambda: not plumber_pids(str(home)), 15, "R to stop with the sandbox")
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        kill_all(plumber_pids(str(home)))
