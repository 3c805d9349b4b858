"""The run engine on its own (pipeline/engine.py): steps of our own making, a real state folder, no Azure. What is
judged is the engine: order and parallelism, failure, cancel, the log's redaction, the resume state as the fold of
the events, and that a run whose progress could not be saved never reports success."""

from __future__ import annotations

import json
import threading

import pytest

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.pipeline.engine import Engine, MachineLock, Outcome, Step, StepSkipped, check_state_folder
from rdeploy_tui.pipeline.events import (
    BuildRunStarted,
    LogLines,
    PlanFinished,
    StepFailed,
    StepFinished,
    StepProgress,
    StepStarted,
)
from rdeploy_tui.pipeline.state import ResumeStore, target_key

TARGET = target_key("s", "rg", "ws", "ep", "blue")
WAIT = 30  # a deadline for threads, never a pause


class Recorder(list):
    def __call__(self, event) -> None:
        self.append(event)

    def of(self, kind) -> list:
        return [e for e in self if isinstance(e, kind)]


class FreeLock:
    def acquire(self) -> None:
        pass

    def release(self) -> None:
        pass


def _engine(rdeploy_home, sink, *, store=None, lock=None, cancel=None) -> Engine:
    return Engine(
        kind="deploy",
        title="Deploy",
        target=TARGET,
        store=store or ResumeStore(rdeploy_home / "deployments"),
        lock=lock or FreeLock(),
        log_name="ep",
        sink=sink,
        cancel=cancel,
    )


def _ran(engine: Engine, steps, context=None, **kwargs) -> Outcome:
    def body() -> Outcome:
        result = engine.run_steps(steps, context, **kwargs)
        status = "failed" if result.failures else "cancelled" if result.cancelled else "succeeded"
        return Outcome(
            status,
            f"{status}: {sorted(result.finished)}",
            "ep",
            "blue",
            error=result.error,
            step_seconds=result.seconds,
        )

    return engine.run(body)


def test_steps_run_after_what_they_need_and_side_by_side_when_independent(rdeploy_home):
    events = Recorder()
    both = threading.Barrier(2, timeout=WAIT)  # passes only when build and endpoint run at the same time

    def side_by_side(_):
        both.wait()
        return "ok"

    steps = [
        Step("prepare", "Prepare", lambda _: "ready"),
        Step("build-image", "Build", side_by_side, ("prepare",)),
        Step("create-endpoint", "Endpoint", side_by_side, ("prepare",)),
        Step("create-deployment", "Deployment", lambda _: "up", ("build-image", "create-endpoint")),
    ]
    outcome = _ran(_engine(rdeploy_home, events), steps)
    assert outcome.status == "succeeded", outcome.summary
    started = [e.step for e in events.of(StepStarted)]
    assert started[0] == "prepare" and started[-1] == "create-deployment"
    finished = [e.step for e in events.of(StepFinished)]
    assert finished.index("create-deployment") > max(finished.index("build-image"), finished.index("create-endpoint"))
    assert set(outcome.step_seconds) == {s.id for s in steps}
    assert isinstance(events[-1], PlanFinished) and events[-1].status == "succeeded"


def test_after_a_failure_nothing_starts_and_the_running_step_is_told_to_stop(rdeploy_home):
    events = Recorder()
    engine = _engine(rdeploy_home, events)
    endpoint_started = threading.Event()

    def build(_):
        endpoint_started.wait(WAIT)
        raise RdeployError("The build failed.", "Read its log.", details="ERROR: compilation failed for package ‘x’")

    def endpoint(_):
        endpoint_started.set()
        if not engine.stop.wait(WAIT):
            raise AssertionError("never told to stop")
        raise RdeployError("Stopped waiting for the endpoint.", None, code="Cancelled")

    steps = [
        Step("build-image", "Build", build),
        Step("create-endpoint", "Endpoint", endpoint),
        Step("create-deployment", "Deployment", lambda _: "never", ("build-image", "create-endpoint")),
    ]
    outcome = _ran(engine, steps)
    assert outcome.status == "failed" and outcome.error.what == "The build failed."
    assert "create-deployment" not in [e.step for e in events.of(StepStarted)]
    failed = {e.step: e for e in events.of(StepFailed)}
    assert failed["build-image"].failing_line == "ERROR: compilation failed for package ‘x’"
    assert failed["create-endpoint"].code == "Cancelled"
    saved = ResumeStore(rdeploy_home / "deployments").load(TARGET)
    assert saved.step("build-image").status == "failed" and saved.step("create-endpoint").status == "cancelled"
    assert saved.status == "failed"


