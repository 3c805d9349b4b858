"""Subscriptions, workspaces and models with the real SDK clients."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from sandbox_specs import sandbox_ml_client

pytestmark = pytest.mark.sandbox


def test_subscriptions_list_shows_one_enabled_and_one_disabled(sandbox, sandbox_settings):
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    client = SubscriptionClient(sandbox.credential(), **sandbox_settings.mgmt_kwargs())
    states = {
        s.subscription_id: str(s.state.value if hasattr(s.state, "value") else s.state)
        for s in client.subscriptions.list()
    }
    assert states[sandbox.subscription_id] == "Enabled"
    assert "Disabled" in states.values()
    assert any(
        e["path"] == "/subscriptions" and e["api_version"] == "2022-12-01" and e["status"] == 200
        for e in sandbox.request_log
    )


def test_workspaces_get_with_and_without_registry(sandbox, ml_client):
    from rdeploy_tui.sandbox.arm import NO_ACR_WORKSPACE

    ws = ml_client.workspaces.get(sandbox.workspace_name)
    assert ws.container_registry.startswith(f"/subscriptions/{sandbox.subscription_id}/resourceGroups/")
    assert "/Microsoft.ContainerRegistry/registries/" in ws.container_registry
    assert not ml_client.workspaces.get(NO_ACR_WORKSPACE).container_registry
    with pytest.raises(ResourceNotFoundError):
        ml_client.workspaces.get("no-such-workspace")


def test_sample_model_list_get_and_download(sandbox, ml_client, tmp_path):
    from rdeploy_tui.deploy_folder.sample_model import sample_crate_path

    assert "forecast-model" in [m.name for m in ml_client.models.list()]
    latest = ml_client.models.get("forecast-model", label="latest")
    assert latest.version == "1"
    assert ml_client.models.get("forecast-model", version="1").path == latest.path
    assert [m.version for m in ml_client.models.list(name="forecast-model")] == ["1"]

    ml_client.models.download("forecast-model", "1", download_path=str(tmp_path))
    crate = tmp_path / "forecast-model" / "models" / "crate.bin"
    assert crate.read_bytes() == sample_crate_path().read_bytes()


def test_model_registered_with_the_sdk_can_be_read_back(sandbox, ml_client, tmp_path):
    from azure.ai.ml.entities import Model

    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "crate.bin").write_bytes(b"not really a crate")
    ml_client.models.create_or_update(Model(name="uploaded-model", version="3", path=str(folder), type="custom_model"))
    assert ml_client.models.get("uploaded-model", version="3").version == "3"
    ml_client.models.download("uploaded-model", "3", download_path=str(tmp_path / "out"))
    assert (tmp_path / "out" / "uploaded-model" / "models" / "crate.bin").read_bytes() == b"not really a crate"


def test_missing_model_is_404(ml_client):
    with pytest.raises(ResourceNotFoundError):
        ml_client.models.get("no-such-model", version="1")


def test_ensure_workspace_and_model_create_on_first_use(sandbox, sandbox_settings):
    model = sandbox.ensure_model("11111111-2222-3333-4444-555555555555", "rg-ml", "ws-ml", "my-model")
    assert model["version"] == "1"
    client = sandbox_ml_client(
        sandbox_settings,
        subscription_id="11111111-2222-3333-4444-555555555555",
        resource_group="rg-ml",
        workspace_name="ws-ml",
    )
    assert client.workspaces.get("ws-ml").container_registry
    assert client.models.get("my-model", label="latest").version == "1"
    # Idempotent: a second call finds what the first made.
    assert (
        sandbox.ensure_model("11111111-2222-3333-4444-555555555555", "rg-ml", "ws-ml", "my-model")["created"]
        == model["created"]
    )


def test_requests_without_a_valid_token_get_401(sandbox, sandbox_settings):
    import requests

    url = f"{sandbox.base_url}/subscriptions?api-version=2022-12-01"
    missing = requests.get(url, verify=sandbox_settings.ca_bundle)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "AuthenticationFailed"
    forged = requests.get(url, headers={"Authorization": "Bearer sbx1.e30.bad"}, verify=sandbox_settings.ca_bundle)
    assert forged.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_an_expired_token_is_refused(sandbox, sandbox_settings):
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    client = SubscriptionClient(sandbox.credential(lifetime_s=-60), **sandbox_settings.mgmt_kwargs())
    with pytest.raises(ClientAuthenticationError) as info:
        list(client.subscriptions.list())
    assert info.value.status_code == 401
    assert "ExpiredAuthenticationToken" in str(info.value)


def test_writes_to_the_disabled_subscription_are_refused(sandbox, sandbox_settings):
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    from rdeploy_tui.sandbox.arm import DISABLED_SUBSCRIPTION

    sandbox.ensure_workspace(DISABLED_SUBSCRIPTION, "rg-old", "ws-old")
    client = sandbox_ml_client(
        sandbox_settings, subscription_id=DISABLED_SUBSCRIPTION, resource_group="rg-old", workspace_name="ws-old"
    )
    assert client.workspaces.get("ws-old").name == "ws-old"  # reads still work
    with pytest.raises(HttpResponseError) as info:
        client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="never-made"))
    assert info.value.status_code == 409
    assert "ReadOnlyDisabledSubscription" in str(info.value)
