"""Each Azure failure, injected by the sandbox, reaches the user as what happened + what to do."""

from __future__ import annotations

import threading

import pytest

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.pipeline import plan as P
from rdeploy_tui.pipeline.events import LogLines, PlanFinished, StepFailed, StepFinished
from rdeploy_tui.pipeline.runner import run_deploy

pytestmark = [pytest.mark.sandbox]


def _workspace(session, spec):
    from rdeploy_tui.azure import Workspace

    return Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)


def _failed(recorder, step):
    failures = recorder.of(StepFailed, step)
    assert failures, f"{step} did not fail; events: {recorder.events}"
    return failures[0]


@pytest.mark.r
@pytest.mark.parametrize(
    "fault, code, words",
    [
        ("out-of-quota", "OutOfQuota", ["not enough quota", "cores in use", "more needed"]),
        ("image-pull-failure", "ImagePullFailure", ["could not pull"]),
        ("resource-not-ready", "ResourceNotReady", ["did not become ready"]),
    ],
)
def test_deployment_failures(session, sandbox, make_spec, recorder, cleanup, fault, code, words):
    spec = make_spec(fault[:8])
    sandbox.faults.arm(fault, count=1, match=r"PUT .*/deployments/")
    outcome = run_deploy(spec, session=session, sink=recorder)
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    assert outcome.status == "failed"
    failure = _failed(recorder, P.DEPLOYMENT)
    assert failure.code == code
    for word in words:
        assert word in failure.what.lower()
    assert failure.next_step
    if fault == "resource-not-ready":
        assert "inference-server" in (failure.details or "")  # the last container log lines come with the error
    assert f"deployment {spec.deployment.name}" in outcome.summary and "bills" in outcome.summary, outcome.summary
    assert not recorder.of(StepFailed, P.TRAFFIC)  # nothing ran after the failure


@pytest.mark.r
def test_a_failed_smoke_score_lets_the_traffic_update_beside_it_finish(session, make_spec, recorder, cleanup):
    spec = make_spec("smokefail")
    spec.scoring.sample_request = {}  # the plumber API answers an error; Azure turns it into 424
    outcome = run_deploy(spec, session=session, sink=recorder)
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    assert outcome.status == "failed"
    assert "424" in _failed(recorder, P.SMOKE).what
    # the traffic update ran beside the score and was not abandoned mid-way: the endpoint is left settled
    assert recorder.of(StepFinished, P.TRAFFIC)[0].status == "done"
    assert not recorder.of(StepFailed, P.TRAFFIC)


def test_no_container_registry(session, make_spec, recorder):
    from rdeploy_tui.sandbox.arm import NO_ACR_WORKSPACE

    outcome = run_deploy(make_spec("noacr", workspace=NO_ACR_WORKSPACE), session=session, sink=recorder)
    failure = _failed(recorder, P.PREPARE)
    assert failure.code == "NoRegistry"
    assert "no container registry" in failure.what and "az acr create" in failure.next_step
    assert outcome.status == "failed" and "nothing was created" in outcome.summary


def test_tasks_not_allowed(session, sandbox, make_spec, recorder, cleanup):
    spec = make_spec("tasks")
    sandbox.faults.arm("tasks-not-allowed", count=1)
    outcome = run_deploy(spec, session=session, sink=recorder, force_build=True)
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    failure = _failed(recorder, P.BUILD)
    assert failure.code == "TasksOperationsNotAllowed"
    assert "docker build" in failure.next_step
    assert outcome.status == "failed"


def test_build_failure_shows_the_build_log(session, sandbox, make_spec, recorder, cleanup):
    spec = make_spec("bfail")
    sandbox.faults.arm("build-fail", count=1)
    outcome = run_deploy(spec, session=session, sink=recorder, force_build=True)
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    failure = _failed(recorder, P.BUILD)
    assert failure.code == "BuildFailed" and failure.details
    assert recorder.of(LogLines, P.BUILD)
    assert outcome.status == "failed"
    # the cause (pak's words for the package that failed), never ACR's generic last line
    assert failure.failing_line == "Failed to build source package carrier.", failure.details
    assert failure.details.splitlines()[-1].startswith("Run ID:")


