"""No crash and no hang on any file the tool reads. Each case is a real file (a FIFO nobody writes, /dev/zero, a deeply
nested or 5,000-digit document) given to the real CLI in a child process, or to the function that reads it; the
assertions are on the exit code and the message, and the subprocess timeout is only a safety net (a hang fails the test
instead of stopping the suite). Issue 25 items 5-8."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest
from reliability_helpers import run_cli, run_cli_peak

from rdeploy_tui.sandbox import arm
from rdeploy_tui.spec.deploy_spec import default_spec, save_spec


def _spec(folder: Path, **changes) -> Path:
    """A default spec on the sandbox's workspace without a registry (a deploy stops at once, before any R)."""
    spec = default_spec()
    spec.workspace.subscription_id, spec.workspace.resource_group = arm.DEFAULT_SUBSCRIPTION, arm.DEFAULT_RESOURCE_GROUP
    spec.workspace.name = arm.NO_ACR_WORKSPACE
    for dotted, value in changes.items():
        section, name = dotted.split("__")
        setattr(getattr(spec, section), name, value)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rdeploy.yaml"
    save_spec(spec, path)
    return path


def _explained(result: subprocess.CompletedProcess, code: int) -> str:
    out = result.stdout + result.stderr
    assert result.returncode == code, out
    assert "unexpected error" not in out and "Traceback" not in out and "\x1b" not in out, out
    return " ".join(out.split())


