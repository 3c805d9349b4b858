"""Refuse what Azure refuses, serve what Azure serves: each rule as the REST spec or ARM's own answers have it."""

from __future__ import annotations

import json

import pytest
import requests
from sandbox_helpers import create_endpoint, unique_name

pytestmark = pytest.mark.sandbox


@pytest.fixture
def arm(sandbox):
    session = requests.Session()
    token = sandbox.credential().get_token(sandbox.base_url + "/.default").token
    session.headers["Authorization"] = f"Bearer {token}"
    session.verify = str(sandbox.ca_bundle)

    def call(method: str, path: str, body=None, api: str = "2024-04-01", **kwargs) -> requests.Response:
        params = {"api-version": api}
        if body is not None and "data" not in kwargs:
            kwargs["json"] = body
        return session.request(method, f"{sandbox.base_url}{path}", params=params, timeout=10, **kwargs)

    return call


def _ws(sandbox) -> str:
    return (
        f"/subscriptions/{sandbox.subscription_id}/resourceGroups/{sandbox.resource_group}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{sandbox.workspace_name}"
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"properties": {"authMode": "Key"}}, "LocationRequired"),
        ({"location": "westeurope"}, "BadRequest"),
        ({"location": "westeurope", "properties": {"description": "no auth mode"}}, "BadRequest"),
    ],
    ids=["no-location", "no-properties", "no-authMode"],
)
def test_an_endpoint_put_missing_what_the_spec_requires_is_refused(sandbox, arm, body, code):
    name = unique_name("req")
    answer = arm("PUT", f"{_ws(sandbox)}/onlineEndpoints/{name}", body)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == code
    assert arm("GET", f"{_ws(sandbox)}/onlineEndpoints/{name}").status_code == 404  # nothing was created


def test_bodies_arm_cannot_read_are_400_or_415_never_500(sandbox, arm):
    path = f"{_ws(sandbox)}/onlineEndpoints/{unique_name('bad')}"
    for body in ([1, 2], "a string"):
        answer = arm("PUT", path, body)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "InvalidRequestContent"
    text = arm("PUT", path, data=b'{"location": "westeurope"}', headers={"Content-Type": "text/plain"})
    assert text.status_code == 415 and text.json()["error"]["code"] == "UnsupportedMediaType"
    assert "'text/plain'" in text.json()["error"]["message"]


def test_traffic_must_be_whole_numbers_and_deployments_need_their_compute_type(sandbox, arm, ml_client):
    name = unique_name("traffic")
    create_endpoint(ml_client, name)
    answer = arm(
        "PUT",
        f"{_ws(sandbox)}/onlineEndpoints/{name}",
        {"location": "westeurope", "properties": {"authMode": "Key", "traffic": {"blue": True}}},
    )
    assert answer.status_code == 400
    deployment = arm(
        "PUT",
        f"{_ws(sandbox)}/onlineEndpoints/{name}/deployments/blue",
        {"location": "westeurope", "properties": {"instanceType": "Standard_DS3_v2"}, "sku": {"capacity": 1}},
    )
    assert deployment.status_code == 400 and "endpointComputeType" in deployment.json()["error"]["message"]


def test_regenerate_keys_replaces_the_key_and_the_old_one_stops_scoring(sandbox, arm, ml_client):
    name = unique_name("regen")
    create_endpoint(ml_client, name)
    path = f"{_ws(sandbox)}/onlineEndpoints/{name}"
    before = arm("POST", f"{path}/listKeys").json()
    answer = arm("POST", f"{path}/regenerateKeys", {"keyType": "Primary"})
    assert answer.status_code == 202 and "/mfeOperationResults/" in answer.headers["Location"]
    after = arm("POST", f"{path}/listKeys").json()
    assert after["primaryKey"] != before["primaryKey"] and after["secondaryKey"] == before["secondaryKey"]
    old = requests.post(
        f"{sandbox.base_url}/endpoints/{name}/score",
        headers={"Authorization": f"Bearer {before['primaryKey']}"},
        json={},
        verify=str(sandbox.ca_bundle),
        timeout=10,
    )
    assert old.status_code == 401
    assert arm("POST", f"{path}/regenerateKeys", {"keyType": "Tertiary"}).status_code == 400


def test_a_model_version_can_be_deleted(sandbox, arm, ml_client):
    from azure.ai.ml.entities import Model

    name = unique_name("delme")
    folder = sandbox.state_dir / "model-to-delete"
    folder.mkdir(exist_ok=True)
    (folder / "crate.bin").write_bytes(b"not really a crate")
    ml_client.models.create_or_update(Model(name=name, version="1", path=str(folder), type="custom_model"))
    path = f"{_ws(sandbox)}/models/{name}/versions/1"
    assert arm("DELETE", path, api="2023-04-01").status_code == 200
    assert arm("GET", path, api="2023-04-01").status_code == 404
    assert arm("DELETE", path, api="2023-04-01").status_code == 204


def test_resource_groups_answer_head_and_unpublished_api_versions_are_refused(sandbox, arm):
    group = f"/subscriptions/{sandbox.subscription_id}/resourcegroups/{sandbox.resource_group}"
    assert arm("HEAD", group, api="2022-09-01").status_code == 204
    assert arm("HEAD", group + "-nope", api="2022-09-01").status_code == 404
    refused = arm("GET", group, api="2099-01-01")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "InvalidApiVersionParameter"


def test_providers_are_listed_with_their_types_and_versions(sandbox, arm):
    provider = arm("GET", f"/subscriptions/{sandbox.subscription_id}/providers/Microsoft.MachineLearningServices")
    assert provider.status_code == 200 and provider.json()["registrationState"] == "Registered"
    types = {t["resourceType"]: t["apiVersions"] for t in provider.json()["resourceTypes"]}
    assert types.get("workspaces/onlineEndpoints")
    listed = arm("GET", f"/subscriptions/{sandbox.subscription_id}/providers", api="2022-09-01").json()["value"]
    assert {p["namespace"] for p in listed} >= {"Microsoft.MachineLearningServices", "Microsoft.ContainerRegistry"}


@pytest.mark.slow
def test_az_group_exists_and_provider_show(sandbox, tmp_path):
    from az_cli_helpers import require_az, run_az, signed_in

    az_bin = require_az()
    env, _ = signed_in(sandbox, az_bin, tmp_path / "cfg")
    exists = run_az([str(az_bin), "group", "exists", "-n", sandbox.resource_group], env)
    assert exists.returncode == 0 and exists.stdout.strip() == "true", exists.stderr
    missing = run_az([str(az_bin), "group", "exists", "-n", "no-such-group"], env)
    assert missing.returncode == 0 and missing.stdout.strip() == "false", missing.stderr
    shown = run_az([str(az_bin), "provider", "show", "-n", "Microsoft.ContainerRegistry", "-o", "json"], env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["registrationState"] == "Registered"