def test_the_cli_shows_the_line_that_names_a_build_failures_cause(session, sandbox, make_spec, tmp_path, cleanup):
    import os
    import subprocess
    import sys

    from rdeploy_tui.spec.deploy_spec import save_spec

    spec = make_spec("bcli")
    cleanup.append((_workspace(session, spec), spec.endpoint.name))  # the endpoint is created beside the build
    spec.image.tag = "cli-cause"  # a tag of its own: never already in the registry
    path = tmp_path / "rdeploy.yaml"
    save_spec(spec, path)
    sandbox.faults.arm("build-fail", count=1)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "RDEPLOY_")) and k != "REQUESTS_CA_BUNDLE"
    }
    env.update(sandbox.service_principal.environment(), RDEPLOY_HOME=str(tmp_path / "home"))
    connection = ["--arm-endpoint", sandbox.base_url, "--ca-bundle", str(sandbox.client_settings().ca_cert)]
    result = subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", *connection, "deploy", "--spec", str(path), "--yes", "--rebuild"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr
    lines = result.stdout.splitlines()
    assert "    Failing line: Failed to build source package carrier." in lines, result.stdout[-3000:]
    cause = lines.index("    Failing line: Failed to build source package carrier.")
    assert lines[cause + 1].startswith("    Next:")  # the cause, then what to do: the last things on screen
    assert "Traceback" not in result.stdout + result.stderr


def test_authorization_failed_names_the_role(session, sandbox, make_spec, recorder):
    spec = make_spec("authz")
    sandbox.faults.arm("authorization-failed", match=r"PUT .*/onlineEndpoints/[^/]+$")
    outcome = run_deploy(spec, session=session, sink=recorder)
    failure = _failed(recorder, P.ENDPOINT)
    assert failure.code == "AuthorizationFailed"
    assert "onlineEndpoints/write" in failure.what
    assert "AzureML Data Scientist" in failure.next_step
    assert outcome.status == "failed"
    # the summary comes from what exists in Azure: the 403 created nothing, and a build stopped beside it is over,
    # not left behind (issue 15)
    left = outcome.summary.split("Left behind:", 1)[1]
    assert "nothing was created in Azure" in left and "exists" not in left and "build" not in left


def test_a_refused_deployment_put_is_not_reported_as_billing(session, sandbox, make_spec, recorder, cleanup):
    spec = make_spec("refused")
    sandbox.faults.arm("bad-argument", count=1, match=r"PUT .*/deployments/")
    outcome = run_deploy(spec, session=session, sink=recorder)
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    assert _failed(recorder, P.DEPLOYMENT).code == "BadArgument"
    left = outcome.summary.split("Left behind:", 1)[1]
    assert f"endpoint {spec.endpoint.name} exists" in left and "does not bill compute" in left
    assert "bills per instance-hour" not in left and f"deployment {spec.deployment.name}" not in left


def test_endpoint_name_taken_in_the_region(session, sandbox, make_spec, recorder, cleanup):
    from rdeploy_tui.azure import Endpoints, Workspace

    spec = make_spec("taken")
    sandbox.ensure_workspace(sandbox.subscription_id, sandbox.resource_group, "other-ws")
    other = Workspace.open(session, sandbox.subscription_id, sandbox.resource_group, "other-ws")
    Endpoints(other).create_or_update_endpoint(spec.endpoint.name, "key")
    cleanup.append((other, spec.endpoint.name))
    outcome = run_deploy(spec, session=session, sink=recorder)
    failure = _failed(recorder, P.ENDPOINT)
    assert failure.code == "EndpointNameTaken"
    assert "already taken" in failure.what and "another endpoint name" in failure.next_step
    assert outcome.status == "failed"


@pytest.mark.r
def test_endpoint_busy(session, sandbox, make_spec, cleanup):
    from rdeploy_tui.azure import Endpoints
    from rdeploy_tui.deploy_folder.render import render
    from rdeploy_tui.pipeline.runner import deployment_request

    spec = make_spec("busy")
    first = run_deploy(spec, session=session, sink=lambda e: None, smoke_score=False)
    ws = _workspace(session, spec)
    cleanup.append((ws, spec.endpoint.name))
    assert first.status == "succeeded", first.summary
    rendered = render(spec, registry=ws.registry().login_server)
    request = deployment_request(spec, rendered, first.model.split(":")[1], first.image)
    request.name = "green"
    # Another operation holds the endpoint (Updating) when a second deployment is sent.
    from rdeploy_tui.sandbox import online

    ep_id = online.endpoint_id(ws.info.id, spec.endpoint.name)
    online.update_doc(sandbox, "endpoints", ep_id, state="Updating")
    with pytest.raises(RdeployError) as caught:
        Endpoints(ws).create_or_update_deployment(request)
    online.update_doc(sandbox, "endpoints", ep_id, state="Succeeded")
    assert caught.value.code == "EndpointBusy"
    assert "wait" in caught.value.next_step.lower()