def test_a_step_beside_which_the_run_goes_on(rdeploy_home):
    events = Recorder()
    traffic_may_end = threading.Event()

    def smoke(_):
        raise RdeployError("The smoke score failed.")

    def traffic(_):
        traffic_may_end.wait(WAIT)
        return "traffic: blue=100%"

    def after_smoke_failed(event):
        events(event)
        if isinstance(event, StepFailed) and event.step == "smoke-score":
            traffic_may_end.set()

    steps = [Step("route-traffic", "Traffic", traffic), Step("smoke-score", "Smoke", smoke)]
    outcome = _ran(_engine(rdeploy_home, after_smoke_failed), steps, keep_going_after=("smoke-score",))
    assert outcome.status == "failed"
    assert [e.step for e in events.of(StepFinished)] == ["route-traffic"]  # finished, not cancelled


def test_cancel_stops_the_run_and_the_state_says_cancelled(rdeploy_home):
    events = Recorder()
    cancel = threading.Event()
    engine = _engine(rdeploy_home, events, cancel=cancel)

    def waits(_):
        cancel.set()  # the user pressed Ctrl+X / Ctrl+C
        if not engine.stop.wait(WAIT):
            raise AssertionError("never told to stop")
        raise RdeployError("Stopped as asked.", None, code="Cancelled")

    outcome = _ran(engine, [Step("build-image", "Build", waits), Step("x", "After", lambda _: "no", ("build-image",))])
    assert outcome.status == "cancelled"
    assert [e.step for e in events.of(StepStarted)] == ["build-image"]
    assert ResumeStore(rdeploy_home / "deployments").load(TARGET).status == "cancelled"


def test_a_cancel_asked_as_a_step_ends_starts_no_further_step_and_the_run_is_cancelled(rdeploy_home):
    events = Recorder()
    cancel = threading.Event()
    engine = _engine(rdeploy_home, events, cancel=cancel)

    def finishes_while_asked_to_stop(_):
        cancel.set()  # the user's Ctrl+X lands as this step ends well: it is done, the next one must not begin
        return "done"

    steps = [
        Step("stage-10", "First", finishes_while_asked_to_stop),
        Step("stage-50", "Second", lambda _: "must not run", ("stage-10",)),
        Step("retire-old", "Third", lambda _: "must not run", ("stage-50",)),
    ]
    outcome = _ran(engine, steps)
    assert outcome.status == "cancelled"
    assert [e.step for e in events.of(StepStarted)] == ["stage-10"]
    assert [(e.step, e.code) for e in events.of(StepFailed)] == [("stage-50", "Cancelled"), ("retire-old", "Cancelled")]
    assert ResumeStore(rdeploy_home / "deployments").load(TARGET).status == "cancelled"


def test_a_skipped_step_and_an_unexpected_error_are_events_not_tracebacks(rdeploy_home):
    events = Recorder()

    def skip(_):
        raise StepSkipped("already in the registry: build skipped")

    def bug(_):
        raise KeyError("surprise")

    outcome = _ran(_engine(rdeploy_home, events), [Step("build-image", "Build", skip), Step("x", "Do x", bug)])
    assert events.of(StepFinished)[0].status == "skipped"
    failure = events.of(StepFailed)[0]
    assert failure.step == "x" and "Traceback" not in failure.what and outcome.status == "failed"


def test_the_log_and_the_state_hold_no_secret(rdeploy_home):
    events = Recorder()

    def build(run):
        run.emit(BuildRunStarted("build-image", "ca1", "acr.azurecr.io/r:1"))
        run.emit(LogLines("build-image", "build", ("Authorization: Bearer eyJhbGciOi.secret.token",)))
        run.emit(StepProgress("build-image", "uploading to https://x.blob/c?sv=1&sig=SeCrEtSiG"))
        raise RdeployError("The build failed.", details='{"primaryKey": "abcdef0123"}')

    engine = _engine(rdeploy_home, events)
    outcome = _ran(engine, [Step("build-image", "Build", build)], engine)
    assert outcome.log_file is not None and outcome.log_file.is_file()
    written = outcome.log_file.read_text() + ResumeStore(rdeploy_home / "deployments").path(TARGET).read_text()
    for secret in ("eyJhbGciOi.secret.token", "SeCrEtSiG", "abcdef0123"):
        assert secret not in written and not any(secret in str(e) for e in events)
    lines = [json.loads(line) for line in outcome.log_file.read_text().splitlines()]
    assert lines[0]["event"] == "RunStarted" and lines[-1]["event"] == "PlanFinished"
    assert ResumeStore(rdeploy_home / "deployments").load(TARGET).build.run_id == "ca1"


