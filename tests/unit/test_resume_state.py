"""The resume state is the fold of the events (state.reduce) and the file is that fold, written atomically."""

from __future__ import annotations

import json

import pytest

from rdeploy_tui.pipeline.events import (
    BuildRunStarted,
    DeploymentReady,
    DeploymentRequested,
    LogLines,
    MirrorSet,
    PlanFinished,
    RollbackStarted,
    RolloutPlanned,
    RunStarted,
    StageMeasured,
    StepFailed,
    StepFinished,
    StepProgress,
    StepStarted,
    TrafficMoved,
)
from rdeploy_tui.pipeline.state import ResumeStore, endpoint_key, fold, initial, reduce, target_key

TARGET = target_key("s", "rg", "ws", "ep", "blue")
ENDPOINT = endpoint_key("s", "rg", "ws", "ep")


def _measured(step: str, verdict: str | None = None) -> StageMeasured:
    return StageMeasured(step, "blue", "green", 10, 0, 10, 0, 10.0, 12.0, 11.0, 13.0, 10, 0, verdict)


def test_a_deploy_killed_during_its_build_leaves_the_run_id_for_the_next_run():
    state = fold(
        [
            RunStarted("deploy", TARGET),
            StepStarted("prepare", "Check"),
            StepFinished("prepare", "done", "model m:1"),
            StepStarted("build-image", "Build"),
            BuildRunStarted("build-image", "ca7", "acr.azurecr.io/r:1"),
            LogLines("build-image", "build", ("Step 1/7",)),
        ],
        initial("deploy", TARGET),
    )
    assert state.status == "running" and state.stopped_during() == ["build-image"]
    assert (state.build.run_id, state.build.image) == ("ca7", "acr.azurecr.io/r:1")
    # the next run starts from it: the facts stay, the step records are its own
    again = reduce(state, RunStarted("deploy", TARGET))
    assert again.build.run_id == "ca7" and again.steps == {} and again.status == "running"


def test_progress_and_log_lines_change_nothing():
    state = reduce(initial("deploy", TARGET), RunStarted("deploy", TARGET))
    assert reduce(state, StepProgress("prepare", "signed in")) is state
    assert reduce(state, LogLines("prepare", "sdk", ("x",))) is state


def test_what_azure_was_sent_and_seen_running():
    state = initial("deploy", TARGET)
    state = reduce(state, DeploymentReady("create-deployment", "blue", "f1"))
    state = reduce(state, DeploymentRequested("create-deployment", "blue", "f2"))
    assert (state.deployment.requested, state.deployment.ready) == ("f2", None)  # sent, not yet seen running
    state = reduce(state, DeploymentReady("create-deployment", "blue", "f2"))
    assert (state.deployment.requested, state.deployment.ready) == ("f2", "f2")


def test_step_outcomes_and_the_run_status():
    state = fold(
        [
            RunStarted("deploy", TARGET),
            StepStarted("build-image", "Build"),
            StepFailed("build-image", "stopped", code="Cancelled"),
            StepStarted("create-endpoint", "Endpoint"),
            StepFailed("create-endpoint", "refused", code="AuthorizationFailed"),
            PlanFinished("failed", "Deploy failed"),
        ],
        initial("deploy", TARGET),
    )
    assert state.step("build-image").status == "cancelled"
    assert state.step("create-endpoint").status == "failed" and state.step("create-endpoint").message == "refused"
    assert state.status == "failed"


def test_a_rollout_that_reached_100_percent_is_shifted():
    state = fold(
        [
            RunStarted("rollout", ENDPOINT),
            RolloutPlanned("prepare", "blue", "green"),
            StepStarted("stage-10", "Shift 10"),
            TrafficMoved("stage-10", {"blue": 90, "green": 10}),
            _measured("stage-10"),
            StepFinished("stage-10", "done", "ok"),
            StepStarted("stage-100", "Shift 100"),
            TrafficMoved("stage-100", {"blue": 0, "green": 100}),
            _measured("stage-100"),
        ],
        initial("rollout", ENDPOINT),
    )
    r = state.rollout
    assert r.traffic == {"green": 100} and r.stage == 100 and r.passed == 10 and not r.shifted
    assert [s["step"] for s in r.stages] == ["stage-10", "stage-100"]
    r = reduce(state, StepFinished("stage-100", "done", "ok")).rollout
    assert r.shifted and not r.retired


