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
def test_the_build_pulls_the_workspace_copy_so_the_docker_hub_limit_does_not_matter(
    session, sandbox, make_spec, recorder, cleanup
):
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


def test_a_base_image_that_cannot_be_imported_says_why_and_offers_docker_hub(
    session, sandbox, make_spec, recorder, cleanup
):
    spec = make_spec("noimport")
    spec.image.base = "rocker/r-ver:9.9.9"
    outcome = run_deploy(spec, session=session, sink=recorder, force_build=True)
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    [failure] = [e for e in recorder.of(StepFailed) if e.step == P.BUILD]
    assert failure.code == "BaseImportFailed" and "rocker/r-ver:9.9.9" in failure.what
    assert "--base-from-docker-hub" in failure.next_step and "not found" in failure.details
    assert outcome.status == "failed"


def test_without_acr_tasks_the_way_forward_is_named(session, sandbox, make_spec, recorder, cleanup):
    spec = make_spec("notasks")
    sandbox.faults.arm("tasks-not-allowed", count=1)
    outcome = run_deploy(spec, session=session, sink=recorder, force_build=True)
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    [failure] = [e for e in recorder.of(StepFailed) if e.step == P.BUILD]
    assert failure.code == "TasksOperationsNotAllowed" and outcome.status == "failed"
    assert "pay-as-you-go" in failure.next_step and "docker build" in failure.next_step
    assert "rdeploy-tui deploy --image" in failure.next_step and "Docker engine answers" in failure.next_step


@pytest.mark.r
def test_deploy_image_skips_the_build_and_deploys_that_image(session, sandbox, make_spec, recorder, cleanup):
    from rdeploy_tui.deploy_folder.render import render
    from rdeploy_tui.pipeline.events import StepFinished

    spec = make_spec("byimage")
    spec.image.r_packages = ["notapkg123"]  # not checked: the image was built elsewhere
    login = _workspace(session, spec).registry().login_server
    sandbox.images.record_image(
        login, "built-elsewhere", "1", render(make_spec("x")).docker_context(), metadata={"entrypoint_reset": True}
    )
    sandbox.faults.arm("tasks-not-allowed")  # ACR Tasks refused: nothing may be built
    try:
        outcome = run_deploy(
            spec, session=session, sink=recorder, image=f"{login}/built-elsewhere:1", smoke_score=False
        )
    finally:
        sandbox.faults.clear("tasks-not-allowed")
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    assert outcome.status == "succeeded", outcome.summary
    assert outcome.image == f"{login}/built-elsewhere:1"
    build = recorder.of(StepFinished, P.BUILD)[0]
    assert build.status == "skipped" and "given with --image" in build.message


def test_deploy_refuses_an_image_reference_that_is_not_one(tmp_path, capsys):
    from rdeploy_tui.cli import main
    from rdeploy_tui.spec.deploy_spec import DeploySpec, save_spec

    save_spec(DeploySpec(), tmp_path / "rdeploy.yaml")
    assert main(["deploy", "--spec", str(tmp_path / "rdeploy.yaml"), "--yes", "--image", "Not An Image"]) == 2
    assert "--image: image 'Not An Image' is not a Docker image reference" in capsys.readouterr().err
