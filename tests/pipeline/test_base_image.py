"""The base image through the pipeline and the real SDKs: copied into the workspace registry before the first build
(so Docker Hub's anonymous pull limit does not reach the build), `--base-from-docker-hub`, and a failed import."""
from __future__ import annotations

import pytest

from rdeploy_tui.pipeline import plan as P
from rdeploy_tui.pipeline.events import LogLines, StepFailed, StepProgress
from rdeploy_tui.pipeline.runner import run_deploy

pytestmark = [pytest.mark.sandbox]


def _workspace(session, spec):
    from rdeploy_tui.azure import Workspace

    return Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)


def _build_log(recorder) -> str:
    return "\n".join(line for event in recorder.of(LogLines, P.BUILD) for line in event.lines)


@pytest.mark.r
def test_the_build_pulls_the_workspace_copy_so_the_docker_hub_limit_does_not_matter(session, sandbox, make_spec, recorder, cleanup):
    spec = make_spec("hubcopy")
    sandbox.faults.arm("dockerhub-rate-limit", match=r"^FROM ")  # every build's pull from Docker Hub is refused
    outcome = run_deploy(spec, session=session, sink=recorder, force_build=True)
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    assert outcome.status == "succeeded", outcome.summary
    login = _workspace(session, spec).registry().login_server
    assert f"Status: Downloaded newer image for {login}/base/rstudio/plumber:v1.3.0" in _build_log(recorder)
    progress = [e.message for e in recorder.of(StepProgress, P.BUILD)]
    assert any("copying docker.io/rstudio/plumber:v1.3.0" in m for m in progress)
    # the next build finds the copy there and does not import again
    again = make_spec("hubcopy2")
    again.image.r_packages = ["forecast"]  # another tag: a real build
    second = run_deploy(again, session=session, sink=recorder)
    cleanup.append((_workspace(session, again), again.endpoint.name))
    assert second.status == "succeeded", second.summary
    assert any("already in" in e.message and "import skipped" in e.message for e in recorder.of(StepProgress, P.BUILD))


def test_from_docker_hub_on_request_meets_the_limit(session, sandbox, make_spec, recorder, cleanup):
    spec = make_spec("hubdirect")
    sandbox.faults.arm("dockerhub-rate-limit", match=r"^FROM ")
    outcome = run_deploy(spec, session=session, sink=recorder, force_build=True, base_from_docker_hub=True)
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    assert outcome.status == "failed"
    assert "toomanyrequests: You have reached your pull rate limit" in _build_log(recorder)


def test_a_base_image_that_cannot_be_imported_says_why_and_offers_docker_hub(session, sandbox, make_spec, recorder, cleanup):
    spec = make_spec("noimport")
    spec.image.base = "rocker/r-ver:9.9.9"
    outcome = run_deploy(spec, session=session, sink=recorder, force_build=True)
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    [failure] = [e for e in recorder.of(StepFailed) if e.step == P.BUILD]
    assert failure.code == "BaseImportFailed" and "rocker/r-ver:9.9.9" in failure.what
    assert "--base-from-docker-hub" in failure.next_step and "not found" in failure.details
    assert outcome.status == "failed"
