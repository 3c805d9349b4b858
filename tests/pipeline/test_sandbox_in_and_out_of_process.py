"""`--sandbox` (the sandbox started inside the CLI by rdeploy_tui/launch.py) and `rdeploy-tui sandbox` in another
process reached with the flags it prints (--arm-endpoint, --ca-bundle, --prices-url, --package-index-url, and its
service principal and HTTPS_PROXY in the environment) are the same Azure to the core: the same deploy emits the same
events, step for step, with the same statuses and messages (names, times and addresses aside)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.sandbox, pytest.mark.r, pytest.mark.slow]

TIME_SCALE = "0.003"
ENDPOINT = "same-both-ways"


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZURE_", "RDEPLOY_"))
        and k.lower() not in ("https_proxy", "no_proxy", "requests_ca_bundle")
    }
    return {**env, "RDEPLOY_HOME": str(home), "RDEPLOY_SANDBOX_TIME_SCALE": TIME_SCALE, **extra}


def _deploy(env: dict[str, str], spec: Path, flags: list[str]) -> list[dict]:
    run = subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", "deploy", "--spec", str(spec), "--yes", "--json", *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


def _same_words(text: str) -> str:
    """A message with what differs between two sandboxes and two runs made alike: the target's flags, addresses,
    registry and run names, hashes, durations."""
    # next commands carry the flags that reach the same Azure: `--sandbox` inside, `--arm-endpoint URL --ca-bundle
    # FILE` outside (connection_options.target_flags)
    text = re.sub(r" --sandbox\b| --arm-endpoint \S+(?: --ca-bundle \S+?(?=\.?(?:\s|$)))?", " TARGET-FLAGS", text)
    text = re.sub(r"https://127\.0\.0\.1:\d+", "https://SANDBOX", text)
    text = re.sub(r"\bacr[a-z0-9]+", "ACR", text)
    text = re.sub(r"\b[0-9a-f]{8,}\b", "HEX", text)
    text = re.sub(r"\b[a-z]{2}\d+\b", "RUN", text)  # ACR run ids: cs1, cz1, ...
    return re.sub(r"\d+(\.\d+)? ?(s|ms|min)\b", "N s", text)


def _shape(events: list[dict]) -> dict[str, list[tuple]]:
    """What must match, per step (steps run side by side, so only the order within a step is fixed): its start, end
    and status, with their messages; the plan's outcome. Progress ticks and log lines depend on timing: left out."""
    shape: dict[str, list[tuple]] = {}
    for e in events:
        kind = e["event"]
        if kind in ("StepStarted", "StepFinished", "StepFailed", "PlanFinished"):
            fields = {k: _same_words(str(v)) for k, v in e.items() if k not in ("elapsed", "at", "duration_s", "time")}
            shape.setdefault(str(e.get("step", "plan")), []).append((kind, tuple(sorted(fields.items()))))
    return shape


def test_the_same_deploy_in_process_and_out_of_process_emits_the_same_events(tmp_path):
    from sandbox_specs import spec_on_sandbox

    from rdeploy_tui.sandbox import arm
    from rdeploy_tui.spec.deploy_spec import save_spec

    class Defaults:  # spec_on_sandbox reads these three names only
        subscription_id, resource_group, workspace_name = (
            arm.DEFAULT_SUBSCRIPTION,
            arm.DEFAULT_RESOURCE_GROUP,
            arm.DEFAULT_WORKSPACE,
        )

    spec_path = tmp_path / "rdeploy.yaml"
    save_spec(spec_on_sandbox(Defaults, ENDPOINT), spec_path)

    inside = _deploy(_env(tmp_path / "inside"), spec_path, ["--sandbox"])

    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rdeploy_tui",
            "sandbox",
            "--state-dir",
            str(tmp_path / "outside-sandbox"),
            "--time-scale",
            TIME_SCALE,
        ],
        env=_env(tmp_path / "outside-server"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = []
        for line in server.stdout:
            banner.append(line)
            if line.startswith("Press Ctrl+C"):
                break
        exports = next(line for line in banner if line.strip().startswith("export AZURE_TENANT_ID"))
        command = next(line for line in banner if line.strip().startswith("rdeploy-tui endpoints list"))
        env = dict(word.split("=", 1) for word in shlex.split(exports)[1:])
        words = shlex.split(command)
        flags = words[words.index("--arm-endpoint") : words.index("--subscription")]
        outside = _deploy(_env(tmp_path / "outside", **env), spec_path, flags)
    finally:
        server.terminate()
        server.wait(timeout=60)

    assert inside[-1]["event"] == outside[-1]["event"] == "PlanFinished"
    assert inside[-1]["status"] == "succeeded", inside[-1]
    assert _same_words(inside[-1]["summary"]) == _same_words(outside[-1]["summary"])  # (a readable diff first)
    assert _shape(inside) == _shape(outside)
    steps = lambda events: sorted({e.get("step") for e in events if e.get("step")})  # noqa: E731
    assert steps(inside) == steps(outside)
