"""The CLI's edges, as users meet them: next commands that reach the same Azure, refusals before any Azure call,
wrong deployment names answered with the ones that exist, and output that survives a closed pipe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

NOWHERE = ["--arm-endpoint", "https://127.0.0.1:9"]  # nothing listens: any Azure call would fail as a network error


def _cli(args, home, **env):
    return subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "RDEPLOY_HOME": str(home), "RDEPLOY_SANDBOX_TIME_SCALE": "0.003", **env},
        stdin=subprocess.DEVNULL,
        timeout=180,
    )


def test_a_printed_next_command_reaches_the_same_azure():
    from rdeploy_tui.connection_options import ConnectionOptions

    assert ConnectionOptions(sandbox=True).command("endpoints", "delete", "ep") == (
        "rdeploy-tui endpoints delete ep --sandbox"
    )
    assert ConnectionOptions(arm_endpoint="https://arm.example", ca_bundle="/my ca.pem").command(
        "endpoints", "list"
    ) == ("rdeploy-tui endpoints list --arm-endpoint https://arm.example --ca-bundle '/my ca.pem'")
    assert ConnectionOptions(cloud="AzureChinaCloud").command("deploy") == "rdeploy-tui deploy --cloud AzureChinaCloud"
    assert ConnectionOptions().command("endpoints", "show", "ep") == "rdeploy-tui endpoints show ep"


@pytest.mark.parametrize(
    ("split", "said"),
    [
        (["blue=50", "green=10"], "the shares add up to 60 %, not 100 % (or all 0 %)"),
        (["blue=101"], "each share must be a whole number from 0 to 100"),
        (["blue=50", "blue=50"], "blue is given twice"),
    ],
)
def test_endpoints_traffic_checks_the_split_before_calling_azure(tmp_path, split, said):
    refused = _cli(
        ["endpoints", "traffic", "ep", *split, *NOWHERE, "-w", "w", "-g", "g", "--subscription", "s"], tmp_path
    )
    assert refused.returncode == 2, refused.stderr
    assert said in refused.stderr and "Traceback" not in refused.stderr
    assert "127.0.0.1:9" not in refused.stderr  # refused before connecting


def test_help_says_no_command_opens_the_wizard(tmp_path):
    shown = _cli(["--help"], tmp_path)
    assert shown.returncode == 0
    assert "Without a COMMAND, rdeploy-tui opens the wizard" in " ".join(shown.stdout.split())
    assert "No COMMAND opens the wizard" in " ".join(shown.stdout.split())


def test_signed_out_the_message_offers_the_sandbox(monkeypatch):
    from rdeploy_tui.azure.credentials import build_credential
    from rdeploy_tui.errors import RdeployError

    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # no az
    with pytest.raises(RdeployError) as caught:
        build_credential()
    assert caught.value.code == "NotSignedIn" and "rdeploy-tui --sandbox" in caught.value.next_step


def test_validate_warns_about_inits_placeholder_workspace(tmp_path):
    from rdeploy_tui.spec.deploy_spec import default_spec, save_spec

    spec = tmp_path / "rdeploy.yaml"
    save_spec(default_spec(), spec)
    checked = _cli(["validate", "--spec", str(spec)], tmp_path)
    assert checked.returncode == 0
    assert "warning: workspace:" in checked.stderr and "placeholders `init` writes" in checked.stderr
    assert "workspace.subscription_id" in checked.stderr
    assert "ok for the built-in sandbox only (1 warning(s)): fill in the workspace to deploy to Azure" in checked.stdout
    mine = default_spec()
    mine.workspace.name = "ws-real"
    mine.workspace.subscription_id = "5a4d1f3e-8f3b-4c1e-9d2a-000000000001"
    save_spec(mine, spec)
    checked = _cli(["validate", "--spec", str(spec)], tmp_path)
    assert "placeholder" not in checked.stderr and checked.stdout.strip() == f"{spec}: ok"


@pytest.mark.parametrize(
    "command",
    [
        ["deploy", "--yes"],
        ["rollout", "--yes"],
        ["endpoints", "list"],
        ["models", "list"],
    ],
)
def test_inits_placeholder_workspace_is_refused_before_anything_reaches_azure(tmp_path, command):
    from rdeploy_tui.spec.deploy_spec import default_spec, save_spec

    save_spec(default_spec(), tmp_path / "rdeploy.yaml")
    refused = subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", *command, *NOWHERE],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # the spec found as ./rdeploy.yaml, as after `rdeploy-tui init`
        env={**os.environ, "RDEPLOY_HOME": str(tmp_path / "home")},
        stdin=subprocess.DEVNULL,
        timeout=180,
    )
    assert refused.returncode == 2, refused.stderr
    said = " ".join(refused.stderr.split())
    assert "The workspace is still the placeholder `init` writes" in said and "add --sandbox" in said, said
    assert "Traceback" not in said and "127.0.0.1:9" not in said  # refused before connecting


@pytest.mark.sandbox
@pytest.mark.r
def test_a_wrong_deployment_name_is_answered_with_the_ones_that_exist(sandbox, session, make_spec, cleanup, tmp_path):
    from rdeploy_tui import launch
    from rdeploy_tui.azure import Workspace
    from rdeploy_tui.pipeline.runner import run_deploy

    spec = make_spec("wrongdep")
    assert run_deploy(spec, session=session, sink=lambda e: None).status == "succeeded"
    ws = Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)
    cleanup.append((ws, spec.endpoint.name))
    where = [*launch.flags_for(sandbox), "--subscription", sandbox.subscription_id, "-g", sandbox.resource_group]
    where += ["-w", sandbox.workspace_name]
    env = launch.environment_for(sandbox)
    for action in (
        ["score", spec.endpoint.name, "--data", "{}", "-d", "bleu"],
        ["logs", spec.endpoint.name, "-d", "bleu"],
    ):
        answered = _cli(["endpoints", *action, *where], tmp_path, **env)
        assert answered.returncode == 2, answered.stderr
        assert f"Endpoint {spec.endpoint.name} has no deployment bleu" in answered.stderr
        assert "Did you mean blue?" in answered.stderr and "Its deployments: blue." in answered.stderr


@pytest.mark.sandbox
def test_a_missing_endpoint_is_answered_with_a_command_for_the_same_sandbox(sandbox, session, cleanup):
    from rdeploy_tui.azure import Endpoints, Workspace

    ws = Workspace.open(session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)
    endpoints = Endpoints(ws)
    name = f"near-{os.getpid() % 10000}"
    endpoints.create_or_update_endpoint(name, "key")
    cleanup.append((ws, name))
    hint = endpoints.missing(name + "x").next_step
    assert f"Did you mean {name}?" in hint and "`rdeploy-tui endpoints list --sandbox`" in hint


@pytest.mark.sandbox
@pytest.mark.r
@pytest.mark.slow
def test_deploy_piped_to_a_reader_that_quits_keeps_its_cancel_summary(tmp_path):
    """`deploy | tee log`, then Ctrl+C: tee ends first, and the cancel summary still reaches the terminal."""
    from rdeploy_tui.spec.deploy_spec import default_spec, save_spec

    spec = tmp_path / "rdeploy.yaml"
    save_spec(default_spec(), spec)
    deploy = subprocess.Popen(
        [sys.executable, "-m", "rdeploy_tui", "deploy", "--spec", str(spec), "--sandbox", "--yes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "RDEPLOY_HOME": str(tmp_path / "h"), "RDEPLOY_SANDBOX_TIME_SCALE": "0.05"},
    )
    try:
        assert deploy.stdout.readline().startswith(b"==> ")  # the deploy has started
        deploy.stdout.close()  # the reader is gone (tee killed by the same Ctrl+C)
        deploy.send_signal(signal.SIGINT)
        _, err = deploy.communicate(timeout=300)
    finally:
        if deploy.poll() is None:
            deploy.kill()
    text = err.decode()
    assert "Traceback" not in text and "BrokenPipeError" not in text, text[-2000:]
    assert "the output pipe was closed; the rest goes to the terminal" in text
    assert "Deploy cancelled" in text, text[-2000:]
