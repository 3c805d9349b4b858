"""`--arm-endpoint URL --ca-bundle FILE` for real: the sandbox is an ARM endpoint over HTTPS with its own CA.

The console script runs in a subprocess with only a service principal in its environment (AZURE_TENANT_ID,
AZURE_CLIENT_ID, AZURE_CLIENT_SECRET): it reads ARM's /metadata/endpoints, signs in at the Entra token endpoint
the metadata names (the sandbox's), and lists the workspace's endpoints through the real SDK clients.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sandbox_specs import sandbox_ml_client

# Anything that could point the child at the sandbox (or at a real cloud) other than the command line.
_SCRUB = (
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "AZUREML_CURRENT_CLOUD",
    "IDENTITY_ENDPOINT",
    "MSI_ENDPOINT",
    "CI_NAME",
    "CI_WORKSPACE",
    "MLFLOW_TRACKING_URI",
    "AZURE_AUTHORITY_HOST",
)


def _console_script() -> str:
    script = Path(sys.executable).with_name("rdeploy-tui")
    return str(script) if script.exists() else (shutil.which("rdeploy-tui") or "rdeploy-tui")


@pytest.fixture(scope="module")
def listed_endpoint(sandbox_server):
    """One endpoint in the sandbox's default workspace, created through the SDK's MLClient."""
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    settings = sandbox_server.client_settings()
    ml_client = sandbox_ml_client(settings, polling_interval=0.2)
    name = f"armep-{os.getpid() % 1000}-{uuid.uuid4().hex[:6]}"
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name, auth_mode="key")).result()
    yield name
    ml_client.online_endpoints.begin_delete(name)  # the sandbox finishes it in the background


@pytest.fixture
def run_cli(sandbox, tmp_path):
    """Run `rdeploy-tui ARGS endpoints list -w ...` as a user on a custom cloud would."""
    sp = sandbox.service_principal
    workspace = [
        "--subscription",
        sandbox.subscription_id,
        "--resource-group",
        sandbox.resource_group,
        "--workspace",
        sandbox.workspace_name,
    ]

    def run(
        *connection: str, command: tuple[str, ...] = ("endpoints", "list"), **azure: str
    ) -> subprocess.CompletedProcess:
        """`azure`: overrides of the service principal's variables, e.g. AZURE_CLIENT_SECRET="wrong"."""
        env = {k: v for k, v in os.environ.items() if k not in _SCRUB and not k.startswith(("AZURE_", "RDEPLOY_"))}
        env.update(sp.environment())
        env.update(azure)
        env["RDEPLOY_HOME"] = str(tmp_path / "home")
        sandbox.request_log.clear()
        return subprocess.run(
            [_console_script(), *connection, *command, *workspace],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )

    return run


def _ca(sandbox) -> str:
    return str(Path(sandbox.client_settings().ca_cert))  # the sandbox's CA alone, as an operator would hand it out


def _no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def test_lists_endpoints_signed_in_as_a_service_principal(sandbox, run_cli, listed_endpoint):
    result = run_cli("--arm-endpoint", sandbox.base_url, "--ca-bundle", _ca(sandbox))
    assert result.returncode == 0, result.stderr
    assert listed_endpoint in result.stdout
    _no_traceback(result)
    requests = [(r["method"], r["path"].split("?")[0], r["status"]) for r in sandbox.request_log]
    tenant = sandbox.service_principal.tenant_id
    # What a custom cloud sees: ARM metadata, MSAL's tenant discovery, the client-credentials grant, then ARM.
    assert requests[0] == ("GET", "/metadata/endpoints", 200)
    assert ("GET", f"/{tenant}/v2.0/.well-known/openid-configuration", 200) in requests
    assert ("POST", f"/{tenant}/oauth2/v2.0/token", 200) in requests
    assert any(path.endswith("/onlineEndpoints") and status == 200 for _m, path, status in requests)
    assert not any("discovery/instance" in path for _m, path, _s in requests)


def test_json_output_names_the_endpoint(sandbox, run_cli, listed_endpoint):
    result = run_cli(
        "--arm-endpoint", sandbox.base_url + "/", "--ca-bundle", _ca(sandbox), command=("endpoints", "list", "--json")
    )
    assert result.returncode == 0, result.stderr
    assert listed_endpoint in [e["name"] for e in json.loads(result.stdout)]


