"""Pure parts of the Azure layer: error mapping, redaction, discovery hints, the build archive, log tails."""

from __future__ import annotations

import base64
import gzip
import io
import json
import subprocess
import sys
import tarfile

from rdeploy_tui.azure.acr import make_context_archive
from rdeploy_tui.azure.capture import redact
from rdeploy_tui.azure.credentials import identity_from_token
from rdeploy_tui.azure.discovery import default_subscription_id, workspace_hints
from rdeploy_tui.azure.errors import explain
from rdeploy_tui.azure.online import new_lines


def _http_error(status: int, code: str, message: str):
    from azure.core.exceptions import HttpResponseError
    from azure.core.pipeline.transport import HttpResponse

    class _Response(HttpResponse):
        def __init__(self):
            super().__init__(None, None)
            self.status_code = status
            self.reason = "x"
            self.headers = {}

        def body(self):
            return json.dumps({"error": {"code": code, "message": message}}).encode()

        def text(self, encoding=None):
            return self.body().decode()

    return HttpResponseError(response=_Response())


def test_out_of_quota_gives_the_numbers():
    err = explain(
        _http_error(
            400,
            "OutOfQuota",
            "Not enough quota available for Standard_DS3_v2 in SubscriptionId x. "
            "Current usage/limit: 28/32. Additional needed: 5",
        )
    )
    assert err.code == "OutOfQuota"
    assert "28 of 32 cores in use, 5 more needed" in err.what


def test_authorization_failed_names_action_and_role():
    msg = (
        "The client 'a' with object id 'b' does not have authorization to perform action "
        "'Microsoft.ContainerRegistry/registries/scheduleRun/action' over scope '/subscriptions/s/resourceGroups/rg' "
        "or the scope is invalid."
    )
    err = explain(_http_error(403, "AuthorizationFailed", msg))
    assert "scheduleRun" in err.what and "Contributor on the container registry" in err.next_step
    assert "/subscriptions/s/resourceGroups/rg" in err.next_step


def test_sdk_validation_errors_are_explained_not_raised():
    err = explain(ValueError("bad value"), "creating x")
    assert "bad value" in err.what and "creating x" in err.what


def test_secrets_are_redacted():
    text = 'Authorization: Bearer eyJabc.def-ghi "primaryKey": "s3cr3t" url?sv=1&sig=AbC%2F&se=2'
    out = redact(text)
    assert "eyJabc" not in out and "s3cr3t" not in out and "AbC" not in out
    assert "sv=1" in out


def test_identity_from_a_jwt():
    payload = (
        base64.urlsafe_b64encode(json.dumps({"upn": "ana@contoso.com", "tid": "t-1"}).encode()).decode().rstrip("=")
    )
    who = identity_from_token(f"h.{payload}.s", "Azure CLI")
    assert (who.name, who.tenant_id, who.kind) == ("ana@contoso.com", "t-1", "user")
    app = base64.urlsafe_b64encode(json.dumps({"appid": "app-1", "tid": "t"}).encode()).decode().rstrip("=")
    assert identity_from_token(f"h.{app}.s", "environment").kind == "service principal"


def test_default_subscription_from_the_az_cli_profile(tmp_path, monkeypatch):
    for var in ("AZURE_SUBSCRIPTION_ID", "AZUREML_ARM_SUBSCRIPTION", "CI_SUBSCRIPTION_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path))
    profile = {"subscriptions": [{"id": "a", "isDefault": False}, {"id": "b", "isDefault": True}]}
    (tmp_path / "azureProfile.json").write_text(json.dumps(profile), encoding="utf-8-sig")  # the az CLI writes a BOM
    assert default_subscription_id() == "b"
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "env-sub")
    assert default_subscription_id() == "env-sub"


def test_workspace_hints_from_compute_instance_and_config_json(tmp_path, monkeypatch):
    for var in ("MLFLOW_TRACKING_URI", "AZUREML_ARM_WORKSPACE_NAME", "CI_WORKSPACE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path / "az"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    project = tmp_path / "project" / "deep"
    project.mkdir(parents=True)
    (tmp_path / "project" / "config.json").write_text(
        json.dumps({"subscription_id": "s", "resource_group": "rg", "workspace_name": "ws"})
    )
    hints = workspace_hints(project)
    assert [(h.subscription_id, h.resource_group, h.name) for h in hints] == [("s", "rg", "ws")]
    monkeypatch.setenv(
        "MLFLOW_TRACKING_URI",
        "azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/S2/resourceGroups/RG2/providers/Microsoft.MachineLearningServices/workspaces/WS2",
    )
    first = workspace_hints(project)[0]
    assert (first.subscription_id, first.resource_group, first.name) == ("S2", "RG2", "WS2")
    assert "compute instance" in first.source


def test_context_archive_honours_dockerignore():
    files = {
        "Dockerfile": b"FROM x\n",
        ".dockerignore": b"*.log\nsecrets/\n!keep.log\n",
        "a.log": b"",
        "keep.log": b"",
        "secrets/k": b"",
        "start_plumber.R": b"",
        ".git/HEAD": b"",
    }
    archive = make_context_archive(files)
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(archive))) as tar:
        names = sorted(tar.getnames())
    assert names == [".dockerignore", "Dockerfile", "keep.log", "start_plumber.R"]
    assert make_context_archive(files) == archive  # deterministic


def test_new_log_lines_from_overlapping_tails():
    assert new_lines(["a", "b", "c"], ["b", "c", "d", "e"]) == ["d", "e"]
    assert new_lines([], ["a"]) == ["a"]
    assert new_lines(["a", "b"], ["a", "b"]) == []


def test_importing_the_azure_layer_is_cheap():
    code = (
        "import sys, rdeploy_tui.azure, rdeploy_tui.pipeline.runner, rdeploy_tui.pipeline.plan; "
        "print(sorted(m for m in sys.modules if m.startswith(('azure', 'textual'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
