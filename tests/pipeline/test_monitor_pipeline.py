"""Azure Monitor in the pipeline, on the sandbox with the real SDKs: a spec's deployment.autoscale is applied by
deploy, and a rollout's stage report carries Azure Monitor's figures for both deployments beside its load test."""

from __future__ import annotations

import json

import pytest

from rdeploy_tui.pipeline import plan as P
from rdeploy_tui.pipeline.events import StepFinished
from rdeploy_tui.pipeline.rollout import run_rollout
from rdeploy_tui.pipeline.runner import run_deploy
from rdeploy_tui.spec.deploy_spec import AutoscaleSpec, ScaleRuleSpec

pytestmark = [pytest.mark.sandbox, pytest.mark.r]


def test_deploy_applies_the_specs_autoscale_once_the_deployment_exists(session, make_spec, recorder, cleanup):
    from rdeploy_tui.azure import Workspace
    from rdeploy_tui.azure.autoscale import read_autoscale

    spec = make_spec("scale")
    spec.deployment.instance_type = "Standard_DS2_v2"
    spec.deployment.autoscale = AutoscaleSpec(
        min=1, max=2, scale_out=ScaleRuleSpec(threshold=40), scale_in=ScaleRuleSpec(threshold=10, minutes=10)
    )
    assert P.make_plan(spec).step(P.AUTOSCALE).needs == (P.DEPLOYMENT,)
    outcome = run_deploy(spec, session=session, sink=recorder, smoke_score=False)
    ws = Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)
    cleanup.append((ws, spec.endpoint.name))
    assert outcome.status == "succeeded", outcome.summary
    # what it costs now, and at the ceiling autoscale may reach (each instance bills as the first)
    assert "Cost while it lives: 1 x Standard_DS2_v2" in outcome.summary
    assert "Autoscaled to its maximum: 2 x Standard_DS2_v2" in outcome.summary
    finished = recorder.of(StepFinished, P.AUTOSCALE)
    assert [e.status for e in finished] == ["done"]
    assert f"setting autoscale-{spec.endpoint.name}-blue" in finished[0].message
    assert "CpuUtilizationPercentage > 40 %" in finished[0].message
    info = read_autoscale(ws, spec.endpoint.name, "blue")
    assert info is not None and info.enabled
    profile = info.default_profile
    assert (profile.minimum, profile.maximum, profile.default) == (1, 2, 1)
    assert [(r.direction, r.threshold, r.window_minutes) for r in profile.rules] == [
        ("Increase", 40.0, 5),
        ("Decrease", 10.0, 10),
    ]


def test_a_spec_without_autoscale_has_no_autoscale_step(make_spec):
    assert P.AUTOSCALE not in P.make_plan(make_spec("plain")).ids


def test_the_rollout_stage_report_shows_azure_monitors_figures_for_both_deployments(
    session, make_spec, cleanup, recorder
):
    from rdeploy_tui.azure import Workspace

    spec = make_spec("roll-mon")
    first = run_deploy(spec, session=session, sink=lambda e: None, smoke_score=False)
    ws = Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)
    cleanup.append((ws, spec.endpoint.name))
    assert first.status == "succeeded", first.summary
    spec.rollout.steps = [50, 100]
    spec.rollout.hold_seconds = 0
    spec.rollout.requests_per_stage = 8
    spec.rollout.latency_slack_ms = 5000
    outcome = run_rollout(spec, session=session, sink=recorder)
    assert outcome.status == "succeeded", outcome.summary
    closing = [e.message for e in recorder.of(StepFinished) if e.step == "stage-50"]
    assert len(closing) == 1 and " · Azure Monitor: green: " in closing[0] and "; blue: " in closing[0], closing
    report = json.loads(outcome.report_file.read_text())
    figures = report["stages"][0]["azure_monitor"]
    assert set(figures) == {"green", "blue"}
    for name in ("green", "blue"):
        assert figures[name]["requests_per_minute"] > 0 and figures[name]["error_share"] == 0
        assert 0 < figures[name]["p50_ms"] <= figures[name]["p95_ms"]
