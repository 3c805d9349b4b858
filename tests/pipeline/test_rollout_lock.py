"""Never two rollouts on one endpoint, across machines (issue 16): a lease in the endpoint's tags, read and written
with the real SDK on the shared sandbox. Each "machine" has its own RDEPLOY_HOME, so the file lock cannot help."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.pipeline.endpoint_lease import TAG, EndpointLease, Holder, parse
from rdeploy_tui.pipeline.events import StepProgress, StepStarted

pytestmark = [pytest.mark.sandbox]

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


def _tag_as_azure_holds_it(sandbox, name: str) -> str | None:
    from sandbox_specs import sandbox_ml_client

    return (sandbox_ml_client(sandbox.client_settings()).online_endpoints.get(name).tags or {}).get(TAG)


def _write_tag(sandbox, name: str, value: str) -> None:
    """As another machine's rdeploy-tui would leave it (the real SDK, no rdeploy_tui code)."""
    from sandbox_specs import sandbox_ml_client

    client = sandbox_ml_client(sandbox.client_settings())
    endpoint = client.online_endpoints.get(name)
    endpoint.tags = {**(endpoint.tags or {}), TAG: value}
    client.online_endpoints.begin_create_or_update(endpoint).result()


def _stale(host: str = "build-agent-7", pid: int = 4242, hours: float = 3) -> str:
    then = time.time() - hours * 3600
    return Holder("0f" * 16, host, pid, then, then).tag()


def test_the_lease_refuses_a_second_holder_takes_over_a_stale_one_and_is_released(session, make_spec, cleanup, sandbox):
    from rdeploy_tui.azure import Endpoints, Workspace

    spec = make_spec("lease")
    ws = Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)
    endpoints = Endpoints(ws)
    name = spec.endpoint.name
    endpoints.create_or_update_endpoint(name, "key")  # no deployment: no R needed
    cleanup.append((ws, name))

    now = [time.time()]
    first = EndpointLease(endpoints, name, settle_s=0.05, clock=lambda: now[0])
    assert first.acquire() is None
    held = parse(_tag_as_azure_holds_it(sandbox, name))
    assert (held.lease, held.host, held.pid) == (first.lease, socket.gethostname(), os.getpid())

    second = EndpointLease(endpoints, name, settle_s=0.05)
    with pytest.raises(RdeployError) as refused:
        second.acquire()
    assert refused.value.code == "RolloutBusy"
    assert f"process {os.getpid()} on {socket.gethostname()}" in refused.value.what and TAG in refused.value.what
    assert "--take-lock" in refused.value.next_step and "goes stale at" in refused.value.next_step

    now[0] += 60
    first.renew()  # a minute on: not yet (RENEW_S)
    assert parse(_tag_as_azure_holds_it(sandbox, name)).renewed == held.renewed
    now[0] += 3600
    first.renew()
    renewed = parse(_tag_as_azure_holds_it(sandbox, name))
    assert renewed.lease == first.lease and renewed.renewed > held.renewed and renewed.since == held.since

    # A lease nobody renewed for LEASE_S (its machine crashed) is taken over ...
    _write_tag(sandbox, name, _stale())
    replaced = second.acquire()
    assert (replaced.host, replaced.pid) == ("build-agent-7", 4242)
    assert parse(_tag_as_azure_holds_it(sandbox, name)).lease == second.lease
    # ... and the holder it was taken from finds out at its next safe point, and stops.
    with pytest.raises(RdeployError) as lost:
        first.renew(force=True)
    assert lost.value.code == "RolloutLockLost" and f"process {os.getpid()}" in lost.value.what
    assert (
        first.release() is None and parse(_tag_as_azure_holds_it(sandbox, name)).lease == second.lease
    )  # not first's to remove

    assert second.release() is None
    assert _tag_as_azure_holds_it(sandbox, name) is None

    # A lease of a process of this host that has ended is free at once (a crashed rollout resumed here).
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    _write_tag(sandbox, name, _stale(socket.gethostname(), int(ended.stdout), hours=0))
    third = EndpointLease(endpoints, name, settle_s=0.05)
    assert third.acquire().pid == int(ended.stdout)
    third.release()


def _console_script() -> str:
    script = Path(sys.executable).with_name("rdeploy-tui")
    return str(script) if script.exists() else (shutil.which("rdeploy-tui") or "rdeploy-tui")


