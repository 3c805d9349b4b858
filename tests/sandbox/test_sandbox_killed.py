"""A `rdeploy-tui sandbox` process killed with SIGKILL while a deployment's R runs: the R process dies with it, and
after a restart and a scored request exactly one R process serves the deployment (real processes throughout)."""

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

pytestmark = [pytest.mark.sandbox, pytest.mark.r, pytest.mark.slow]


def _r_processes(folder: Path) -> list[int]:
    """R processes serving a deployment of the sandbox kept in `folder` (their command line names its run/)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        is_r = bool(words) and Path(words[0].decode(errors="replace")).name in ("R", "Rscript")
        if state != "Z" and is_r and any(str(folder).encode() in word for word in words):
            found.append(int(entry.name))
    return found


def _serve(folder: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rdeploy_tui", "sandbox", "--state-dir", str(folder), "--time-scale", "0.003"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    banner = []
    for line in proc.stdout:
        banner.append(line)
        if line.startswith("Press Ctrl+C"):
            break
    text = "".join(banner)
    assert "serving at " in text, text + (proc.stderr.read() if proc.poll() is not None else "")
    return proc, text.split("serving at ", 1)[1].split()[0]


def _wait(condition, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout  # a bound for a hung machine, not the synchronisation
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.mark.parametrize("network", ["own namespace", "shared"])
def test_after_a_sigkill_and_a_restart_one_r_process_serves_the_deployment(tmp_path, monkeypatch, network):
    from azure.ai.ml.entities import ManagedOnlineEndpoint
    from sandbox_specs import sandbox_ml_client

    from rdeploy_tui.deploy_folder.render import render
    from rdeploy_tui.sandbox.container import NO_NETNS_ENV
    from rdeploy_tui.spec.deploy_spec import default_spec

    if network == "shared":
        monkeypatch.setenv(NO_NETNS_ENV, "1")  # as on a machine that gives containers no namespace
    folder = (tmp_path / "sandbox").resolve()
    first, base_url = _serve(folder)
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(folder / "tls" / "ca-bundle.pem"))
        settings = _settings(folder, base_url)
        client = sandbox_ml_client(settings)
        workspace = client.workspaces.get(settings.workspace_name)
        login_server = workspace.container_registry.rsplit("/", 1)[1] + ".azurecr.io"
        rendered = render(default_spec(), registry=login_server)
        code = rendered.write_code(tmp_path / "src")
        _push_rendered_image(folder, base_url, rendered)
        client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="killed", auth_mode="key")).result()
        client.online_deployments.begin_create_or_update(
            make_deployment("blue", "killed", rendered.image, code), skip_script_validation=True
        ).result()
        endpoint = client.online_endpoints.get("killed")
        endpoint.traffic = {"blue": 100}
        client.online_endpoints.begin_create_or_update(endpoint).result()
        _wait(lambda: len(_r_processes(folder)) == 1, "the deployment's R process never ran")
        before = _r_processes(folder)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    _wait(lambda: not _r_processes(folder), f"R outlived the killed sandbox: {_r_processes(folder)}")

    second, base_url = _serve(folder)
    try:
        settings = _settings(folder, base_url)
        client = sandbox_ml_client(settings)
        endpoint = client.online_endpoints.get("killed")
        key = client.online_endpoints.get_keys("killed").primary_key

        def scored() -> bool:
            answer = requests.post(
                endpoint.scoring_uri, json={"forecast_horizon": [2]}, headers={"Authorization": f"Bearer {key}"}
            )
            return answer.status_code == 200

        _wait(scored, "the restarted sandbox never scored the deployment")
        after = _r_processes(folder)
        assert len(after) == 1 and not set(after) & set(before), (before, after)
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(timeout=60)
    _wait(lambda: not _r_processes(folder), "R outlived the stopped sandbox")


def _push_rendered_image(folder: Path, base_url: str, rendered) -> None:
    """The rendered docker context built in the sandbox's ACR (azure-mgmt-containerregistrytasks, as az acr build)."""
    from sandbox_helpers import acr_build

    class Remote:  # what sandbox_helpers.acr_build needs of a sandbox: its client settings and state
        def __init__(self) -> None:
            from rdeploy_tui.sandbox.state import SandboxStateFile

            self._settings = _settings(folder, base_url)
            self.state = SandboxStateFile(folder)

        def client_settings(self):
            return self._settings

    run, log = acr_build(Remote(), rendered.docker_context(), f"{rendered.image_repository}:{rendered.image_tag}")
    assert run.properties.status == "Succeeded", log


def _settings(folder: Path, base_url: str):
    """The client settings `rdeploy-tui sandbox` prints, for the sandbox serving `folder` at `base_url`."""
    from rdeploy_tui.sandbox import arm
    from rdeploy_tui.sandbox.settings import ClientSettings

    return ClientSettings(
        base_url=base_url,
        ca_bundle=str(folder / "tls" / "ca-bundle.pem"),
        subscription_id=arm.DEFAULT_SUBSCRIPTION,
        resource_group=arm.DEFAULT_RESOURCE_GROUP,
        workspace_name=arm.DEFAULT_WORKSPACE,
        state_dir=str(folder),
    )


def test_two_starts_of_one_deployments_container_at_once_leave_one_process(tmp_path, monkeypatch):
    """What a restart did when it resumed both a deployment's container and its unfinished operation: two starts at
    once. The second must replace the first, never leave it running untracked."""
    import threading

    from azure.ai.ml.entities import ManagedOnlineEndpoint
    from sandbox_specs import sandbox_ml_client

    from rdeploy_tui.deploy_folder.render import render
    from rdeploy_tui.sandbox import Sandbox, online
    from rdeploy_tui.spec.deploy_spec import default_spec

    folder = (tmp_path / "sandbox").resolve()
    with Sandbox(folder, time_scale=0.003) as sandbox:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sandbox.ca_bundle))
        client = sandbox_ml_client(sandbox.client_settings())
        with sandbox.state.view() as data:
            login_server = next(iter(data["registries"].values()))["login_server"]
        rendered = render(default_spec(), registry=login_server)
        sandbox.images.record_image(
            login_server, rendered.image_repository, rendered.image_tag, rendered.docker_context()
        )
        code = rendered.write_code(tmp_path / "src")
        client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="twice", auth_mode="key")).result()
        deployment = client.online_deployments.begin_create_or_update(
            make_deployment("blue", "twice", rendered.image, code), skip_script_validation=True
        ).result()
        doc = online.get_deployment(sandbox, deployment.id)
        barrier = threading.Barrier(2)
        failures: list[BaseException] = []

        def start() -> None:
            barrier.wait()
            try:
                sandbox.hosting.start(doc)
            except BaseException as exc:  # each start must succeed: the later one replaces the earlier
                failures.append(exc)

        threads = [threading.Thread(target=start) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures
        _wait(lambda: len(_r_processes(folder)) == 1, f"not one R process: {_r_processes(folder)}", timeout=30)
        assert sandbox.hosting.target(deployment.id) is not None
    assert not _r_processes(folder)