def test_throttling_is_retried_then_reported(session, sandbox, make_spec):
    from rdeploy_tui.azure import Workspace

    spec = make_spec("thr")
    w = spec.workspace
    sandbox.faults.arm("throttle", count=2, match=r"GET .*/workspaces/")
    assert Workspace.open(session, w.subscription_id, w.resource_group, w.name).name == w.name  # retried, then fine
    sandbox.faults.arm("throttle", match=r"GET .*/workspaces/")
    with pytest.raises(RdeployError) as caught:
        Workspace.open(session, w.subscription_id, w.resource_group, w.name)
    assert caught.value.code == "Throttled" and "picks up where it stopped" in caught.value.next_step


def test_network_errors_are_retried_then_reported(session, sandbox, make_spec):
    from rdeploy_tui.azure import Workspace

    w = make_spec("net").workspace
    sandbox.faults.arm("drop-connection", count=1, match=r"GET .*/workspaces/")
    assert Workspace.open(session, w.subscription_id, w.resource_group, w.name)
    sandbox.faults.arm("drop-connection", match=r"GET .*/workspaces/")
    with pytest.raises(RdeployError) as caught:
        Workspace.open(session, w.subscription_id, w.resource_group, w.name)
    assert caught.value.code == "NetworkError" and "network" in caught.value.next_step


def test_expired_sign_in(session, sandbox, make_spec):
    from rdeploy_tui.azure import Workspace

    w = make_spec("exp").workspace
    sandbox.faults.arm("expired-token", match=r"GET .*/workspaces/")
    with pytest.raises(RdeployError) as caught:
        Workspace.open(session, w.subscription_id, w.resource_group, w.name)
    assert "expired" in caught.value.what and "az login" in caught.value.next_step


def test_not_signed_in_fails_fast_with_how_to_sign_in(monkeypatch, tmp_path):
    from rdeploy_tui.azure.credentials import build_credential

    for var in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no az CLI
    with pytest.raises(RdeployError) as caught:
        build_credential()
    assert caught.value.code == "NotSignedIn"
    assert "az login" in caught.value.next_step and "az login --identity" in caught.value.next_step


def test_cancel_during_the_build_cancels_the_acr_run(session, sandbox, make_spec, recorder, cleanup, monkeypatch):
    spec = make_spec("cancel")
    monkeypatch.setattr(sandbox, "time_scale", 0.03)  # a build that lasts long enough (~6 s) to be cancelled
    cancel = threading.Event()
    result = {}
    worker = threading.Thread(
        target=lambda: result.update(
            o=run_deploy(spec, session=session, sink=recorder, cancel=cancel, force_build=True)
        )
    )
    worker.start()
    assert recorder.wait_for(lambda e: isinstance(e, LogLines) and e.step == P.BUILD)
    cancel.set()
    sandbox.time_scale = 0.003  # back to fast for what follows (the endpoint, the clean-up)
    worker.join(60)
    outcome = result["o"]
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    assert outcome.status == "cancelled"
    assert "image build" in outcome.summary and "cancelled in ACR" in outcome.summary
    assert "Run the same deploy again" in outcome.summary
    run_id = recorder.of(StepFailed, P.BUILD)[0]
    assert run_id.code == "Cancelled"
    with sandbox.state.view() as data:
        statuses = [r["run"]["properties"]["status"] for r in data["acr_runs"].values()]
    assert "Canceled" in statuses
    assert isinstance(recorder.events[-1], PlanFinished) and recorder.events[-1].status == "cancelled"


# ----- subscriptions: none visible, one the identity cannot see, a disabled one -----
def _unknown_subscription() -> str:
    """A subscription id no test has used (the shared sandbox makes a spec's subscription on first use)."""
    import uuid

    return str(uuid.uuid4())