class FailingStore(ResumeStore):
    """A state folder that fills up after `good` saves."""

    def __init__(self, folder, good: int) -> None:
        super().__init__(folder)
        self.good = good

    def save(self, state) -> None:
        if self.good <= 0:
            raise RdeployError(
                f"Cannot write the resume file {self.path(state.target)} (No space left on device).",
                "Free some disk space, then run again.",
                code="StateFile",
            )
        self.good -= 1
        super().save(state)


def test_a_run_whose_state_could_not_be_saved_never_succeeds(rdeploy_home):
    events = Recorder()
    store = FailingStore(rdeploy_home / "deployments", good=3)  # RunStarted, prepare started, prepare finished
    steps = [
        Step("prepare", "Prepare", lambda _: "ready"),
        Step("build-image", "Build", lambda _: "built", ("prepare",)),
        Step("create-deployment", "Deployment", lambda _: "up", ("build-image",)),
    ]
    outcome = _ran(_engine(rdeploy_home, events, store=store), steps)
    assert outcome.status == "failed" and outcome.error.code == "StateFile"
    assert "Its progress could not be saved" in outcome.summary and "No space left" in outcome.summary
    assert "create-deployment" not in [e.step for e in events.of(StepStarted)]  # nothing started after it
    assert events[-1] == PlanFinished("failed", outcome.summary, events[-1].at)
    warning = [e.message for e in events.of(StepProgress) if e.message.startswith("warning:")]
    assert warning and "No space left" in warning[0]


def test_the_final_save_failing_turns_success_into_failure(rdeploy_home):
    events = Recorder()
    store = FailingStore(rdeploy_home / "deployments", good=3)  # every save but the final one
    outcome = _ran(_engine(rdeploy_home, events, store=store), [Step("prepare", "Prepare", lambda _: "ready")])
    assert outcome.status == "failed" and "Its progress could not be saved" in outcome.summary
    assert events[-1].status == "failed"


def test_a_held_lock_refuses_the_run_before_anything(rdeploy_home, tmp_path):
    path = tmp_path / "locks" / "x.lock"
    busy = RdeployError("Another rollout on endpoint ep is running on this machine.", "Wait.", code="RolloutBusy")
    holder = MachineLock(path, busy)
    holder.acquire()
    try:
        events = Recorder()
        ran = []
        outcome = _ran(_engine(rdeploy_home, events, lock=MachineLock(path, busy)), [Step("p", "P", ran.append)])
    finally:
        holder.release()
    assert outcome.status == "failed" and outcome.error.code == "RolloutBusy" and ran == []
    assert outcome.summary.startswith("Deploy not started: Another rollout") and outcome.log_file is None
    assert [type(e) for e in events] == [PlanFinished]
    assert not list((rdeploy_home / "deployments").glob("*.json"))  # nothing written for a run that did not start


def test_a_state_folder_that_cannot_be_written_is_named_before_anything(rdeploy_home):
    (rdeploy_home / "logs").parent.mkdir(parents=True, exist_ok=True)
    (rdeploy_home / "logs").write_text("a file where the log folder would be")
    events = Recorder()
    ran = []
    outcome = _ran(_engine(rdeploy_home, events), [Step("p", "P", ran.append)])
    assert outcome.status == "failed" and outcome.error.code == "StateFolder" and ran == []
    assert f"{rdeploy_home / 'logs'} is a file" in outcome.error.what and "RDEPLOY_HOME" in outcome.error.next_step


def test_the_probe_leaves_nothing_behind(tmp_path):
    check_state_folder([tmp_path / "a", tmp_path / "a", tmp_path / "b"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
    assert not any((tmp_path / "a").iterdir()) and not any((tmp_path / "b").iterdir())


@pytest.mark.parametrize("previous_status", ["running", "cancelled"])
def test_the_next_run_starts_from_the_previous_runs_state(rdeploy_home, previous_status):
    store = ResumeStore(rdeploy_home / "deployments")
    first = _engine(rdeploy_home, Recorder(), store=store)

    def build(run):
        run.emit(BuildRunStarted("build-image", "ca9", "acr.azurecr.io/r:1"))
        raise RdeployError("Stopped.", None, code="Cancelled" if previous_status == "cancelled" else "X")

    _ran(first, [Step("build-image", "Build", build)], first)
    second = _engine(rdeploy_home, Recorder(), store=store)
    seen = []
    _ran(second, [Step("build-image", "Build", lambda _: seen.append((second.previous, second.state.build)))])
    previous, facts = seen[0]
    assert previous.step("build-image").status in ("cancelled", "failed")
    assert facts.run_id == "ca9"  # the fact the resume needs, kept from the run before