@pytest.mark.r
def test_a_second_rollout_from_another_machine_is_refused_naming_the_first(
    session, make_spec, cleanup, sandbox, tmp_path, recorder
):
    """The first rollout runs here (RDEPLOY_HOME of this test); the second is another process with its own
    RDEPLOY_HOME, signed in to the sandbox as a custom cloud would be (--arm-endpoint), as a second machine."""
    from rdeploy_tui.azure import Workspace
    from rdeploy_tui.pipeline.rollout import DEPLOY_NEW, run_rollout
    from rdeploy_tui.pipeline.runner import run_deploy
    from rdeploy_tui.spec.deploy_spec import save_spec

    spec = make_spec("lock-2")
    assert run_deploy(spec, session=session, sink=lambda e: None, smoke_score=False).status == "succeeded"
    ws = Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)
    cleanup.append((ws, spec.endpoint.name))

    # The first rollout holds the lease, paused where it would deploy the new version.
    paused, go_on, cancel = threading.Event(), threading.Event(), threading.Event()

    def sink(event):
        recorder(event)
        if isinstance(event, StepStarted) and event.step == DEPLOY_NEW:
            paused.set()
            go_on.wait(120)

    outcome = []
    first = threading.Thread(
        target=lambda: outcome.append(run_rollout(spec.copy(), session=session, sink=sink, cancel=cancel)), daemon=True
    )
    first.start()
    try:
        assert paused.wait(120), [str(e) for e in recorder.events]
        assert parse(_tag_as_azure_holds_it(sandbox, spec.endpoint.name)).pid == os.getpid()

        spec_file = tmp_path / "other-machine" / "rdeploy.yaml"
        spec_file.parent.mkdir()
        save_spec(spec, spec_file)
        env = {k: v for k, v in os.environ.items() if k not in _SCRUB and not k.startswith(("AZURE_", "RDEPLOY_"))}
        env.update(sandbox.service_principal.environment())
        env["RDEPLOY_HOME"] = str(tmp_path / "other-machine" / "home")
        second = subprocess.run(
            [
                _console_script(),
                "--arm-endpoint",
                sandbox.base_url,
                "--ca-bundle",
                str(sandbox.client_settings().ca_cert),
                "rollout",
                "--spec",
                str(spec_file),
                "--yes",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=spec_file.parent,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )
        out = second.stdout + second.stderr
        assert second.returncode == 1, out
        assert (
            f"Another rollout on endpoint {spec.endpoint.name} is running "
            f"(process {os.getpid()} on {socket.gethostname()}" in out
        )
        assert "--take-lock" in out and "Traceback" not in out
    finally:
        cancel.set()
        go_on.set()
        first.join(120)
    assert outcome and outcome[0].status == "cancelled", outcome
    assert _tag_as_azure_holds_it(sandbox, spec.endpoint.name) is None  # released at the end


@pytest.mark.r
def test_a_stale_lock_left_by_another_machine_is_taken_over(session, make_spec, cleanup, sandbox, recorder):
    from rdeploy_tui.azure import Workspace
    from rdeploy_tui.pipeline.rollout import run_rollout
    from rdeploy_tui.pipeline.runner import run_deploy

    spec = make_spec("lock-stale")
    assert run_deploy(spec, session=session, sink=lambda e: None, smoke_score=False).status == "succeeded"
    ws = Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)
    cleanup.append((ws, spec.endpoint.name))
    _write_tag(sandbox, spec.endpoint.name, _stale())
    cancel = threading.Event()
    seen: list[str | None] = []

    def sink(event):
        recorder(event)
        if (
            isinstance(event, StepProgress)
            and event.step == "prepare"
            and "took over the rollout lock" in event.message
        ):
            seen.append(_tag_as_azure_holds_it(sandbox, spec.endpoint.name))
            cancel.set()  # enough: stop before the new version is deployed

    outcome = run_rollout(spec.copy(), session=session, sink=sink, cancel=cancel)
    took = [e.message for e in recorder.of(StepProgress, "prepare") if "took over" in e.message]
    assert took and "process 4242 on build-agent-7" in took[0] and "it was stale" in took[0], [
        str(e) for e in recorder.events
    ]
    assert parse(seen[0]).pid == os.getpid()
    assert outcome.status == "cancelled", outcome.summary
    # released at the end, once Azure is done with the new deployment it went on creating after the cancel
    assert _tag_as_azure_holds_it(sandbox, spec.endpoint.name) is None, [str(e) for e in recorder.events]
