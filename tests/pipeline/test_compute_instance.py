"""Plain `rdeploy-tui` (no --sandbox, no --arm-endpoint) in a shell that looks like a compute instance terminal, or one
signed in with `az login`: it finds the cloud from ARM_CLOUD_METADATA_URL and signs in as that terminal would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sandbox


def _shell_env(exports: list[str], home: Path, path: str) -> dict[str, str]:
    """The environment a bash that ran `exports` has, starting from a clean one (no Azure variables leak in)."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZURE_", "ARM_", "MSI_", "IDENTITY_", "CI_", "AZUREML_", "REQUESTS_CA", "SSL_CERT"))
    }
    base.update(RDEPLOY_HOME=str(home), PATH=path)
    done = subprocess.run(
        ["bash", "-c", "set -e\n" + "\n".join(exports) + "\nenv -0"], env=base, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return dict(p.decode().split("=", 1) for p in done.stdout.split(b"\0") if b"=" in p)


def _rdeploy(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=180,
    )


def _no_az_path() -> str:
    return os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"])


def test_the_sandbox_answers_the_compute_instance_managed_identity_protocol(sandbox):
    """azure-identity's ManagedIdentityCredential, with only MSI_ENDPOINT/MSI_SECRET set, gets a token ARM accepts."""
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ManagedIdentityCredential
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    from rdeploy_tui.sandbox.compute_instance import compute_instance

    ci = compute_instance(sandbox)
    with pytest.MonkeyPatch.context() as patch:
        for key in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_CLIENT_ID"):
            patch.delenv(key, raising=False)
        patch.setenv("MSI_ENDPOINT", ci.msi_endpoint)
        patch.setenv("MSI_SECRET", ci.msi_secret)
        credential = ManagedIdentityCredential()
        client = SubscriptionClient(
            credential, base_url=sandbox.base_url, credential_scopes=[sandbox.base_url + "/.default"]
        )
        assert sandbox.subscription_id in [s.subscription_id for s in client.subscriptions.list()]

        patch.setenv("MSI_SECRET", "not-the-secret")
        with pytest.raises(ClientAuthenticationError):
            ManagedIdentityCredential().get_token(sandbox.base_url + "/.default")
        patch.setenv("MSI_SECRET", ci.msi_secret)
        sandbox.faults.arm("no-identity")
        with pytest.raises(ClientAuthenticationError) as info:
            ManagedIdentityCredential().get_token(sandbox.base_url + "/.default")
        assert "Identity not found" in str(info.value)


def test_plain_rdeploy_tui_in_a_compute_instance_terminal_signs_in_with_its_identity(sandbox, tmp_path):
    from rdeploy_tui.commands.sandbox_cmd import compute_instance_exports

    env = _shell_env(compute_instance_exports(sandbox), tmp_path / "h", _no_az_path())
    listed = _rdeploy(["endpoints", "list", "--json"], env)  # the workspace comes from CI_WORKSPACE & co.
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)
    assert not (tmp_path / "h" / "sandbox").exists()  # it used the running sandbox as a cloud, not a sandbox of its own
    tokens = [e for e in sandbox.request_log if e["path"] == "/MSI/auth"]
    assert tokens and tokens[-1]["status"] == 200


def test_plain_rdeploy_tui_signs_in_through_an_az_login_session(sandbox, tmp_path):
    from az_cli_helpers import (
        require_az,
        signed_in,
    )  # the real az from PyPI, signed in to this sandbox by the printed recipe

    az = require_az()
    az_env, _login = signed_in(sandbox, az, tmp_path / "azure-config")
    env = {k: v for k, v in az_env.items() if not k.startswith(("MSI_", "IDENTITY_", "CI_"))}
    env["RDEPLOY_HOME"] = str(tmp_path / "h")
    sandbox.request_log.clear()
    listed = _rdeploy(
        [
            "endpoints",
            "list",
            "--json",
            "--subscription",
            sandbox.subscription_id,
            "-g",
            sandbox.resource_group,
            "-w",
            sandbox.workspace_name,
        ],
        env,
    )
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)
    assert not any(e["path"] == "/MSI/auth" for e in sandbox.request_log)


def _compute_instance_env(sandbox, tmp_path) -> dict[str, str]:
    from rdeploy_tui.commands.sandbox_cmd import compute_instance_exports

    return _shell_env(compute_instance_exports(sandbox), tmp_path / "h", _no_az_path())


def test_a_compute_instance_without_an_identity_is_told_so(sandbox, tmp_path):
    sandbox.faults.arm("no-identity")
    listed = _rdeploy(["endpoints", "list"], _compute_instance_env(sandbox, tmp_path))
    assert listed.returncode == 1
    assert "This compute instance has no managed identity" in listed.stderr
    assert "az login" in listed.stderr and "Traceback" not in listed.stderr


def test_an_identity_without_a_role_is_told_which_role_and_the_command(sandbox, tmp_path):
    sandbox.faults.arm(
        "authorization-failed",
        action="Microsoft.MachineLearningServices/workspaces/read",
        scope=f"/subscriptions/{sandbox.subscription_id}/resourceGroups/{sandbox.resource_group}",
    )
    listed = _rdeploy(["endpoints", "list"], _compute_instance_env(sandbox, tmp_path))
    assert listed.returncode == 1
    assert "You do not have permission to perform Microsoft.MachineLearningServices/workspaces/read" in listed.stderr
    assert (
        'az role assignment create --assignee 00000000-0000-0000-0000-00000000a11e --role "AzureML Data Scientist" '
        f"--scope /subscriptions/{sandbox.subscription_id}/resourceGroups/{sandbox.resource_group}"
    ) in listed.stderr


def test_a_signed_out_az_session_is_told_to_run_az_login(sandbox, tmp_path):
    from az_cli_helpers import require_az, signed_in

    az = require_az()
    config = tmp_path / "azure-config"
    az_env, _login = signed_in(sandbox, az, config)
    for stored in ("service_principal_entries.json", "msal_token_cache.json"):  # what `az logout` would remove
        (config / stored).unlink(missing_ok=True)
    env = {k: v for k, v in az_env.items() if not k.startswith(("MSI_", "IDENTITY_", "CI_"))}
    env["RDEPLOY_HOME"] = str(tmp_path / "h")
    listed = _rdeploy(
        [
            "endpoints",
            "list",
            "--subscription",
            sandbox.subscription_id,
            "-g",
            sandbox.resource_group,
            "-w",
            sandbox.workspace_name,
        ],
        env,
    )
    assert listed.returncode == 1
    assert "az login" in listed.stderr and "Traceback" not in listed.stderr
    assert "The Azure CLI is not signed in" in listed.stderr, listed.stderr
