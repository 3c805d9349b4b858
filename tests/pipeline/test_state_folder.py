"""The state folder (RDEPLOY_HOME: resume state, logs) read-only or full: said before the first Azure call, naming
the folder and what is needed; and a deploy whose resume state or log stops being saved midway never reports
success, and resumes once there is room again. Real file systems: a tmpfs of 3 MB, mounted read-only or filled."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")  # as tests/conftest.py reads it

pytestmark = [pytest.mark.sandbox]


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 3 MB tmpfs (root only; CI runs as root). Elsewhere the test is skipped, saying why."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs here ({done.stderr.strip() or 'not root'}): needed for a full state folder"
        if IN_CI:
            pytest.fail(reason)
        print(f"\nSKIP: {reason}")
        pytest.skip(reason)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(folder: Path) -> Path:
    """Write until the file system is full; the filler file, to delete for room."""
    filler = folder / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def _read_only(folder: Path) -> None:
    if os.geteuid() == 0:  # root ignores permissions: a read-only mount is what stops it
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    else:
        folder.chmod(0o555)


def _deploy_cli(sandbox, home: Path, spec_file: Path) -> subprocess.CompletedProcess:
    """`rdeploy-tui deploy` against the shared sandbox as a custom ARM endpoint (its own state stays where it is)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "RDEPLOY_")) and k != "REQUESTS_CA_BUNDLE"
    }
    env.update(sandbox.service_principal.environment())
    env["RDEPLOY_HOME"] = str(home)
    connection = ["--arm-endpoint", sandbox.base_url, "--ca-bundle", str(sandbox.client_settings().ca_cert)]
    return subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", *connection, "deploy", "--spec", str(spec_file), "--yes"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


@pytest.mark.parametrize("how", ["read-only", "full"])
def test_a_state_folder_without_room_is_named_before_anything_is_sent(sandbox, make_spec, tmp_path, small_tmpfs, how):
    from rdeploy_tui.spec.deploy_spec import save_spec

    spec = make_spec("stf")
    spec_file = tmp_path / "rdeploy.yaml"
    save_spec(spec, spec_file)
    if how == "full":
        _fill(small_tmpfs)
    else:
        _read_only(small_tmpfs)
    sandbox.request_log.clear()
    result = _deploy_cli(sandbox, small_tmpfs, spec_file)
    assert result.returncode == 1, result.stdout + result.stderr
    assert str(small_tmpfs) in result.stderr and "Next:" in result.stderr
    assert ("Read-only file system" if how == "read-only" else "KB (it has less free)") in result.stderr
    assert "unexpected error" not in result.stderr and "Traceback" not in result.stderr
    assert not [r for r in sandbox.request_log if r["method"] != "GET"]  # nothing created


@pytest.mark.r
def test_a_deploy_whose_progress_stops_being_saved_does_not_succeed_and_resumes_once_freed(
    session, make_spec, cleanup, small_tmpfs, monkeypatch, recorder
):
    from rdeploy_tui.azure import Workspace
    from rdeploy_tui.pipeline.events import PlanFinished, StepProgress, StepStarted
    from rdeploy_tui.pipeline.runner import run_deploy

    monkeypatch.setenv("RDEPLOY_HOME", str(small_tmpfs))
    spec = make_spec("stfull")
    w = spec.workspace
    cleanup.append((Workspace.open(session, w.subscription_id, w.resource_group, w.name), spec.endpoint.name))
    filled: list[Path] = []

    def fill_once_building(event) -> None:
        recorder(event)
        if isinstance(event, StepStarted) and event.step == "build-image" and not filled:
            filled.append(_fill(small_tmpfs))  # the disk fills up while the image builds

    outcome = run_deploy(spec, session=session, sink=fill_once_building, smoke_score=False)
    assert filled and outcome.status == "failed", outcome.summary
    assert outcome.error.code in ("StateFile", "StateFolder") and "Its progress could not be saved" in outcome.summary
    assert str(small_tmpfs) in outcome.summary
    assert "create-deployment" not in [e.step for e in recorder.of(StepStarted)]  # nothing started after it
    assert any(e.message.startswith("warning:") for e in recorder.of(StepProgress))
    assert recorder.of(PlanFinished)[-1].status == "failed"

    filled[0].unlink()  # room again: the same deploy goes on from what was saved
    again = run_deploy(spec, session=session, sink=lambda e: None, smoke_score=False)
    assert again.status == "succeeded", again.summary
