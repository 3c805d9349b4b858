"""Our CLI where the sandbox and Azure agree on a refusal: a delete of a mistyped endpoint, and one sandbox folder
shared by `rdeploy-tui sandbox` and `--sandbox`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sandbox_specs import endpoint_in_sandbox_folder, sandbox_ml_client

pytestmark = pytest.mark.sandbox

TIME_SCALE = "0.003"


def _env(home: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "RDEPLOY_HOME": str(home),
        "RDEPLOY_SANDBOX_TIME_SCALE": TIME_SCALE,
        "AZUREML_CURRENT_CLOUD": "SomeOtherCloud",
    }
    env.pop("REQUESTS_CA_BUNDLE", None)
    return env


def _cli(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", *args],
        capture_output=True,
        text=True,
        env=_env(home),
        stdin=subprocess.DEVNULL,
        timeout=180,
    )


def test_delete_of_a_mistyped_endpoint_says_so_and_names_the_close_one(tmp_path):
    home = tmp_path / "h"
    endpoint_in_sandbox_folder(home / "sandbox", "r-endpoint-forecast")

    typo = _cli(["endpoints", "delete", "r-endpoint-forcast", "--sandbox", "--yes"], home)

    assert typo.returncode == 1, typo.stderr
    assert "no endpoint r-endpoint-forcast in workspace rdeploy-sandbox-ws" in typo.stderr
    assert "Did you mean r-endpoint-forecast?" in typo.stderr
    assert "Deleted" not in typo.stdout and "Traceback" not in typo.stderr
    listed = _cli(["endpoints", "list", "--sandbox", "--json"], home)
    assert [e["name"] for e in json.loads(listed.stdout)] == ["r-endpoint-forecast"]  # the real one still exists
    gone = _cli(["endpoints", "delete", "r-endpoint-forecast", "--sandbox", "--yes"], home)
    assert gone.returncode == 0 and "no longer bill" in gone.stdout


def test_rdeploy_tui_sandbox_and_the_sandbox_flag_share_one_folder(tmp_path):
    """Endpoints made through `rdeploy-tui sandbox` (any client) are seen by `--sandbox` later: same default folder."""
    from rdeploy_tui.sandbox.settings import ClientSettings

    home = tmp_path / "h"
    server = subprocess.Popen(
        [sys.executable, "-m", "rdeploy_tui", "sandbox", "--time-scale", TIME_SCALE],
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(server.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("Press Ctrl+C" in line for line in lines):
            assert server.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)
        banner = "".join(lines)
        folder = next(line.split()[-1] for line in lines if line.strip().startswith("state folder"))
        assert Path(folder) == (home / "sandbox").resolve()
        assert "az login --service-principal" in banner and "ARM_CLOUD_METADATA_URL=" in banner
        base_url = next(line.split()[-1] for line in lines if line.startswith("rdeploy-tui sandbox serving at"))
        ca_bundle = next(line.split()[-1] for line in lines if line.strip().startswith("CA bundle"))
        settings = ClientSettings(
            base_url=base_url,
            ca_bundle=ca_bundle,
            subscription_id="5a4d1f3e-8f3b-4c1e-9d2a-000000000001",
            resource_group="rdeploy-sandbox-rg",
            workspace_name="rdeploy-sandbox-ws",
            state_dir=folder,
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("REQUESTS_CA_BUNDLE", ca_bundle)
            from azure.ai.ml.entities import ManagedOnlineEndpoint

            sandbox_ml_client(settings).online_endpoints.begin_create_or_update(
                ManagedOnlineEndpoint(name="made-by-another-client", auth_mode="key")
            ).result()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    listed = _cli(["endpoints", "list", "--sandbox", "--json"], home)
    assert listed.returncode == 0, listed.stderr
    assert "made-by-another-client" in [e["name"] for e in json.loads(listed.stdout)]


def test_both_default_to_the_state_folder(monkeypatch):
    from rdeploy_tui.locations import state_dir
    from rdeploy_tui.sandbox.server import default_state_dir

    monkeypatch.delenv("RDEPLOY_HOME", raising=False)
    assert default_state_dir() == state_dir() / "sandbox"
