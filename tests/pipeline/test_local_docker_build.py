"""When ACR Tasks is not allowed, the deploy builds with this machine's Docker engine and pushes to the workspace
registry (issue 13.7). No engine runs on the test machines: `docker` is tests/docker_double.py, whose login and push
really talk to the sandbox's registry (challenge, token with the exchanged refresh token, blob uploads, manifest), so
a wrong token exchange or a wrong registry fails these tests."""

from __future__ import annotations

import json
import threading

import pytest
from docker_double import install

from rdeploy_tui.pipeline import plan as P
from rdeploy_tui.pipeline.events import LogLines, StepFailed, StepFinished
from rdeploy_tui.pipeline.runner import run_deploy

pytestmark = [pytest.mark.sandbox]


@pytest.fixture
def docker_double(tmp_path, monkeypatch, sandbox):
    install(tmp_path, monkeypatch, sandbox)
    return tmp_path / "docker-double-home"


def _workspace(session, spec):
    from rdeploy_tui.azure import Workspace

    return Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)


def _build_lines(recorder) -> list[str]:
    return [line for event in recorder.of(LogLines, P.BUILD) for line in event.lines]


def _failed(recorder, step):
    failures = recorder.of(StepFailed, step)
    assert failures, f"{step} did not fail; events: {recorder.events}"
    return failures[0]


@pytest.mark.r
def test_tasks_not_allowed_builds_locally_pushes_and_serves(
    session, sandbox, make_spec, recorder, cleanup, docker_double, monkeypatch
):
    spec = make_spec("local")
    sandbox.faults.arm("tasks-not-allowed", count=1)
    outcome = run_deploy(spec, session=session, sink=recorder, force_build=True)
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    assert outcome.status == "succeeded", outcome.summary
    built = recorder.of(StepFinished, P.BUILD)[0]
    assert built.status == "done" and "local Docker engine" in built.message
    lines = _build_lines(recorder)
    # docker's own output streamed into the build log: login, build, push
    assert "Login Succeeded" in lines and any("naming to" in line for line in lines)
    assert any(line.endswith(": Pushed") for line in lines) and any(": digest: sha256:" in line for line in lines)
    # the sandbox knows the pushed image and the deployment ran it: the smoke score came from its plumber
    server, _, rest = outcome.image.partition("/")
    repository, _, tag = rest.rpartition(":")
    image = sandbox.images.get_image(server, repository, tag)
    assert image is not None and image.metadata["pushed"] and image.metadata["start_script"] == "tmp/start_plumber.R"
    assert outcome.score is not None and outcome.score.status == 200
    # the refresh token reached docker (its credential store, as after `az acr login`) and nothing of ours
    stored = json.loads((docker_double / "config.json").read_text())["auths"][server]["auth"]
    import base64

    password = base64.b64decode(stored).decode().partition(":")[2]
    assert len(password) > 20
    assert password not in outcome.log_file.read_text()
    assert all(password not in line for line in lines)
    # deployed again, without ACR Tasks nor an engine: the tag is in the registry (HEAD manifest), nothing to build
    monkeypatch.setenv("DOCKER_DOUBLE_NO_ENGINE", "1")
    sandbox.faults.arm("tasks-not-allowed", count=1)
    again = type(recorder)()
    second = run_deploy(spec, session=session, sink=again)
    assert second.status == "succeeded", second.summary
    skipped = again.of(StepFinished, P.BUILD)[0]
    assert skipped.status == "skipped" and "already in the registry" in skipped.message


def test_no_engine_explains_the_two_ways_forward(
    session, sandbox, make_spec, recorder, cleanup, docker_double, monkeypatch
):
    monkeypatch.setenv("DOCKER_DOUBLE_NO_ENGINE", "1")
    spec = make_spec("noengine")
    sandbox.faults.arm("tasks-not-allowed", count=1)
    outcome = run_deploy(spec, session=session, sink=recorder, force_build=True)
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    failure = _failed(recorder, P.BUILD)
    assert failure.code == "TasksOperationsNotAllowed" and outcome.status == "failed"
    assert "No Docker engine" in failure.next_step and "pay-as-you-go" in failure.next_step
    assert "rdeploy-tui deploy --image" in failure.next_step


def test_push_denied_names_the_role(session, sandbox, make_spec, recorder, cleanup, docker_double):
    spec = make_spec("denied")
    sandbox.faults.arm("tasks-not-allowed", count=1)
    sandbox.faults.arm("registry-push-denied")  # cleared by the fixture
    outcome = run_deploy(spec, session=session, sink=recorder, force_build=True)
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    failure = _failed(recorder, P.BUILD)
    assert failure.code == "PushDenied" and "AcrPush" in failure.next_step
    assert "denied: requested access to the resource is denied" in failure.details
    assert outcome.status == "failed"


def test_a_failed_local_build_shows_its_log(session, sandbox, make_spec, recorder, cleanup, docker_double, monkeypatch):
    monkeypatch.setenv("DOCKER_DOUBLE_BUILD_FAIL", "1")
    spec = make_spec("lbfail")
    sandbox.faults.arm("tasks-not-allowed", count=1)
    outcome = run_deploy(spec, session=session, sink=recorder, force_build=True)
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    failure = _failed(recorder, P.BUILD)
    assert failure.code == "BuildFailed" and "did not complete successfully" in failure.details
    assert any("ERROR" in line for line in _build_lines(recorder))
    assert outcome.status == "failed"


def test_cancel_stops_the_local_build(
    session, sandbox, make_spec, recorder, cleanup, docker_double, monkeypatch, tmp_path
):
    release = tmp_path / "release-the-build"
    monkeypatch.setenv("DOCKER_DOUBLE_BUILD_WAIT", str(release))
    spec = make_spec("lcancel")
    sandbox.faults.arm("tasks-not-allowed", count=1)
    cancel = threading.Event()
    result: dict = {}
    worker = threading.Thread(
        target=lambda: result.update(
            outcome=run_deploy(spec, session=session, sink=recorder, cancel=cancel, force_build=True)
        )
    )
    worker.start()
    try:
        in_run = recorder.wait_for(
            lambda e: isinstance(e, LogLines) and e.step == P.BUILD and any("RUN" in line for line in e.lines)
        )
        assert in_run, recorder.events  # the build is in its long RUN
        cancel.set()
        worker.join(timeout=60)
        assert not worker.is_alive()
    finally:
        release.touch()  # never leave the double waiting
        worker.join(timeout=60)
    cleanup.append((_workspace(session, spec), spec.endpoint.name))
    assert result["outcome"].status == "cancelled"
    assert _failed(recorder, P.BUILD).code == "Cancelled"