def _in_thread(fn, *args):
    """fn(*args) in a thread, joined with a safety net: a read that blocks fails here instead of stopping the suite."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(fn(*args))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert outcome, f"{getattr(fn, '__name__', fn)} blocked"
    return outcome[0]


# ----- the spec -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["validate", "init"])
def test_a_5000_digit_number_in_a_spec_is_an_error_at_its_field(tmp_path, command):
    path = _spec(tmp_path)
    path.write_text(path.read_text().replace("instance_count: 1", "instance_count: " + "9" * 5000))
    args = (
        ["validate", "--spec", str(path)]
        if command == "validate"
        else ["init", "--spec", str(path), "--out", str(tmp_path / "f")]
    )
    said = _explained(run_cli(args, tmp_path / "home", timeout=60), 1)
    assert "deployment.instance_count: holds a number of 5,000 digits; at most 1,000 are read" in said
    assert not (tmp_path / "f").exists()


def test_a_spec_with_a_utf8_bom_is_read(tmp_path):
    path = _spec(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    said = _explained(run_cli(["validate", "--spec", str(path)], tmp_path / "home", timeout=60), 0)
    assert f"{path}: ok" in said


def test_paths_that_leave_the_spec_folder_are_said_where_they_resolve(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "plumber.R").write_text("# a scoring script kept beside the project\n")
    (shared / "requests.json").write_text('[{"forecast_horizon": [1]}]')
    path = _spec(
        tmp_path / "project",
        scoring__script="../shared/plumber.R",
        rollout__requests_file="../shared/requests.json",
    )
    said = _explained(run_cli(["validate", "--spec", str(path)], tmp_path / "home", timeout=60), 0)
    folder = path.parent.resolve()
    assert (
        f"warning: scoring.script: scoring script '../shared/plumber.R' resolves to {shared.resolve() / 'plumber.R'}, "
        f"outside the spec's folder {folder} (fine if you mean it)" in said
    )
    assert f"requests file '../shared/requests.json' resolves to {shared.resolve() / 'requests.json'}" in said
    assert "ok (2 warning(s))" in said


@pytest.mark.sandbox
@pytest.mark.parametrize("command", ["deploy", "rollout"])
def test_deploy_and_rollout_print_the_outside_folder_warning(tmp_path, command):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "requests.json").write_text("[{}]")
    path = _spec(tmp_path / "project", rollout__requests_file="../shared/requests.json")
    result = run_cli([command, "--spec", str(path), "--sandbox", "--yes"], tmp_path / "home")
    out = " ".join((result.stdout + result.stderr).split())
    assert f"requests file '../shared/requests.json' resolves to {shared.resolve() / 'requests.json'}" in out
    assert "unexpected error" not in out and "Traceback" not in out


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "missing", "not-json"])
def test_a_requests_file_that_cannot_be_used_is_refused_before_anything_moves(tmp_path, special):
    """`rollout --requests` is checked with the spec, before any Azure call (it was read at stage 10, after the new
    deployment existed, and a bad file rolled back a healthy version)."""
    target = {"fifo": str(tmp_path / "req.pipe"), "missing": str(tmp_path / "none.json")}.get(special, special)
    if special == "fifo":
        os.mkfifo(target)
    if special == "not-json":
        target = str(tmp_path / "req.json")
        Path(target).write_text("{not json")
    path = _spec(tmp_path)
    result = run_cli(["rollout", "--spec", str(path), "--sandbox", "--yes", "--requests", target], tmp_path / "home")
    said = _explained(result, 2)
    assert f"The rollout's requests file {target}" in said
    expected = {
        "/dev/zero": "is a character device, not a regular file",
        "fifo": "is a named pipe (FIFO), not a regular file",
        "missing": "does not exist",
        "not-json": "is not valid JSON (line 1, column 2)",
    }[special]
    assert expected in said
    assert not (tmp_path / "home" / "sandbox").exists(), "the sandbox was started: the check came too late"


# ----- endpoints score ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "huge"])
def test_score_file_is_bounded_and_never_blocks(tmp_path, special):
    target = {"fifo": str(tmp_path / "body.pipe"), "huge": str(tmp_path / "body.json")}.get(special, special)
    if special == "fifo":
        os.mkfifo(target)
    if special == "huge":
        with open(target, "wb") as fh:  # sparse: 2 GiB that cost no disk
            fh.truncate(2 * 1024**3)
    result, peak = run_cli_peak(["endpoints", "score", "x", "--file", target, "--sandbox"], tmp_path / "home")
    said = _explained(result, 2)
    assert f"The request body {target}" in said
    assert {
        "/dev/zero": "is a character device, not a regular file",
        "fifo": "is a named pipe (FIFO), not a regular file",
        "huge": "is 2,147,483,648 bytes; a request body may be at most 16,777,216",
    }[special] in said
    assert 0 < peak < 300, f"the CLI grew to {peak} MiB on {target}"  # it was 1.8 GB on /dev/zero


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ("[" + "1" * 5000 + "]", "holds a number of 5,000 digits; at most 1,000 are read (line 1, column 2)"),
        ("[" * 5000 + "]" * 5000, "is nested more than 64 levels deep (line 1, column 65)"),
    ],
    ids=["5000-digits", "deep"],
)
def test_score_data_that_cannot_be_read_is_a_usage_error(tmp_path, data, said):
    result = run_cli(["endpoints", "score", "x", "--data", data, "--sandbox"], tmp_path / "home", timeout=60)
    assert f"The request body in the --data value {said}" in _explained(result, 2)


# ----- state the tool reads back ------------------------------------------------------------------------------------
@pytest.mark.parametrize("content", ["fifo", "/dev/zero", "digits", "deep"])
def test_the_wizards_last_run_spec_never_blocks_the_start(rdeploy_home, content):
    from rdeploy_tui.ui.wizard_state import last_run_path, load_last_run

    path = last_run_path()
    path.parent.mkdir(parents=True)
    if content == "fifo":
        os.mkfifo(path)
    elif content == "/dev/zero":
        path.symlink_to(content)
    elif content == "digits":
        path.write_text("deployment: {instance_count: " + "1" * 5000 + "}\n")
    else:
        path.write_text("model: " + "[" * 5000 + "]" * 5000 + "\n")
    assert _in_thread(load_last_run) is None  # the wizard starts from the defaults


@pytest.mark.parametrize("content", ["fifo", "digits", "huge"])
def test_a_resume_file_that_cannot_be_read_is_moved_aside_with_a_notice(tmp_path, content):
    from rdeploy_tui.pipeline.state import ResumeStore, target_key

    store = ResumeStore(tmp_path / "deployments")
    target = target_key("s", "rg", "ws", "ep", "blue")
    path = store.path(target)
    path.parent.mkdir(parents=True)
    if content == "fifo":
        os.mkfifo(path)
    elif content == "digits":
        path.write_text('{"format": 1, "target": {}, "updated_at": ' + "7" * 5000 + "}")
    else:
        with open(path, "wb") as fh:
            fh.truncate(64 * 1024**2)
    assert _in_thread(store.load, target) is None
    assert not path.exists() and list(path.parent.glob(path.name + ".corrupt-*"))
    assert len(store.notices) == 1 and str(path) in store.notices[0]
    assert {"fifo": "named pipe", "digits": "5,000 digits", "huge": "at most"}[content] in store.notices[0]
    assert _in_thread(store.all) == []


def test_a_fifo_where_the_crash_log_goes_is_replaced_not_blocked_on(rdeploy_home):
    from rdeploy_tui import locations, logfile

    path = locations.crash_log()
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    where = _in_thread(logfile.save_crash, ValueError("boom"))
    assert where == f"details were saved to {path}"
    assert path.is_file() and "ValueError: boom" in path.read_text()


def test_a_pid_file_with_a_pid_no_machine_has_is_ignored(tmp_path):
    from rdeploy_tui.local.plumber import reap_pid_files

    for name, text in {
        "huge": '{"pid": ' + "9" * 40 + ', "start_time": "1"}',
        "digits": '{"pid": ' + "9" * 5000 + ', "start_time": "1"}',
        "bool": '{"pid": true, "start_time": "1"}',
    }.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "plumber.pid").write_text(text)
    os.mkfifo(tmp_path / "fifo.pid")
    (tmp_path / "fifo").mkdir()
    (tmp_path / "fifo.pid").rename(tmp_path / "fifo" / "plumber.pid")
    assert _in_thread(reap_pid_files, tmp_path) == []
    assert not list(tmp_path.glob("*/plumber.pid"))  # each read once and removed


def test_a_model_folder_whose_crate_is_a_fifo_is_refused_before_connecting(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    os.mkfifo(model / "crate.bin")  # R's readRDS and the upload would both wait on it for ever
    args = ["models", "register", "--path", str(model), "--name", "m", "--sandbox"]
    said = _explained(run_cli(args, tmp_path / "home", timeout=60), 2)
    assert f"{model / 'crate.bin'} is not a regular file" in said
    assert not (tmp_path / "home" / "sandbox").exists()
