"""The CLI's last mile: a cancelled deploy said once, a "n" answer exits 0 with "nothing deleted", and `endpoints list`
(text and --json) as a user reads it (issue 14 part 3)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest
from test_cli import _run, spec_file  # noqa: F401  (spec_file is a fixture)

from rdeploy_tui.commands.deploy_cmd import _plain
from rdeploy_tui.pipeline.events import PlanFinished, StepFailed


def test_a_cancelled_deploy_is_said_once(capsys):
    _plain(StepFailed("build-image", "The image build (run ca1) was cancelled.", None, None, "Cancelled", 0.0))
    _plain(
        PlanFinished(
            "cancelled",
            "Deploy cancelled. Left behind: nothing was created in Azure. Run the same "
            "deploy again to resume where it stopped.",
        )
    )
    _plain(PlanFinished("succeeded", "Endpoint e is live."))
    out = capsys.readouterr().out
    assert out.count("Deploy cancelled.") == 1
    assert "Deploy succeeded. Endpoint e is live." in out


def _answer_in_terminal(args: list[str], answer: str, home, timeout: float = 60) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal, type `answer` at its [y/N] question; (exit code, output)."""
    master, slave = pty.openpty()
    env = {**os.environ, "RDEPLOY_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rdeploy_tui", *args], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
    )
    os.close(slave)
    out, answered = b"", False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
                if not answered and b"[y/N]" in out:
                    os.write(master, answer.encode() + b"\r")
                    answered = True
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=10), out.decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def test_answering_no_to_delete_exits_0_with_nothing_deleted(tmp_path):
    from sandbox_specs import endpoint_in_sandbox_folder

    endpoint_in_sandbox_folder(
        tmp_path / "h" / "sandbox", "r-endpoint-forecast"
    )  # delete asks only about one that exists
    code, out = _answer_in_terminal(["endpoints", "delete", "r-endpoint-forecast", "--sandbox"], "n", tmp_path / "h")
    assert "[y/N]" in out
    assert code == 0 and "nothing deleted" in out, out


def test_answering_no_to_deploy_exits_0(tmp_path, spec_file):  # noqa: F811
    code, out = _answer_in_terminal(["deploy", "--spec", str(spec_file), "--sandbox"], "n", tmp_path / "h")
    assert "[y/N]" in out
    assert code == 0 and "nothing deployed" in out, out


@pytest.mark.sandbox
@pytest.mark.r
def test_list_names_the_workspace_has_a_header_and_shows_deployments(tmp_path, spec_file):  # noqa: F811
    home = tmp_path / "h"
    deployed = _run(["deploy", "--spec", str(spec_file), "--sandbox", "--yes", "--json"], home)
    assert deployed.returncode == 0, deployed.stderr
    common = ["--spec", str(spec_file), "--sandbox"]
    listed = _run(["endpoints", "list", *common, "--json"], home)
    [endpoint] = json.loads(listed.stdout)
    assert [d["name"] for d in endpoint["deployments"]] == ["blue"]  # was [] although it has one
    text = _run(["endpoints", "list", *common], home).stdout.splitlines()
    assert text[0].startswith("Online endpoints in workspace ") and "resource group" in text[0]
    assert text[1].split()[:4] == ["ENDPOINT", "STATE", "AUTH", "TRAFFIC"]
    assert text[2].split()[:5] == ["$", "r-endpoint-forecast", "Succeeded", "aml_token", "blue=100%"]
    assert any("bill per instance-hour until deleted" in line for line in text[-2:])
    assert _run(["endpoints", "delete", "r-endpoint-forecast", *common, "--yes"], home).returncode == 0


@pytest.mark.sandbox
@pytest.mark.r  # the folder is read with R before it is registered
def test_models_register_a_folder_then_list(tmp_path):
    from rdeploy_tui.deploy_folder.sample_model import sample_crate_path

    home = tmp_path / "h"
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "crate.bin").write_bytes(sample_crate_path().read_bytes())
    first = _run(["models", "register", "--path", str(folder), "--name", "churn-glm", "--sandbox"], home)
    assert first.returncode == 0, first.stderr
    assert "Registered" in first.stdout and "model churn-glm version 1" in first.stdout
    again = _run(
        ["models", "register", "--path", str(folder), "--name", "churn-glm", "--new-version", "--sandbox", "--json"],
        home,
    )
    assert again.returncode == 0 and json.loads(again.stdout)["version"] == "2"
    listed = json.loads(_run(["models", "list", "--sandbox", "--json"], home).stdout)
    assert {"name": "churn-glm", "latest_version": "2"} in listed


def test_models_register_refuses_a_folder_without_a_crate(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _run(["models", "register", "--path", str(empty), "--name", "m", "--sandbox"], tmp_path / "h")
    assert (
        result.returncode == 2 and "holds no crate.bin, an .rds" in result.stderr and "Traceback" not in result.stderr
    )
