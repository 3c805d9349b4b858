"""Microsoft's recorded Azure traffic judges the sandbox: the exchanges are replayed and the answers compared.

Thresholds (issue 24): on what the sandbox claims to cover, 100 % of statuses, final states and LRO headers, and at
least 97 % of Azure's JSON key paths with their types. The figures are printed (pytest -s, or on failure).
The deployment runs a real plumber process, so R is needed (CI has it).
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from replay import Names, Score, compare, load, poll_until

pytestmark = [pytest.mark.sandbox, pytest.mark.r]
TIME_SCALE = 0.01  # slow enough that the first poll of every operation still finds it running
RECORDED_SUB = "00000000-0000-0000-0000-000000000"
_RESOURCE_PATH = (
    "/subscriptions/"
    + RECORDED_SUB
    + "/resourceGroups/00000/providers/Microsoft.MachineLearningServices/workspaces/00000"
)


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    """A sandbox of its own (its time scale decides what a poll sees), the image and code the deployment runs."""
    from rdeploy_tui.deploy_folder.render import render
    from rdeploy_tui.sandbox import Sandbox
    from rdeploy_tui.sandbox import ml as sandbox_ml
    from rdeploy_tui.spec.deploy_spec import default_spec

    with Sandbox(tmp_path_factory.mktemp("conformance") / "state", time_scale=TIME_SCALE) as sandbox:
        ws = sandbox.ensure_workspace(sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)
        sample = sandbox.ensure_model(
            sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name, "forecast-model"
        )
        with sandbox.state.view() as data:
            login_server = data["registries"][ws["container_registry"].lower()]["login_server"]
        rendered = render(default_spec(), registry=login_server)
        sandbox.images.record_image(
            login_server,
            rendered.image_repository,
            rendered.image_tag,
            rendered.docker_context(),
            metadata={"entrypoint_reset": True},
        )
        for name, data in rendered.code_files().items():  # the whole folder: plumber.R sources rdeploy_model.R
            sandbox.blobs.put_blob("conformance-code", f"src/{name}", data)
        code_uri = f"{sandbox.base_url}/sandboxstore/conformance-code/src"
        sandbox_ml.put_asset(sandbox, ws["id"], "codes", "conformance", "1", {"codeUri": code_uri})
        env = {
            "image": rendered.image,
            "inferenceConfig": {
                r: {"port": 8000, "path": p}
                for r, p in (("livenessRoute", "/live"), ("readinessRoute", "/ready"), ("scoringRoute", "/score"))
            },
        }
        sandbox_ml.put_asset(sandbox, ws["id"], "environments", "conformance", "1", env)
        yield sandbox, ws, sample


def _client(sandbox) -> httpx.Client:
    token = sandbox.credential().get_token(sandbox.base_url + "/.default").token
    return httpx.Client(verify=str(sandbox.ca_bundle), headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _send(client: httpx.Client, method: str, url: str, body=None) -> tuple[int, dict[str, str], object]:
    answer = client.request(method, url, json=body) if body is not None else client.request(method, url)
    try:
        parsed = answer.json() if answer.content else None
    except ValueError:
        parsed = answer.text
    return answer.status_code, dict(answer.headers), parsed


def _replay(sandbox, ws, names: Names, entries, score: Score, adapt=lambda step, body: body) -> None:
    client = _client(sandbox)
    operation = ""
    for entry in entries:
        step = entry["step"]
        if "-poll-" in step:
            url = operation
            if step.endswith("running"):
                status, headers, body = _send(client, "GET", url)
            else:
                status, headers, body = poll_until(
                    lambda url=url: _send(client, "GET", url),
                    lambda b: (b or {}).get("status") != "Updating",
                    timeout=120,
                )
        else:
            url = names.map(entry["uri"]).replace("https://management.azure.com", sandbox.base_url)
            request = adapt(step, names.map_json(entry["request"])) if "request" in entry else None
            if step.endswith("-get") and entry.get("final_state"):
                status, headers, body = poll_until(
                    lambda url=url: _send(client, "GET", url),
                    lambda b: (b or {}).get("properties", {}).get("provisioningState") not in ("Creating", "Updating"),
                    timeout=120,
                )
            else:
                status, headers, body = _send(client, entry["method"], url, request)
            operation = headers.get("azure-asyncoperation", operation)
        compare(
            score, entry, status, headers, body, names=names, base_url=sandbox.base_url, time_scale=sandbox.time_scale
        )


def test_online_endpoint_deployment_and_assets_answer_as_azure_recorded(judged):
    sandbox, ws, sample = judged
    recording = load("online_deployment_skip_script_validation.json")
    endpoint = f"conf-{uuid.uuid4().hex[:8]}"
    names = Names(
        [
            (_RESOURCE_PATH, ws["id"]),
            (RECORDED_SUB, sandbox.subscription_id),
            ("/resourcegroups/00000/", f"/resourcegroups/{sandbox.resource_group}/"),
            ("/workspaces/00000/", f"/workspaces/{sandbox.workspace_name}/"),
            ("online-endp4e07306aec3d482", endpoint),
            ("online-dpma4941dc794114e4", "blue"),
            ("locations/eastus2", "locations/westeurope"),
            ('"eastus2"', '"westeurope"'),
        ]
    )
    ws_path = ws["id"]

    def adapt(step: str, body: dict) -> dict:
        # The recording deploys an MLflow model without code or environment (no-code deployment), which the sandbox
        # does not simulate: its deployment gets the custom container an R deployment has; the model version points
        # at the sandbox's sample crate. Everything else is sent as recorded.
        if step == "model-version-create":
            body["properties"]["modelUri"] = sample["properties"]["modelUri"]
        if step == "deployment-create":
            body["properties"]["environmentId"] = f"{ws_path}/environments/conformance/versions/1"
            body["properties"]["codeConfiguration"] = {
                "codeId": f"{ws_path}/codes/conformance/versions/1",
                "scoringScript": "plumber.R",
            }
        return body

    score = Score()
    _replay(sandbox, ws, names, recording["entries"], score, adapt)
    print(f"\n{recording['source']['path']}\n{score.report()}")
    _assert_thresholds(score)


def test_an_endpoint_update_and_its_token_answer_as_azure_recorded(judged):
    sandbox, ws, _sample = judged
    recording = load("online_deployment_traffic_and_token.json")
    endpoint = f"conf-{uuid.uuid4().hex[:8]}"
    client = _client(sandbox)
    ep_url = f"{sandbox.base_url}{ws['id']}/onlineEndpoints/{endpoint}?api-version=2022-02-01-preview"
    status, _, _ = _send(client, "PUT", ep_url, {"location": "westeurope", "properties": {"authMode": "AMLToken"}})
    assert status == 201
    poll_until(lambda: _send(client, "GET", ep_url), lambda b: b["properties"]["provisioningState"] == "Succeeded", 60)
    names = Names(
        [
            (_RESOURCE_PATH, ws["id"]),
            (RECORDED_SUB, sandbox.subscription_id),
            ("online-ept-10cd4ed17147449", endpoint),
            ('"eastus2"', '"westeurope"'),
        ]
    )

    def adapt(step: str, body: dict) -> dict:
        body["properties"]["traffic"] = {}  # no deployment here: the update is the point, not the traffic
        return body

    score = Score()
    _replay(sandbox, ws, names, recording["entries"], score, adapt)
    print(f"\n{recording['source']['path']}\n{score.report()}")
    _assert_thresholds(score)


def _assert_thresholds(score: Score) -> None:
    assert score.ratio("status") == 1.0, score.report()
    assert score.ratio("final") == 1.0, score.report()
    assert score.ratio("lro") == 1.0, score.report()
    assert score.ratio("keys") >= 0.97, score.report()
