"""The cost guard on the CLI: `endpoints sweep` deletes the expired endpoint and keeps the other; `endpoints list`
shows what each bills now (the sandbox's price API) and the time left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from rdeploy_tui.pipeline.expiry import TAG, expiry_tag, is_expired, time_left

pytestmark = pytest.mark.sandbox


def test_expiry_tags_read_and_written():
    now = 1_800_000_000.0
    tag = expiry_tag("8h", now)
    assert tag == {TAG: "2027-01-15T16:00:00Z"}
    assert time_left(tag, now) == "8h 0m left" and not is_expired(tag, now)
    assert time_left(tag, now + 9 * 3600) == "expired 1h 0m ago" and is_expired(tag, now + 9 * 3600)
    assert expiry_tag(None) == {} and time_left({}) == "-"


def _cli(home, *args):
    env = {**os.environ, "RDEPLOY_HOME": str(home), "RDEPLOY_SANDBOX_TIME_SCALE": "0.003"}
    env.pop("REQUESTS_CA_BUNDLE", None)
    return subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", *args, "--sandbox"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=180,
    )


def test_sweep_deletes_the_expired_endpoint_only(tmp_path, monkeypatch):
    from rdeploy_tui import azure

    home = tmp_path / "h"
    monkeypatch.setenv("RDEPLOY_HOME", str(home))
    monkeypatch.setenv("RDEPLOY_SANDBOX_TIME_SCALE", "0.003")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", os.environ.get("REQUESTS_CA_BUNDLE", ""))
    # two endpoints in the CLI's own sandbox (its state under RDEPLOY_HOME): one expired an hour ago, one with 8 h left
    from rdeploy_tui import launch
    from rdeploy_tui.sandbox import arm

    where = (arm.DEFAULT_SUBSCRIPTION, arm.DEFAULT_RESOURCE_GROUP, arm.DEFAULT_WORKSPACE)
    with launch.connect(azure.ConnectionOptions(sandbox=True)) as session:
        ws = azure.Workspace.open(session, *where)
        endpoints = azure.Endpoints(ws)
        endpoints.create_or_update_endpoint(
            "ep-expired", "key", tags=expiry_tag("1h", time.time() - 7260)
        )  # (the tag rounds up to the minute)
        endpoints.create_or_update_endpoint("ep-kept", "key", tags=expiry_tag("8h"))

    refused = _cli(home, "endpoints", "sweep")
    assert refused.returncode == 2 and "--yes" in refused.stderr and "Traceback" not in refused.stderr

    listed = json.loads(_cli(home, "endpoints", "list", "--json").stdout)
    expiry = {e["name"]: e["expiry"] for e in listed}
    assert expiry["ep-expired"].startswith("expired 1h") and expiry["ep-kept"].endswith("left")
    assert all(e["bills"] == "no deployments: no compute bill" for e in listed)

    swept = _cli(home, "endpoints", "sweep", "--yes")
    assert swept.returncode == 0, swept.stdout + swept.stderr
    assert "Deleted ep-expired" in swept.stdout
    assert [e["name"] for e in json.loads(_cli(home, "endpoints", "list", "--json").stdout)] == ["ep-kept"]
    again = _cli(home, "endpoints", "sweep", "--yes")
    assert again.returncode == 0 and "No expired endpoints" in again.stdout


@pytest.mark.r
def test_deploy_tags_the_expiry_and_prices_the_deployment(session, make_spec, cleanup):
    from rdeploy_tui.azure import Endpoints, Workspace
    from rdeploy_tui.commands.endpoint_costs import bills_now
    from rdeploy_tui.pipeline.runner import run_deploy
    from rdeploy_tui.sandbox.prices import SIMULATED

    spec = make_spec("cost")
    spec.deployment.expires_after = "2d"
    spec.deployment.instance_count = 2
    spec.deployment.instance_type = "Standard_DS2_v2"
    outcome = run_deploy(spec, session=session, sink=lambda e: None, smoke_score=False)
    ws = Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)
    cleanup.append((ws, spec.endpoint.name))
    assert outcome.status == "succeeded", outcome.summary
    per_hour = SIMULATED["Standard_DS2_v2"][2] * 2
    assert (
        f"Cost while it lives: 2 x Standard_DS2_v2: {per_hour:.2f} USD/hour, {per_hour * 24:.2f} USD/day"
        in outcome.summary
    )
    assert "list price before discounts and taxes" in outcome.summary
    endpoints = Endpoints(ws)
    info = endpoints.show(spec.endpoint.name)
    assert time_left(info.tags) in ("2d 0h left", "1d 23h left") and info.tags.get("created-by") == "rdeploy-tui"
    # the deploy's summary (CLI output, the wizard's finish) says when, from the tag Azure holds, and how to sweep it
    # with the flags that reach this same Azure
    at = info.tags[TAG].replace("T", " ")[:16]
    sweep = session.command("endpoints", "sweep")
    assert f"It expires at {at} UTC: `{sweep}` deletes it after that." in outcome.summary
    assert f"until you delete it: {session.command('endpoints', 'delete', spec.endpoint.name)}." in outcome.summary
    assert outcome.tags[TAG] == info.tags[TAG]
    assert bills_now(session, endpoints, info)["hourly_price"] == pytest.approx(per_hour)


def test_expiry_times_are_never_shown_earlier_than_they_are():
    now = 1_700_000_000.0  # 22:13:20 UTC
    tag = expiry_tag("8h", now)
    assert tag == {TAG: "2023-11-15T06:14:00Z"}  # rounded up to the whole minute: the minute printed is exact
    assert time_left(tag, now) == "8h 1m left"  # what is left is rounded up, never "7h 59m" for a fresh 8h
    assert time_left(tag, now + 8 * 3600 + 30) == "1m left"  # 10 s
    assert time_left(tag, now + 8 * 3600 + 41) == "expired 0m ago"
    assert expiry_tag("0h", now) == {TAG: None}  # no expiry: an earlier tag is removed on deploy
