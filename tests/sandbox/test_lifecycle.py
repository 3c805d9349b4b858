"""A sandbox keeps its state across restarts, resumes what was running, and leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sandbox_helpers import make_deployment
from sandbox_specs import sandbox_ml_client

from rdeploy_tui.sandbox import Sandbox
from rdeploy_tui.sandbox.state import SandboxStateFile, StateFolderBusy

pytestmark = pytest.mark.sandbox


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def _record_app(sandbox: Sandbox, tmp_path: Path):
    from rdeploy_tui.deploy_folder.render import render
    from rdeploy_tui.spec.deploy_spec import default_spec

    with sandbox.state.view() as data:
        login_server = next(iter(data["registries"].values()))["login_server"]
    rendered = render(default_spec(), registry=login_server)
    sandbox.images.record_image(login_server, rendered.image_repository, rendered.image_tag, rendered.docker_context())
    return rendered, rendered.write_code(tmp_path / "src")


@pytest.mark.r
def test_restart_keeps_state_restarts_deployments_and_stops_every_process(tmp_path, monkeypatch):
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    state = tmp_path / "state"
    with Sandbox(state, time_scale=0.003) as first:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(first.ca_bundle))
        client = sandbox_ml_client(first.client_settings())
        rendered, code = _record_app(first, tmp_path)
        client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="kept-endpoint")).result()
        client.online_deployments.begin_create_or_update(
            make_deployment("blue", "kept-endpoint", rendered.image, code), skip_script_validation=True
        ).result()
        endpoint = client.online_endpoints.get("kept-endpoint")
        endpoint.traffic = {"blue": 100}
        client.online_endpoints.begin_create_or_update(endpoint).result()
        key = client.online_endpoints.get_keys("kept-endpoint").primary_key
        first_pid = first.hosting._processes[f"{endpoint.id}/deployments/blue".lower()].pid
        assert _alive(first_pid)
    assert not _alive(first_pid), "the plumber process outlived its sandbox"
    with pytest.raises(requests.ConnectionError):
        requests.get(first.base_url, timeout=2)

    with Sandbox(state, time_scale=0.003) as second:
        client = sandbox_ml_client(second.client_settings())
        endpoint = client.online_endpoints.get("kept-endpoint")
        assert endpoint.traffic == {"blue": 100}
        assert client.models.get("forecast-model", version="1")
        assert second.images.get_image(rendered.registry, rendered.image_repository, rendered.image_tag) is not None
        # Keys survive (they derive from the folder's secret) and the deployment is served again by a new process.
        assert client.online_endpoints.get_keys("kept-endpoint").primary_key == key
        for _ in range(200):
            if second.hosting.target(f"{endpoint.id}/deployments/blue"):
                break
            time.sleep(0.1)
        answer = requests.post(
            endpoint.scoring_uri, json={"forecast_horizon": [2]}, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        second_pid = second.hosting._processes[f"{endpoint.id}/deployments/blue".lower()].pid
    assert not _alive(second_pid)


def test_an_operation_in_flight_finishes_after_a_restart(tmp_path, monkeypatch):
    """Judged by what was persisted when the first sandbox stopped (the endpoint Creating, its operation InProgress),
    then by waiting for the resumed operation to end: nothing here depends on how fast this machine is."""
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    state = tmp_path / "state"
    with Sandbox(state, time_scale=10) as slow:  # the endpoint would take minutes here
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(slow.ca_bundle))
        sandbox_ml_client(slow.client_settings()).online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name="in-flight")
        )
    left = SandboxStateFile(state)
    with left.view() as data:
        endpoint = next(doc for doc in data["endpoints"].values() if doc["name"] == "in-flight")
        operation = next(op for op in data["operations"].values() if op["resource"].lower() == endpoint["id"].lower())
    assert (endpoint["state"], operation["status"]) == ("Creating", "InProgress")

    with Sandbox(state, time_scale=0.003) as fast:
        client = sandbox_ml_client(fast.client_settings())
        deadline = time.monotonic() + 60  # a bound for a hung sandbox, not the synchronisation
        while client.online_endpoints.get("in-flight").provisioning_state != "Succeeded":
            assert time.monotonic() < deadline, "the resumed creation never finished"
            time.sleep(0.1)
        with fast.state.view() as data:
            assert data["operations"][operation["id"]]["status"] == "Succeeded"


def test_two_sandboxes_cannot_share_a_folder(tmp_path):
    with Sandbox(tmp_path / "state"), pytest.raises(StateFolderBusy):
        Sandbox(tmp_path / "state").start()


def test_the_certificate_is_reused_after_a_restart(tmp_path):
    with Sandbox(tmp_path / "state") as first:
        bundle = first.ca_bundle.read_bytes()
    with Sandbox(tmp_path / "state") as second:
        assert second.ca_bundle.read_bytes() == bundle
        assert (
            requests.get(f"{second.base_url}/subscriptions", verify=str(second.ca_bundle), timeout=5).status_code == 401
        )


def test_sandbox_command_serves_until_ctrl_c(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-X",
            "faulthandler",
            "-m",
            "rdeploy_tui",
            "sandbox",
            "--state-dir",
            str(tmp_path / "cli"),
            "--time-scale",
            "0.02",
            "--fault",
            "throttle:1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # As CI and `cmd &` in a script start it: with SIGINT ignored. Ctrl+C must still stop it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        banner = []
        for line in proc.stdout:
            banner.append(line)
            if line.startswith("Press Ctrl+C"):
                break
        text = "".join(banner)
        base_url = text.split("serving at ", 1)[1].split()[0]
        bundle = text.split("export REQUESTS_CA_BUNDLE=", 1)[1].split()[0]
        for expected in ("CA bundle", "subscription", "resource group", "rdeploy-sandbox-ws", "throttle:1"):
            assert expected in text

        from rdeploy_tui.sandbox.auth import SandboxCredential

        token = SandboxCredential.from_state_dir(tmp_path / "cli").get_token(base_url + "/.default").token
        auth = {"Authorization": f"Bearer {token}"}
        url = f"{base_url}/subscriptions?api-version=2022-12-01"
        assert requests.get(url, headers=auth, verify=bundle, timeout=5).status_code == 429  # --fault throttle:1
        assert requests.get(url, headers=auth, verify=bundle, timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack: say where it hung
            out, err = proc.communicate(timeout=30)
            pytest.fail(f"the sandbox did not stop on Ctrl+C within 30 s; its threads:\n{err[-6000:]}")
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert "Sandbox stopped." in out
