"""The day-2 light path (azure/arm_rest.py, azure/rest_online.py: plain ARM REST, no azure.ai.ml) against what
azure-ai-ml sends and parses for the same operation on the sandbox: same requests (method, path, api-version)
and the same EndpointInfo / DeploymentInfo / WorkspaceInfo / log lines / key. So the two paths cannot drift."""

from __future__ import annotations

import os

import pytest
from sandbox_helpers import create_endpoint, unique_name
from sandbox_specs import connection_on

pytestmark = pytest.mark.sandbox


@pytest.fixture
def session(sandbox, rdeploy_home, monkeypatch):

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", os.environ.get("REQUESTS_CA_BUNDLE", ""))  # restored after the test
    with connection_on(sandbox) as s:
        yield s


@pytest.fixture
def both(sandbox, session):
    """(heavy, light): Endpoints (azure-ai-ml) and RestEndpoints on the same workspace, each opened its own way."""
    from rdeploy_tui.azure import Endpoints, RestEndpoints, Workspace

    args = (session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)
    return Endpoints(Workspace.open(*args)), RestEndpoints(Workspace.open(*args, light=True))


def _recorded(sandbox, call):
    """call()'s result and the requests it made: {(method, path, api-version)}."""
    from rdeploy_tui.azure import online

    # both paths cache environment images in the same place: each must make its own calls
    online.ENVIRONMENT_IMAGES.clear()
    start = len(sandbox.request_log)
    result = call()
    return result, {(e["method"], e["path"].lower(), e["api_version"]) for e in sandbox.request_log[start:]}


def _same(sandbox, heavy_call, light_call):
    """Both results, after checking the light path's requests are among azure-ai-ml's for the same operation."""
    heavy, heavy_requests = _recorded(sandbox, heavy_call)
    light, light_requests = _recorded(sandbox, light_call)
    assert light_requests, "the light path made no request"
    assert light_requests <= heavy_requests, f"requests azure-ai-ml does not make: {light_requests - heavy_requests}"
    return heavy, light


def test_workspace_is_read_alike(sandbox, session):
    from rdeploy_tui.azure import Workspace

    args = (session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)
    heavy, light = _same(sandbox, lambda: Workspace.open(*args).info, lambda: Workspace.open(*args, light=True).info)
    assert light == heavy and light.container_registry


def test_endpoints_list_show_keys_and_missing_alike(sandbox, both, ml_client):
    heavy, light = both
    ours = {unique_name(f"rest-{auth[:3]}"): auth for auth in ("key", "aml_token")}
    for name, auth in ours.items():
        create_endpoint(ml_client, name, auth)
    listed_heavy, listed_light = _same(sandbox, heavy.list, light.list)
    listed_heavy, listed_light = (
        [e for e in listed if e.name in ours] for listed in (listed_heavy, listed_light)
    )  # tests share the sandbox
    assert listed_light == listed_heavy and {e.name: e.auth_mode for e in listed_light} == ours
    assert all(e.created_at for e in listed_light)
    for endpoint in listed_heavy:
        name = endpoint.name
        shown_heavy, shown_light = _same(sandbox, lambda n=name: heavy.show(n), lambda n=name: light.show(n))
        assert shown_light == shown_heavy
        key_heavy, key_light = _same(sandbox, lambda n=name: heavy.auth_header(n), lambda n=name: light.auth_header(n))
        if endpoint.auth_mode == "key":
            assert key_light == key_heavy
        else:  # aml tokens are issued per call: same kind, different value
            assert key_light.startswith("Bearer ") and len(key_light) > 20
    missing_heavy, missing_light = _same(
        sandbox, lambda: heavy.find("no-such-endpoint"), lambda: light.find("no-such-endpoint")
    )
    assert missing_heavy is None and missing_light is None


@pytest.mark.r
def test_deployed_endpoint_show_deployment_logs_alike(sandbox, both, deployed):
    heavy, light = both
    shown_heavy, shown_light = _same(sandbox, lambda: heavy.show(deployed.name), lambda: light.show(deployed.name))
    assert shown_light == shown_heavy
    assert shown_light.deployments[0].image and "/environments/" not in shown_light.deployments[0].image
    assert shown_light.traffic == {"blue": 100}
    found_heavy, found_light = _same(
        sandbox,
        lambda: heavy.find_deployment(deployed.name, "blue"),
        lambda: light.find_deployment(deployed.name, "blue"),
    )
    assert found_light == found_heavy and found_light.state == "Succeeded"
    for container in ("inference-server", "storage-initializer"):
        logs_heavy, logs_light = _same(
            sandbox,
            lambda c=container: heavy.logs(deployed.name, "blue", c, 20),
            lambda c=container: light.logs(deployed.name, "blue", c, 20),
        )
        assert logs_light == logs_heavy and logs_light


def test_delete_alike_including_its_polling(sandbox, both, ml_client):
    heavy, light = both
    names = [unique_name("rest-del") for _ in range(2)]
    for name in names:
        create_endpoint(ml_client, name)
    _, heavy_requests = _recorded(sandbox, lambda: heavy.delete(names[0]))
    _, light_requests = _recorded(sandbox, lambda: light.delete(names[1]))

    def shapes(requests, name):  # each operation polls its own status URL: compare the kinds of request
        return {(m, p.replace(name.lower(), "{name}").rsplit("/mfeoperationsstatus/", 1)[0], v) for m, p, v in requests}

    # Both check the endpoint exists first (azure-ai-ml's get also lists its deployments, which a check does not need):
    # every light-path request is one azure-ai-ml sends, and both send the DELETE and follow it.
    light_shapes, heavy_shapes = shapes(light_requests, names[1]), shapes(heavy_requests, names[0])
    assert light_shapes <= heavy_shapes
    assert {m for m, _, _ in light_shapes} == {m for m, _, _ in heavy_shapes} == {"GET", "DELETE"}
    assert any("/mfeoperationsstatus/" in p for _, p, _ in light_requests)  # the LRO was followed to its end
    assert heavy.find(names[0]) is None and light.find(names[1]) is None
    # Deleting again (ARM: 204 for a missing resource): whatever one path does, the other does too.
    from rdeploy_tui.errors import RdeployError

    def again(endpoints, name):
        try:
            return _recorded(sandbox, lambda: endpoints.delete(name))[1], None
        except RdeployError as exc:
            return None, exc.code

    (heavy_again, heavy_code), (light_again, light_code) = again(heavy, names[0]), again(light, names[1])
    assert light_code == heavy_code
    assert heavy_again is None or shapes(light_again, names[1]) <= shapes(heavy_again, names[0])
