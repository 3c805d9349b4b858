"""`rdeploy-tui endpoints metrics` and `endpoints autoscale` as a user runs them: fresh processes on the in-process
sandbox, a table or JSON, bad flags refused before anything reaches Azure, and neither importing azure.ai.ml."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.sandbox

_PROBE = """
import json, sys
from rdeploy_tui.cli import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "azure.ai.ml": "azure.ai.ml" in sys.modules}), file=sys.stderr)
"""


def _run(home, *args: str) -> tuple[dict, subprocess.CompletedProcess]:
    env = {**os.environ, "RDEPLOY_HOME": str(home), "RDEPLOY_SANDBOX_TIME_SCALE": "0.003"}
    env.pop("REQUESTS_CA_BUNDLE", None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stderr.strip().splitlines()[-1]), done


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--max", "3", "--cpu-out", "50", "--cpu-in", "30"], "--cpu-in: a scale-in from 2 to 1 instance"),
        (["--min", "4", "--max", "2"], "--max: max 2 is below min 4"),
        (["--max", "3", "--minutes", "2"], "--minutes: time window (minutes) 2 is out of range: use 5 to 720"),
        (["--max", "3", "--latency-out", "200"], "Latency rules come in pairs"),
        (["--cpu-out", "20"], "Autoscale needs --max"),
        (["--off", "--max", "2"], "--off takes no other autoscale flags"),
    ],
)
def test_bad_autoscale_flags_are_refused_before_anything_reaches_azure(tmp_path, flags, words):
    home = tmp_path / "h"
    result, done = _run(home, "endpoints", "autoscale", "any-endpoint", "--sandbox", *flags)
    assert result["rc"] == 2 and words in done.stderr, done.stderr
    assert "nothing was sent to Azure" in done.stderr or "Next:" in done.stderr
    assert not (home / "sandbox").exists()  # no sandbox was even started


@pytest.mark.r
def test_metrics_and_autoscale_of_a_deployed_endpoint(tmp_path):
    home, folder = tmp_path / "h", tmp_path / "app"
    from rdeploy_tui.spec.deploy_spec import default_spec, save_spec

    spec = default_spec()
    spec.endpoint.name = "cli-health"
    spec.deployment.instance_type = "Standard_DS2_v2"
    folder.mkdir()
    save_spec(spec, folder / "rdeploy.yaml")
    where = ("--spec", str(folder / "rdeploy.yaml"), "--sandbox")  # the spec names the workspace
    result, done = _run(home, "deploy", "--yes", *where)
    assert result["rc"] == 0, done.stdout + done.stderr
    for _ in range(3):
        scored, done = _run(home, "endpoints", "score", "cli-health", "--data", '{"forecast_horizon": [2]}', *where)
        assert scored["rc"] == 0, done.stderr

    shown, done = _run(home, "endpoints", "metrics", "cli-health", "--since", "24h", *where)
    assert shown == {"rc": 0, "azure.ai.ml": False}, done.stderr
    text = done.stdout
    assert text.startswith("Health of endpoint cli-health through deployment blue, last 24h in 15-minute grains")
    assert "requests/min" in text and "latency p95 ms" in text and "CPU % blue-" in text and "instances" in text
    assert "autoscale: off (no setting)" in text

    _, done = _run(home, "endpoints", "metrics", "cli-health", "--json", *where)
    data = json.loads(done.stdout)
    assert data["deployment"] == "blue" and data["interval"] == "PT1M" and len(data["times"]) in (60, 61)
    assert any(v for v in data["requests_per_minute_by_class"]["2xx"] if v)
    assert data["autoscale"] is None

    set_it, done = _run(
        home, "endpoints", "autoscale", "cli-health", "--max", "3", "--cpu-out", "40", "--cpu-in", "15", *where
    )
    assert set_it == {"rc": 0, "azure.ai.ml": False}, done.stderr
    assert "autoscale on: setting autoscale-cli-health-blue" in done.stdout
    assert "CpuUtilizationPercentage > 40 %" in done.stdout and "CpuUtilizationPercentage < 15 %" in done.stdout

    # A max beyond the sandbox's 32-vCPU quota: set, with a warning naming the count that fits.
    too_many, done = _run(home, "endpoints", "autoscale", "cli-health", "--max", "50", *where)
    assert too_many["rc"] == 0 and "Warning: at its max of 50 instances Standard_DS2_v2 needs" in done.stderr
    assert "scale-outs past 13 instances will fail (OutOfQuota)" in done.stderr
    _run(home, "endpoints", "autoscale", "cli-health", "--max", "3", "--cpu-out", "40", "--cpu-in", "15", *where)

    shown, done = _run(home, "endpoints", "autoscale", "cli-health", "--json", *where)
    setting = json.loads(done.stdout)["autoscale"]
    assert setting["enabled"] and setting["profiles"][0]["maximum"] == 3

    off, done = _run(home, "endpoints", "autoscale", "cli-health", "--off", *where)
    assert off["rc"] == 0 and done.stdout.startswith("autoscale off (the setting is kept")
    _, done = _run(home, "endpoints", "metrics", "cli-health", *where)
    assert "autoscale off (the setting is kept" in done.stdout