def test_a_rollback_begun_and_finished():
    state = fold(
        [RunStarted("rollout", ENDPOINT), RolloutPlanned("prepare", "blue", "green"), MirrorSet("mirror", "green", 20)],
        initial("rollout", ENDPOINT),
    )
    assert state.rollout.mirror == 20
    state = reduce(state, RollbackStarted("rollback", "error rate 50%", "stage-10"))
    assert state.rollout.rollback_reason == "error rate 50%" and not state.rollout.rolled_back
    assert reduce(state, StepFinished("rollback", "done", "blue takes all")).rollout.rolled_back


def test_a_new_rollout_forgets_the_last_one_a_resumed_one_keeps_it():
    state = fold(
        [
            RunStarted("rollout", ENDPOINT),
            RolloutPlanned("prepare", "blue", "green"),
            _measured("stage-10"),
            StepFinished("stage-10", "done"),
        ],
        initial("rollout", ENDPOINT),
    )
    kept = reduce(state, RolloutPlanned("prepare", "blue", "green", resumed=True)).rollout
    assert kept.passed == 10 and len(kept.stages) == 1
    fresh = reduce(state, RolloutPlanned("prepare", "green", "blue")).rollout
    assert (fresh.old, fresh.new, fresh.passed, fresh.stages) == ("green", "blue", 0, ())


def test_the_file_is_the_fold_and_reads_back_equal(tmp_path):
    store = ResumeStore(tmp_path)
    state = fold(
        [
            RunStarted("rollout", ENDPOINT),
            RolloutPlanned("prepare", "blue", "green"),
            TrafficMoved("stage-10", {"blue": 90, "green": 10}),
            _measured("stage-10", "p50 latency 90 ms"),
            RollbackStarted("rollback", "p50 latency 90 ms", "stage-10"),
        ],
        initial("rollout", ENDPOINT),
    )
    store.save(state)
    loaded = store.load(ENDPOINT)
    assert loaded is not None
    assert (loaded.rollout, loaded.steps, loaded.status, loaded.kind) == (
        state.rollout,
        state.steps,
        state.status,
        "rollout",
    )
    assert [p.name for p in tmp_path.iterdir()] == [store.path(ENDPOINT).name]  # no temp file left
    saved = json.loads(store.path(ENDPOINT).read_text())
    assert "token" not in json.dumps(saved).lower() and saved["rollout"]["traffic"] == {"blue": 90, "green": 10}


def test_a_state_file_of_the_first_format_is_no_state(tmp_path):
    store = ResumeStore(tmp_path)
    path = store.path(TARGET)
    path.write_text(json.dumps({"format": 1, "target": TARGET, "steps": {}, "status": "running"}))
    assert store.load(TARGET) is None and path.exists()  # another version's file: rewritten by the next run


@pytest.mark.parametrize(
    "content", ["[]", "{not json", '{"format": 2, "target": "x", "kind": "deploy"}', "[" * 100_000]
)
def test_a_corrupt_file_is_moved_aside_with_a_notice(tmp_path, content):
    store = ResumeStore(tmp_path)
    path = store.path(TARGET)
    path.write_text(content)
    assert store.load(TARGET) is None
    assert not path.exists() and len(list(tmp_path.glob(path.name + ".corrupt-*"))) == 1
    assert str(path) in store.notices[0]


def test_a_huge_file_is_not_read(tmp_path):
    store = ResumeStore(tmp_path)
    path = store.path(TARGET)
    path.write_bytes(b" " * (5 * 1024 * 1024))
    assert store.load(TARGET) is None and "a resume file may be at most" in store.notices[0]
