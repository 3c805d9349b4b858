"""Each fault knob makes the sandbox answer the way Azure does; targeted faults show retry-then-succeed."""

from __future__ import annotations

import time

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from sandbox_helpers import create_endpoint, make_deployment, unique_name

from rdeploy_tui.sandbox.faults import FAULT_NAMES, Faults

pytestmark = pytest.mark.sandbox

WORKSPACE_GET = r"GET .*/workspaces/rdeploy-sandbox-ws$"


def _statuses(sandbox, suffix: str) -> list[int]:
    return [e["status"] for e in sandbox.request_log if e["method"] == "GET" and e["path"].endswith(suffix)]


@pytest.mark.parametrize(
    ("fault", "status"),
    [("throttle", 429), ("transient-500", 500), ("transient-503", 503), ("drop-connection", 0)],
)
def test_transient_faults_are_retried_by_the_sdk(sandbox, ml_client, fault, status):
    sandbox.request_log.clear()
    sandbox.faults.arm(fault, count=2, match=WORKSPACE_GET)
    assert ml_client.workspaces.get(sandbox.workspace_name).name == sandbox.workspace_name
    assert _statuses(sandbox, "/workspaces/rdeploy-sandbox-ws") == [status, status, 200]


def test_throttle_sends_retry_after(sandbox, sandbox_settings):
    sandbox.faults.arm("throttle", count=1, retry_after=7)
    token = sandbox.credential().get_token(sandbox_settings.credential_scopes[0]).token
    answer = requests.get(
        f"{sandbox.base_url}/subscriptions?api-version=2022-12-01",
        headers={"Authorization": f"Bearer {token}"},
        verify=sandbox_settings.ca_bundle,
    )
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert answer.json()["error"]["code"] == "TooManyRequests"


def test_expired_token_fault_gives_401(sandbox, ml_client):
    sandbox.faults.arm("expired-token", count=1)
    with pytest.raises(ClientAuthenticationError) as info:
        ml_client.workspaces.get(sandbox.workspace_name)
    assert info.value.status_code == 401
    assert "ExpiredAuthenticationToken" in str(info.value)
    assert ml_client.workspaces.get(sandbox.workspace_name)  # the next call is fine again


def test_bad_argument_is_refused_at_once(sandbox, ml_client, app_files, code_dir):
    name = unique_name("badarg")
    create_endpoint(ml_client, name)
    sandbox.faults.arm("bad-argument", count=1)
    with pytest.raises(HttpResponseError) as info:
        ml_client.online_deployments.begin_create_or_update(
            make_deployment("blue", name, app_files.image, code_dir), skip_script_validation=True
        ).result()
    assert info.value.status_code == 400
    assert "BadArgument" in str(info.value)


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("out-of-quota", "OutOfQuota"),
        ("image-pull-failure", "ImagePullFailure"),
        ("resource-not-ready", "ResourceNotReady"),
    ],
)
def test_deployment_faults_fail_the_operation(sandbox, ml_client, app_files, code_dir, fault, code):
    name = unique_name("fails")
    create_endpoint(ml_client, name)
    sandbox.faults.arm(fault, count=1)
    with pytest.raises(HttpResponseError) as info:
        ml_client.online_deployments.begin_create_or_update(
            make_deployment("blue", name, app_files.image, code_dir), skip_script_validation=True
        ).result()
    assert code in str(info.value)
    assert ml_client.online_deployments.get("blue", name).provisioning_state == "Failed"
    if fault == "resource-not-ready":
        assert "Readiness probe failed" in ml_client.online_deployments.get_logs("blue", name, lines=20)
    # A failed deployment can be deleted (it still bills on Azure).
    ml_client.online_deployments.begin_delete("blue", name).result()


def test_real_quota_is_enforced(sandbox, ml_client, app_files, code_dir):
    name = unique_name("quota")
    create_endpoint(ml_client, name)
    too_big = make_deployment(
        "blue", name, app_files.image, code_dir, instance_type="Standard_DS5_v2", instance_count=3
    )
    with pytest.raises(HttpResponseError) as info:
        ml_client.online_deployments.begin_create_or_update(too_big, skip_script_validation=True).result()
    assert "OutOfQuota" in str(info.value)
    assert "Additional needed: 58" in str(info.value)  # 3 x 16 cores + 20 % headroom


