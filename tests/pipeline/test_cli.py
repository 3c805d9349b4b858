"""`rdeploy-tui deploy` and `rdeploy-tui endpoints`: exit codes and output, as a user runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest


def _run(args, home, **kw):
    # AZUREML_CURRENT_CLOUD: a stale cloud name inherited from another process must not break the SDK
    env = {
        **os.environ,
        "RDEPLOY_HOME": str(home),
        "RDEPLOY_SANDBOX_TIME_SCALE": "0.003",
        "AZUREML_CURRENT_CLOUD": "SomeOtherCloud",
    }
    env.pop("REQUESTS_CA_BUNDLE", None)
    return subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=180,
        **kw,
    )


@pytest.fixture
def spec_file(tmp_path):
    from rdeploy_tui.spec.deploy_spec import default_spec, save_spec

    path = tmp_path / "rdeploy.yaml"
    save_spec(default_spec(), path)
    return path


def test_deploy_without_yes_and_without_a_terminal_refuses(tmp_path, spec_file):
    result = _run(["deploy", "--spec", str(spec_file), "--sandbox"], tmp_path / "h")
    assert result.returncode == 2
    assert "--yes" in result.stderr and "Traceback" not in result.stderr


def test_usage_errors_exit_2(tmp_path, spec_file):
    assert _run(["endpoints", "traffic", "x", "blue=abc", "--sandbox"], tmp_path / "h").returncode == 2
    assert _run(["endpoints", "score", "x", "--data", "{", "--sandbox"], tmp_path / "h").returncode == 2
    assert _run(["endpoints", "delete", "x", "--sandbox"], tmp_path / "h").returncode == 2  # no --yes, no terminal
    assert (
        _run(
            ["deploy", "--spec", str(spec_file), "--sandbox", "--cloud", "AzureChinaCloud", "--yes"], tmp_path / "h"
        ).returncode
        == 2
    )


@pytest.mark.sandbox
@pytest.mark.r
def test_deploy_then_day_two_commands(tmp_path, spec_file):
    home = tmp_path / "h"
    deployed = _run(["deploy", "--spec", str(spec_file), "--sandbox", "--yes", "--json"], home)
    assert deployed.returncode == 0, deployed.stderr
    events = [json.loads(line) for line in deployed.stdout.splitlines()]
    assert events[-1]["event"] == "PlanFinished" and events[-1]["status"] == "succeeded"
    # init's placeholder workspace exists in no sandbox: the sandbox makes it for this spec, and says so (only that)
    said = deployed.stderr.splitlines()
    assert said and all(line.startswith("rdeploy-tui: sandbox: created ") for line in said), deployed.stderr
    assert "workspace ws-ml" in said[0] and "model forecast-model" in said[0]
    common = ["--spec", str(spec_file), "--sandbox"]
    listed = _run(["endpoints", "list", *common, "--json"], home)
    assert [e["name"] for e in json.loads(listed.stdout)] == ["r-endpoint-forecast"]
    shown = _run(["endpoints", "show", "r-endpoint-forecast", *common], home)
    assert shown.returncode == 0 and re.search(
        r"deployment blue: Succeeded, 1 x \S+, image \S+\.azurecr\.io/r-forecast:[0-9a-f]{16}$", shown.stdout, re.M
    ), shown.stdout
    logs = _run(["endpoints", "logs", "r-endpoint-forecast", *common, "--container", "storage-initializer"], home)
    assert logs.returncode == 0 and "storage-initializer" in logs.stdout
    scored = _run(
        ["endpoints", "score", "r-endpoint-forecast", *common, "--data", '{"forecast_horizon": [1]}', "--json"], home
    )
    assert scored.returncode == 0 and json.loads(scored.stdout)["status"] == 200
    bad = _run(["endpoints", "score", "r-endpoint-forecast", *common, "--data", "{}"], home)
    assert bad.returncode == 1 and "424" in bad.stderr and "Traceback" not in bad.stderr
    traffic = _run(["endpoints", "traffic", "r-endpoint-forecast", "blue=100", *common], home)
    assert traffic.returncode == 0 and "blue=100%" in traffic.stdout
    gone = _run(["endpoints", "delete", "r-endpoint-forecast", *common, "--yes"], home)
    assert gone.returncode == 0 and "no longer bill" in gone.stdout
    assert json.loads(_run(["endpoints", "list", *common, "--json"], home).stdout) == []
