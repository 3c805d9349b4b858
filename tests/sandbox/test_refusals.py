"""The sandbox refuses what Azure refuses, with the real SDK clients (docs/sandbox-fidelity.md lists each rule)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from sandbox_helpers import create_endpoint, make_deployment, unique_name

pytestmark = pytest.mark.sandbox


@pytest.fixture
def arm(sandbox, sandbox_settings):
    """A real mgmt client's pipeline (auth, retries, ARM error parsing) for raw ARM requests."""
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    client = SubscriptionClient(sandbox_settings.credential(), **sandbox_settings.mgmt_kwargs())

    def send(method: str, path: str, **params: str):
        query = "&".join(f"{k.replace('_', '-')}={v}" for k, v in params.items())
        return client._client.send_request(
            HttpRequest(method, f"{sandbox.base_url}{path}" + (f"?{query}" if query else ""))
        )

    return send


def _error(response) -> dict:
    return response.json()["error"]


def test_missing_api_version_is_arms_400(sandbox, arm):
    answer = arm("GET", f"/subscriptions/{sandbox.subscription_id}/resourcegroups")
    assert answer.status_code == 400
    assert _error(answer) == {
        "code": "MissingApiVersionParameter",
        "message": "The api-version query parameter (?api-version=) is required for all requests.",
    }


def test_an_api_version_arm_does_not_have_is_invalid(sandbox, arm):
    answer = arm("GET", f"/subscriptions/{sandbox.subscription_id}/resourcegroups", api_version="2021-03-01")
    assert answer.status_code == 400
    error = _error(answer)
    assert error["code"] == "InvalidApiVersionParameter"
    assert error["message"].startswith(
        "The api-version '2021-03-01' is invalid. The supported versions are '2025-04-01,"
    )
    assert (
        arm("GET", f"/subscriptions/{sandbox.subscription_id}/resourcegroups", api_version="2022-12-01").status_code
        == 200
    )


def test_an_online_endpoint_api_version_never_published_has_no_registered_provider(sandbox, arm):
    ws = (
        f"/subscriptions/{sandbox.subscription_id}/resourceGroups/{sandbox.resource_group}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{sandbox.workspace_name}"
    )
    answer = arm("GET", ws + "/onlineEndpoints", api_version="2023-02-01")
    assert answer.status_code == 400
    error = _error(answer)
    assert error["code"] == "NoRegisteredProviderFound"
    assert "API version '2023-02-01' for type 'workspaces/onlineEndpoints'" in error["message"]
    assert arm("GET", ws + "/onlineEndpoints", api_version="2024-04-01").status_code == 200


def test_unknown_arm_paths_answer_arms_json_404_not_blob_xml(sandbox, arm):
    answer = arm(
        "GET",
        f"/subscriptions/{sandbox.subscription_id}/resourceGroups/{sandbox.resource_group}/providers/Microsoft.MachineLearningServices/workspaces/{sandbox.workspace_name}/nosuchthings",
        api_version="2024-04-01",
    )
    assert answer.status_code == 404 and answer.headers["Content-Type"].startswith("application/json")
    assert _error(answer) == {
        "code": "InvalidResourceType",
        "message": "The resource type 'workspaces/nosuchthings' could not be found in the namespace "
        "'Microsoft.MachineLearningServices' for api version '2024-04-01'.",
    }
    # Under /subscriptions nothing ever reaches the blob service, whose pattern would match /{account}/{container}/...
    deep = arm("GET", f"/subscriptions/{sandbox.subscription_id}/whatever/else", api_version="2022-12-01")
    assert deep.status_code == 404 and _error(deep)["code"] == "InvalidResourceType"


def test_instance_count_zero_is_refused_not_made_one(sandbox, ml_client, app_files, code_dir):
    name = unique_name("zero")
    create_endpoint(ml_client, name)
    with pytest.raises(HttpResponseError) as info:
        ml_client.online_deployments.begin_create_or_update(
            make_deployment("blue", name, app_files.image, code_dir, instance_count=0), skip_script_validation=True
        )
    assert info.value.status_code == 400
    assert "Instance count 0 is invalid" in str(info.value)
    with pytest.raises(ResourceNotFoundError):
        ml_client.online_deployments.get("blue", name)


@pytest.mark.parametrize(
    "model, detail",
    [
        ("forecast-model:99", "Model version forecast-model:99 not found. Versions registered: 1."),
        ("never-registered:1", "Model container with name: never-registered not found."),
    ],
)
def test_deploying_a_model_version_that_does_not_exist_fails_as_azure_does(
    sandbox, ml_client, app_files, code_dir, model, detail
):
    name = unique_name("nomodel")
    create_endpoint(ml_client, name)
    sandbox.request_log.clear()
    with pytest.raises(HttpResponseError) as info:
        ml_client.online_deployments.begin_create_or_update(
            make_deployment("blue", name, app_files.image, code_dir, model=model), skip_script_validation=True
        ).result()
    assert info.value.status_code == 404
    assert info.value.error.code == "UserError" and info.value.error.message == "The specified resource was not found."
    assert [(d.code, d.message) for d in info.value.error.details] == [("ModelNotFound", detail)]
    puts = [e for e in sandbox.request_log if e["method"] == "PUT" and "/deployments/" in e["path"]]
    assert [e["status"] for e in puts] == [404]  # refused at once: nothing was created, nothing bills


def test_delete_of_a_missing_endpoint_answers_204_like_arm(sandbox, ml_client):
    name = unique_name("ghost")
    sandbox.request_log.clear()
    ml_client.online_endpoints.begin_delete(name).result()  # the SDK sees success: callers must check first
    deletes = [e for e in sandbox.request_log if e["method"] == "DELETE"]
    assert [e["status"] for e in deletes] == [204]
