"""The whole plan against the sandbox with the real SDKs: success, skips, and a scored request."""

from __future__ import annotations

import pytest

from rdeploy_tui.pipeline import plan as P
from rdeploy_tui.pipeline.events import LogLines, PlanFinished, StepFinished, StepStarted
from rdeploy_tui.pipeline.runner import run_deploy

pytestmark = [pytest.mark.sandbox, pytest.mark.r]


def test_deploy_reaches_a_scored_request_and_prints_nothing(session, make_spec, recorder, cleanup, capfd):
    from rdeploy_tui.azure import Endpoints, Workspace

    spec = make_spec("ok")
    # The sandbox is shared: another test may have built this tag already. This test is about the build
    # running beside the endpoint, so it builds (skipping an existing tag is tested on its own).
    outcome = run_deploy(spec, session=session, sink=recorder, force_build=True)
    ws = Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)
    cleanup.append((ws, spec.endpoint.name))

    assert outcome.status == "succeeded", outcome.summary
    assert outcome.score.status == 200
    assert isinstance(outcome.score.body, list) and "forecast" in outcome.score.body[0]
    assert outcome.model == "forecast-model:1"  # "latest" resolved to a number before deploying
    assert "bills per instance-hour" in outcome.summary and f"endpoints delete {spec.endpoint.name}" in outcome.summary

    # build and endpoint ran side by side: both started before either finished
    order = [(type(e).__name__, e.step) for e in recorder.events if isinstance(e, (StepStarted, StepFinished))]
    first_finish = min(order.index(("StepFinished", P.BUILD)), order.index(("StepFinished", P.ENDPOINT)))
    assert (
        order.index(("StepStarted", P.BUILD)) < first_finish and order.index(("StepStarted", P.ENDPOINT)) < first_finish
    )
    # the deployment only after both
    assert order.index(("StepStarted", P.DEPLOYMENT)) > max(
        order.index(("StepFinished", P.BUILD)), order.index(("StepFinished", P.ENDPOINT))
    )
    # the smoke score (the deployment by name) runs while the traffic update does, both after the deployment
    assert order.index(("StepStarted", P.SMOKE)) < order.index(("StepFinished", P.TRAFFIC))
    assert order.index(("StepStarted", P.SMOKE)) > order.index(("StepFinished", P.DEPLOYMENT))
    sources = {e.source for e in recorder.of(LogLines)}
    assert {"build", "inference-server", "storage-initializer", "score"} <= sources
    assert isinstance(recorder.events[-1], PlanFinished) and recorder.events[-1].status == "succeeded"

    info = Endpoints(ws).show(spec.endpoint.name)
    assert info.traffic == {"blue": 100}
    assert [d.image for d in info.deployments] == [outcome.image]  # the image, not the environment's ARM id
    out, err = capfd.readouterr()
    assert out == "" and err == "", "the SDKs wrote to the terminal"


def test_second_deploy_skips_the_build_and_the_unchanged_deployment(session, make_spec, recorder, cleanup):
    from rdeploy_tui.azure import Endpoints, Workspace

    spec = make_spec("again")
    first = run_deploy(spec, session=session, sink=lambda e: None, force_build=True)
    ws = Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)
    cleanup.append((ws, spec.endpoint.name))
    assert first.status == "succeeded", first.summary

    second = run_deploy(spec, session=session, sink=recorder)
    assert second.status == "succeeded", second.summary
    build = recorder.of(StepFinished, P.BUILD)[0]
    assert build.status == "skipped" and "already in the registry" in build.message
    assert not recorder.of(LogLines, P.BUILD)
    assert recorder.of(StepFinished, P.DEPLOYMENT)[0].status == "skipped"
    assert [e.name for e in Endpoints(ws).list()].count(spec.endpoint.name) == 1

    # unchanged stays skipped run after run (issue 15: a recorded "skipped" made every second run re-send it,
    # a rolling update of a live deployment on Azure)
    again: list = []
    assert run_deploy(spec, session=session, sink=again.append).status == "succeeded"
    assert [e.status for e in again if isinstance(e, StepFinished) and e.step == P.DEPLOYMENT] == ["skipped"]

    # a changed setting updates the deployment in place (create-or-update), still without a build
    spec.deployment.request_timeout_ms = 9000
    third = run_deploy(spec, session=session, sink=recorder)
    assert third.status == "succeeded", third.summary
    assert recorder.of(StepFinished, P.DEPLOYMENT)[-1].status == "done"


def test_scoring_error_424_carries_the_model_status(session, make_spec, cleanup):
    from rdeploy_tui.azure import Workspace, score
    from rdeploy_tui.errors import RdeployError

    spec = make_spec("s424")
    outcome = run_deploy(spec, session=session, sink=lambda e: None, smoke_score=False)
    ws = Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)
    cleanup.append((ws, spec.endpoint.name))
    assert outcome.status == "succeeded", outcome.summary
    with pytest.raises(RdeployError) as caught:
        score(ws, spec.endpoint.name, {})  # plumber answers 500/400 to an empty body; Azure turns it into 424
    assert caught.value.code == "ModelError"
    assert "424" in caught.value.what and "answered HTTP" in caught.value.what
    assert "endpoints logs" in caught.value.next_step