def test_an_image_that_was_never_built_cannot_be_pulled(ml_client, code_dir, login_server):
    name = unique_name("noimage")
    create_endpoint(ml_client, name)
    with pytest.raises(HttpResponseError) as info:
        ml_client.online_deployments.begin_create_or_update(
            make_deployment("blue", name, f"{login_server}/never-built:1", code_dir), skip_script_validation=True
        ).result()
    assert "ImagePullFailure" in str(info.value)


def test_without_r_the_container_fails_naming_rscript(sandbox, ml_client, app_files, code_dir, monkeypatch):
    monkeypatch.setenv("RDEPLOY_RSCRIPT", "")  # rdeploy_tui.local.plumber.find_rscript() then finds no R
    name = unique_name("nor")
    create_endpoint(ml_client, name)
    with pytest.raises(HttpResponseError) as info:
        ml_client.online_deployments.begin_create_or_update(
            make_deployment("blue", name, app_files.image, code_dir), skip_script_validation=True
        ).result()
    assert "ResourceNotReady" in str(info.value)
    assert "Rscript" in str(info.value)
    assert "Rscript" in ml_client.online_deployments.get_logs("blue", name, lines=20)


@pytest.mark.r
def test_slow_scoring_delays_and_times_out(sandbox, ml_client, deployed):
    key = ml_client.online_endpoints.get_keys(deployed.name).primary_key
    auth = {"Authorization": f"Bearer {key}"}
    sandbox.faults.arm("slow-scoring", count=1, seconds=0.3)
    started = time.monotonic()
    slow = requests.post(deployed.scoring_uri, json={"forecast_horizon": [1]}, headers=auth, timeout=30)
    assert slow.status_code == 200
    assert time.monotonic() - started >= 0.3
    sandbox.faults.arm("slow-scoring", count=1, seconds=60)  # beyond the 5 s request timeout
    timed_out = requests.post(deployed.scoring_uri, json={"forecast_horizon": [1]}, headers=auth, timeout=30)
    assert timed_out.status_code == 408


def test_faults_from_command_line_specs():
    faults = Faults.from_specs(["throttle:2", "slow-scoring"])
    assert {f.name: f.count for f in faults.armed()} == {"throttle": 2, "slow-scoring": None}
    with pytest.raises(ValueError):
        Faults.from_specs(["no-such-fault"])
    assert set(FAULT_NAMES) >= {"build-fail", "out-of-quota", "expired-token"}
    taken = [faults.take("throttle", "GET /subscriptions") is not None for _ in range(3)]
    assert taken == [True, True, False]


def test_no_subscriptions_hides_them_from_the_identity(sandbox, sandbox_settings):
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    client = SubscriptionClient(sandbox_settings.credential(), **sandbox_settings.mgmt_kwargs())
    assert [s.subscription_id for s in client.subscriptions.list()]
    sandbox.faults.arm("no-subscriptions", match=sandbox.subscription_id)  # just this one
    listed = [s.subscription_id for s in client.subscriptions.list()]
    assert listed and sandbox.subscription_id not in listed
    with pytest.raises(HttpResponseError) as info:
        client.subscriptions.get(sandbox.subscription_id)
    assert info.value.status_code == 404 and "SubscriptionNotFound" in str(info.value)
    sandbox.faults.arm("no-subscriptions")  # all of them
    assert list(client.subscriptions.list()) == []
    assert {f.name for f in Faults.from_specs(["no-subscriptions"]).armed()} == {"no-subscriptions"}


def test_fault_specs_take_a_pattern_and_parameters():
    from rdeploy_tui.sandbox.faults import Faults

    faults = Faults.from_specs(["deployment-slow@/green$,factor=5,after=10", "throttle:2"])
    slow = faults.peek("deployment-slow")
    assert slow.match == "/green$" and slow.params == {"factor": 5, "after": 10} and slow.count is None
    assert faults.take("deployment-slow", "ep/blue") is None and faults.take("deployment-slow", "ep/green") is slow
    assert faults.peek("throttle").count == 2
    for bad in ("deployment-slow,factor", "deployment-errors@(", "throttle:x"):
        with pytest.raises(ValueError):
            Faults.from_specs([bad])