def test_wrong_secret_says_what_happened_and_what_to_do(sandbox, run_cli):
    result = run_cli(
        "--arm-endpoint", sandbox.base_url, "--ca-bundle", _ca(sandbox), AZURE_CLIENT_SECRET="not-the-secret"
    )
    assert result.returncode == 1
    _no_traceback(result)
    assert "AADSTS7000215" in result.stderr and "client secret" in result.stderr
    assert "Next:" in result.stderr and "AZURE_CLIENT_SECRET" in result.stderr
    assert ("POST", 401) in [(r["method"], r["status"]) for r in sandbox.request_log if r["path"].endswith("/token")]
    assert not any(r["path"].startswith("/subscriptions") for r in sandbox.request_log)  # never reached ARM


def test_wrong_tenant_says_so(sandbox, run_cli):
    result = run_cli(
        "--arm-endpoint",
        sandbox.base_url,
        "--ca-bundle",
        _ca(sandbox),
        AZURE_TENANT_ID="00000000-1111-4222-8333-444444444444",
    )
    assert result.returncode == 1
    _no_traceback(result)
    assert "AADSTS90002" in result.stderr and "AZURE_TENANT_ID" in result.stderr


def test_without_the_ca_bundle_the_certificate_problem_is_named(sandbox, run_cli):
    result = run_cli("--arm-endpoint", sandbox.base_url)
    assert result.returncode == 1
    _no_traceback(result)
    assert "certificate" in result.stderr.lower() and "not trusted" in result.stderr
    assert "--ca-bundle" in result.stderr


def test_a_ca_bundle_without_the_right_ca_is_named_too(sandbox, run_cli):
    import certifi

    result = run_cli("--arm-endpoint", sandbox.base_url, "--ca-bundle", certifi.where())
    assert result.returncode == 1
    _no_traceback(result)
    assert "not trusted" in result.stderr and f"even with --ca-bundle {certifi.where()}" in result.stderr


def test_a_missing_or_empty_ca_bundle_file_is_a_usage_error(sandbox, run_cli, tmp_path):
    result = run_cli("--arm-endpoint", sandbox.base_url, "--ca-bundle", str(tmp_path / "nope.pem"))
    assert result.returncode == 2 and "--ca-bundle" in result.stderr and "not a file" in result.stderr
    _no_traceback(result)
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    result = run_cli("--arm-endpoint", sandbox.base_url, "--ca-bundle", str(empty))
    assert result.returncode == 2 and "PEM" in result.stderr
    _no_traceback(result)


def test_plain_http_is_refused(sandbox, run_cli):
    http_url = sandbox.base_url.replace("https://", "http://")
    result = run_cli("--arm-endpoint", http_url, "--ca-bundle", _ca(sandbox))
    assert result.returncode == 2
    _no_traceback(result)
    assert "https://" in result.stderr and "HTTPS" in result.stderr
    assert sandbox.request_log == []  # refused before anything was sent


def test_the_session_shows_who_signed_in_and_uses_the_metadata(sandbox, rdeploy_home, monkeypatch):
    """In process: what the factory decided from the metadata, and the identity read from the Entra token."""
    from rdeploy_tui.azure import ConnectionOptions, connect

    for name, value in sandbox.service_principal.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))  # no az CLI: the environment credential alone
    monkeypatch.setenv(
        "REQUESTS_CA_BUNDLE", os.environ.get("REQUESTS_CA_BUNDLE", "")
    )  # connect() sets it; restored after
    with connect(ConnectionOptions(arm_endpoint=sandbox.base_url, ca_bundle=_ca(sandbox))) as session:
        assert session.arm_endpoint == sandbox.base_url
        assert session.authority == sandbox.base_url  # loginEndpoint from /metadata/endpoints
        assert session.scopes == [sandbox.base_url + "/.default"]  # the ARM URL is one of the advertised audiences
        assert session.cloud_metadata["resource_manager"] == sandbox.base_url + "/"
        who = session.identity()
    assert who.kind == "service principal" and who.source == "environment"
    assert who.name == sandbox.service_principal.display_name and who.tenant_id == sandbox.service_principal.tenant_id