def test_no_subscription_says_how_to_get_access(session, sandbox):
    from rdeploy_tui import azure

    assert azure.list_subscriptions(session)  # the sandbox's identity sees its subscriptions
    sandbox.faults.arm("no-subscriptions")
    with pytest.raises(RdeployError) as caught:
        azure.list_subscriptions(session)
    error = caught.value
    assert error.code == "NoSubscription"
    assert "has no Azure subscription" in error.what and str(session.identity().name) in error.what
    assert "Ask for access" in error.next_step and "az login --tenant" in error.next_step


def test_a_spec_naming_a_subscription_the_identity_cannot_see(session, sandbox, make_spec, recorder):
    spec = make_spec("nosub")
    unknown = spec.workspace.subscription_id = _unknown_subscription()
    # The fault keeps this subscription out of the identity's sight.
    sandbox.faults.arm("no-subscriptions", match=unknown)
    sandbox.request_log.clear()
    outcome = run_deploy(spec, session=session, sink=recorder)
    failure = _failed(recorder, P.PREPARE)  # the first step
    assert failure.code == "SubscriptionNotFound"
    assert unknown in failure.what and "not visible to" in failure.what
    assert str(session.identity().name) in failure.what
    assert "az account list" in failure.next_step and "access" in failure.next_step
    assert outcome.status == "failed" and "nothing was created" in outcome.summary
    assert not recorder.of(StepFailed, P.ENDPOINT) and not recorder.of(StepFinished, P.ENDPOINT)
    writes = [r for r in sandbox.request_log if r["method"] in ("PUT", "POST", "PATCH", "DELETE")]
    assert not [r for r in writes if r["path"].startswith("/subscriptions")]  # (the sign-in's token POST aside)


def test_a_disabled_subscription_refuses_writes_with_what_to_do(session, sandbox):
    from rdeploy_tui.azure import Endpoints, Workspace
    from rdeploy_tui.sandbox.arm import DISABLED_SUBSCRIPTION

    sandbox.ensure_workspace(DISABLED_SUBSCRIPTION, "rg-old", "ws-old")
    ws = Workspace.open(session, DISABLED_SUBSCRIPTION, "rg-old", "ws-old")  # reads still work
    with pytest.raises(RdeployError) as caught:
        Endpoints(ws).create_or_update_endpoint("never-made", "key")
    error = caught.value
    assert error.code == "ReadOnlyDisabledSubscription"
    assert DISABLED_SUBSCRIPTION in error.what and "disabled" in error.what
    assert "Re-enable" in error.next_step and "another subscription" in error.next_step


def test_cli_names_a_subscription_it_cannot_see_without_a_traceback(sandbox, tmp_path):
    """The console script against the sandbox as an ARM endpoint (no --sandbox: nothing is made on first use)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    unknown = _unknown_subscription()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZURE_", "RDEPLOY_", "REQUESTS_CA", "SSL_CERT", "CURL_CA"))
    }
    env.pop("AZUREML_CURRENT_CLOUD", None)
    env.update(sandbox.service_principal.environment())
    env["RDEPLOY_HOME"] = str(tmp_path / "home")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rdeploy_tui",
            "--arm-endpoint",
            sandbox.base_url,
            "--ca-bundle",
            str(Path(sandbox.client_settings().ca_cert)),
            "endpoints",
            "list",
            "--subscription",
            unknown,
            "--resource-group",
            sandbox.resource_group,
            "--workspace",
            sandbox.workspace_name,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert f"Subscription {unknown} was not found, or is not visible to" in result.stderr
    assert "az account list" in result.stderr


def test_an_endpoint_refused_by_authorization_leaves_nothing_the_summary_does_not_find(
    session, sandbox, make_spec, recorder
):
    """What a failed deploy says it left behind is read from Azure; a refused PUT created nothing (issue 25 item 12)."""
    from rdeploy_tui.azure import Endpoints

    spec = make_spec("authz")
    sandbox.faults.arm("authorization-failed", match=r"PUT .*/onlineEndpoints/[^/]+$")
    outcome = run_deploy(spec, session=session, sink=recorder, smoke_score=False)
    failure = _failed(recorder, P.ENDPOINT)
    assert failure.code == "AuthorizationFailed" and outcome.status == "failed"
    assert Endpoints(_workspace(session, spec)).find(spec.endpoint.name) is None  # Azure has no endpoint ...
    left = outcome.summary.split("Left behind:", 1)[1]
    assert "nothing was created in Azure" in left and "exists" not in left and "bills" not in left  # ... nor says so
    assert recorder.of(PlanFinished)[-1].summary == outcome.summary
