"""Online endpoints and deployments with the real azure-ai-ml client; scoring through a real plumber process."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from sandbox_helpers import create_endpoint, make_deployment, unique_name
from sandbox_specs import sandbox_ml_client

pytestmark = pytest.mark.sandbox


def _path_calls(sandbox, method: str, fragment: str) -> list[dict]:
    return [e for e in sandbox.request_log if e["method"] == method and fragment in e["path"]]


def test_endpoint_lifecycle(sandbox, ml_client):
    name = unique_name("life")
    endpoint = create_endpoint(ml_client, name)
    assert str(endpoint.provisioning_state).lower().endswith("succeeded")
    assert endpoint.scoring_uri == f"{sandbox.base_url}/endpoints/{name}/score"
    put = _path_calls(sandbox, "PUT", f"/onlineEndpoints/{name}")
    assert put and put[0]["status"] == 201
    assert _path_calls(sandbox, "GET", "/mfeOperationsStatus/oeidp:")

    assert name in [e.name for e in ml_client.online_endpoints.list()]
    assert ml_client.online_endpoints.get(name).auth_mode == "key"
    keys = ml_client.online_endpoints.get_keys(name)
    assert keys.primary_key and keys.secondary_key and keys.primary_key != keys.secondary_key

    ml_client.online_endpoints.begin_delete(name).result()
    with pytest.raises(ResourceNotFoundError):
        ml_client.online_endpoints.get(name)
    assert _path_calls(sandbox, "DELETE", f"/onlineEndpoints/{name}")[0]["status"] == 202


def test_scoring_uri_is_null_until_the_endpoint_is_ready(sandbox, ml_client):
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    name = unique_name("pending")
    poller = ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name))
    creating = ml_client.online_endpoints.get(name)
    assert creating.provisioning_state == "Creating"
    assert creating.scoring_uri is None
    # A second write while the first is running is refused, as Azure does.
    with pytest.raises(HttpResponseError) as info:
        ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name, description="changed"))
    assert info.value.status_code == 409
    assert poller.result().scoring_uri


def test_aml_token_endpoint_gives_a_token(ml_client):
    name = unique_name("token")
    create_endpoint(ml_client, name, auth_mode="aml_token")
    token = ml_client.online_endpoints.get_keys(name)
    assert token.access_token and token.expiry_time_utc


def test_endpoint_names_are_unique_and_validated(sandbox, sandbox_settings, ml_client):
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    name = unique_name("taken")
    create_endpoint(ml_client, name)
    other_ws = sandbox_ml_client(sandbox_settings, workspace_name="rdeploy-noacr-ws")
    with pytest.raises(HttpResponseError) as info:
        other_ws.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name))
    assert info.value.status_code == 409


def test_deployment_of_a_missing_model_is_refused(sandbox, ml_client, app_files, code_dir):
    name = unique_name("nomodel")
    create_endpoint(ml_client, name)
    with pytest.raises(HttpResponseError) as info:
        ml_client.online_deployments.begin_create_or_update(
            make_deployment("blue", name, app_files.image, code_dir, model="forecast-model:99"),
            skip_script_validation=True,
        ).result()
    assert info.value.status_code == 404


@pytest.mark.r
def test_deploy_upload_logs_and_score(sandbox, ml_client, deployed, app_files):
    name = deployed.name
    # Code upload went through startPendingUpload and blob storage, then the code version was registered.
    assert _path_calls(sandbox, "POST", "/startPendingUpload")
    blob_puts = [e for e in sandbox.request_log if e["method"] == "PUT" and e["path"].endswith("/src/plumber.R")]
    assert blob_puts and blob_puts[0]["status"] == 201
    assert _path_calls(sandbox, "PUT", "/environments/CliV2AnonymousEnvironment/versions/")

    deployment = ml_client.online_deployments.get("blue", name)
    assert deployment.provisioning_state == "Succeeded"
    assert deployment.scale_settings is not None and deployment.request_settings.request_timeout_ms == 5000
    assert deployment.readiness_probe.failure_threshold == 30

    logs = ml_client.online_deployments.get_logs("blue", name, lines=50)
    assert "Readiness probe on /ready succeeded" in logs
    assert "Running plumber API" in logs  # printed by the real R process
    init_logs = ml_client.online_deployments.get_logs("blue", name, lines=50, container_type="storage-initializer")
    assert "forecast-model" in init_logs

    key = ml_client.online_endpoints.get_keys(name).primary_key
    answer = requests.post(
        deployed.scoring_uri, json={"forecast_horizon": [3]}, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert len(answer.json()) == 3
    assert answer.headers["azureml-model-deployment"] == "blue"

    routed = requests.post(
        deployed.scoring_uri,
        json={"forecast_horizon": [1]},
        headers={"Authorization": f"Bearer {key}", "azureml-model-deployment": "blue"},
        timeout=30,
    )
    assert routed.status_code == 200


@pytest.mark.r
def test_scoring_errors_as_azure_sends_them(sandbox, ml_client, deployed):
    key = ml_client.online_endpoints.get_keys(deployed.name).primary_key
    auth = {"Authorization": f"Bearer {key}"}

    assert requests.post(deployed.scoring_uri, json={"forecast_horizon": [3]}, timeout=30).status_code == 401
    wrong = requests.post(
        deployed.scoring_uri, json={"forecast_horizon": [3]}, headers={"Authorization": "Bearer nope"}, timeout=30
    )
    assert wrong.status_code == 401

    bad = requests.post(deployed.scoring_uri, json={"forecast_horizon": ["abc"]}, headers=auth, timeout=30)
    assert bad.status_code == 424
    assert bad.headers["ms-azureml-model-error-statuscode"] == "400"
    assert bad.headers["ms-azureml-model-error-reason"]
    assert "forecast_horizon" in bad.text  # the container's own answer comes through

    missing = requests.post(
        deployed.scoring_uri, json={}, headers={**auth, "azureml-model-deployment": "green"}, timeout=30
    )
    assert missing.status_code == 404


@pytest.mark.r
def test_generated_api_closes_each_connection_and_the_front_reconnects(sandbox, ml_client, deployed):
    # The generated score handler answers `Connection: close` (httpuv is ~40 ms late on reused connections);
    # the front pools its upstream connections and must open a fresh one after each closed answer.
    target = sandbox.hosting.target(f"{deployed.id}/deployments/blue")
    direct = requests.post(target.url + target.scoring_path, json={"forecast_horizon": [1]}, timeout=30)
    assert direct.status_code == 200 and direct.headers["Connection"].lower() == "close"
    key = ml_client.online_endpoints.get_keys(deployed.name).primary_key
    with requests.Session() as client:
        answers = [
            client.post(
                deployed.scoring_uri,
                json={"forecast_horizon": [2]},
                headers={"Authorization": f"Bearer {key}"},
                timeout=30,
            )
            for _ in range(5)
        ]
    assert [a.status_code for a in answers] == [200] * 5
    assert all("close" not in a.headers.get("Connection", "").lower() for a in answers)  # hop-by-hop: not passed on


@pytest.mark.r
def test_traffic_split_and_second_deployment(sandbox, ml_client, app_files, code_dir):
    name = unique_name("split")
    create_endpoint(ml_client, name, auth_mode="aml_token")
    for color in ("blue", "green"):
        ml_client.online_deployments.begin_create_or_update(
            make_deployment(color, name, app_files.image, code_dir), skip_script_validation=True
        ).result()
    endpoint = ml_client.online_endpoints.get(name)
    assert not any(endpoint.traffic.values())
    token = ml_client.online_endpoints.get_keys(name).access_token
    auth = {"Authorization": f"Bearer {token}"}
    no_route = requests.post(endpoint.scoring_uri, json={"forecast_horizon": [1]}, headers=auth, timeout=30)
    assert no_route.status_code == 404 and "No valid deployments" in no_route.text

    endpoint.traffic = {"blue": 0, "green": 100}
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    served_by = {
        requests.post(endpoint.scoring_uri, json={"forecast_horizon": [1]}, headers=auth, timeout=30).headers[
            "azureml-model-deployment"
        ]
        for _ in range(5)
    }
    assert served_by == {"green"}

    # A deployment that takes traffic cannot be deleted; one without can, and its process stops.
    with pytest.raises(HttpResponseError):
        ml_client.online_deployments.begin_delete("green", name).result()
    target = sandbox.hosting.target(f"{endpoint.id}/deployments/blue")
    assert target is not None
    ml_client.online_deployments.begin_delete("blue", name).result()
    assert sandbox.hosting.target(f"{endpoint.id}/deployments/blue") is None
    assert [d.name for d in ml_client.online_deployments.list(name)] == ["green"]

    ml_client.online_endpoints.begin_delete(name).result()
    assert sandbox.hosting.target(f"{endpoint.id}/deployments/green") is None
