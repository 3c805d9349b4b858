"""`rollout` end to end on the sandbox with the real SDKs: a good new deployment reaches 100 %, a failing or 5x
slower one is rolled back with the old one at 100 % and a report, a mirrored stage counts the shadow's copies."""

from __future__ import annotations

import json

import pytest

from rdeploy_tui.pipeline.events import PlanFinished, StepFailed, StepFinished, StepProgress
from rdeploy_tui.pipeline.rollout import MIRROR, RolloutOptions, StageMeasured, judge_stage, run_rollout
from rdeploy_tui.pipeline.runner import run_deploy
from rdeploy_tui.spec.deploy_spec import RolloutSpec

pytestmark = [pytest.mark.sandbox, pytest.mark.r]


def _serving(session, make_spec, cleanup, prefix):
    """An endpoint whose deployment blue takes all traffic; the spec for the next version (hold 0: one round per
    stage)."""
    from rdeploy_tui.azure import Workspace

    spec = make_spec(prefix)
    first = run_deploy(spec, session=session, sink=lambda e: None, smoke_score=False)
    ws = Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)
    cleanup.append((ws, spec.endpoint.name))
    assert first.status == "succeeded", first.summary
    spec.rollout.hold_seconds = 0
    spec.rollout.requests_per_stage = 8
    # a busy 2-core machine makes the same deployment answer in 15 to 90 ms: only the slow test judges latency
    spec.rollout.latency_slack_ms = 5000
    return spec, ws


def test_a_good_new_deployment_reaches_100_percent_and_the_old_one_goes(session, make_spec, cleanup, recorder):
    from rdeploy_tui.azure import Endpoints

    spec, ws = _serving(session, make_spec, cleanup, "roll-ok")
    outcome = run_rollout(spec, session=session, sink=recorder)
    assert outcome.status == "succeeded", outcome.summary
    assert (outcome.old, outcome.new) == ("blue", "green")  # the serving one is blue: the new one is the other colour
    info = Endpoints(ws).show(spec.endpoint.name)
    assert info.traffic == {"green": 100} and [d.name for d in info.deployments] == ["green"]
    measured = recorder.of(StageMeasured)
    assert [m.step for m in measured] == ["stage-10", "stage-50", "stage-100"]
    assert all(
        m.verdict is None and m.new_sent == 8 and m.new_errors == 0 and m.compared == 8 and m.mismatches == 0
        for m in measured
    )
    report = json.loads(outcome.report_file.read_text())
    assert report["status"] == "succeeded" and [s["step"] for s in report["stages"]] == [
        "stage-10",
        "stage-50",
        "stage-100",
    ]
    assert isinstance(recorder.events[-1], PlanFinished) and recorder.events[-1].status == "succeeded"


def test_a_new_deployment_failing_after_some_requests_is_rolled_back(session, make_spec, cleanup, recorder, sandbox):
    from rdeploy_tui.azure import Endpoints

    spec, ws = _serving(session, make_spec, cleanup, "roll-err")
    # the smoke score (one request) passes; from the second request on, green's model fails
    sandbox.faults.arm("deployment-errors", match=f"^{spec.endpoint.name}/green$", after=1)
    outcome = run_rollout(spec, session=session, sink=recorder, options=RolloutOptions(keep_old=True))
    assert outcome.status == "rolled-back", outcome.summary
    assert "error rate" in outcome.reason and "rollout.max_error_rate" in outcome.reason
    info = Endpoints(ws).show(spec.endpoint.name)
    assert info.traffic.get("blue") == 100 and not info.traffic.get("green")
    assert {d.name for d in info.deployments} == {"blue", "green"}  # green kept for its logs
    report = json.loads(outcome.report_file.read_text())
    assert (
        report["status"] == "rolled-back"
        and report["stages"][-1]["step"] == "stage-10"
        and report["stages"][-1]["new_errors"] > 0
    )
    assert "Next:" in outcome.summary and "logs" in outcome.summary
    assert recorder.of(StepFinished, "rollback")[0].status == "done"


def test_a_five_times_slower_new_deployment_is_rolled_back_and_deleted(session, make_spec, cleanup, recorder, sandbox):
    from rdeploy_tui.azure import Endpoints

    spec, ws = _serving(session, make_spec, cleanup, "roll-slow")
    spec.rollout.latency_slack_ms = 0  # the sandbox's model answers in milliseconds: compare ratios only
    spec.rollout.requests_per_stage = 16
    sandbox.faults.arm("deployment-slow", match=f"^{spec.endpoint.name}/green$", factor=5, after=1)
    outcome = run_rollout(spec, session=session, sink=recorder, options=RolloutOptions(delete_failed=True))
    assert outcome.status == "rolled-back", outcome.summary
    assert "latency" in outcome.reason, outcome.reason
    info = Endpoints(ws).show(spec.endpoint.name)
    assert info.traffic == {"blue": 100} and [d.name for d in info.deployments] == ["blue"]


def test_a_mirrored_stage_shows_the_shadows_share_of_copies(session, make_spec, cleanup, recorder):
    from rdeploy_tui.azure import Endpoints, score
    from rdeploy_tui.errors import RdeployError

    spec, ws = _serving(session, make_spec, cleanup, "roll-mir")
    spec.rollout.mirror_percent = 50
    spec.rollout.requests_per_stage = 20
    spec.rollout.steps = [100]
    outcome = run_rollout(spec, session=session, sink=recorder, options=RolloutOptions(keep_old=True))
    assert outcome.status == "succeeded", outcome.summary
    lines = [e.message for e in recorder.of(StepProgress, MIRROR) if "copies of" in e.message]
    assert lines, [e.message for e in recorder.of(StepProgress, MIRROR)]
    copies = int(lines[-1].split(" received ")[1].split()[0])
    assert 0 < copies < 20, lines[-1]  # about half of 20 live requests (P(0 or 20) ~ 2e-6)
    mirrored = recorder.of(StageMeasured)[0]
    assert mirrored.step == MIRROR and mirrored.new_sent == copies and mirrored.old_sent == 20
    # Azure's rules for mirrored traffic, refused with their documented wording
    endpoints = Endpoints(ws)
    with pytest.raises(RdeployError, match="live traffic or mirrored traffic, not both"):
        endpoints.set_mirror(spec.endpoint.name, "green", 10)  # green takes all live traffic now
    with pytest.raises(RdeployError, match="at most 50"):
        endpoints.set_mirror(spec.endpoint.name, "blue", 60)
    endpoints.set_mirror(spec.endpoint.name, "blue", 50)
    assert (
        score(ws, spec.endpoint.name, spec.scoring.sample_request).served_by == "green"
    )  # the caller sees the live answer


def test_two_rollouts_on_one_endpoint_are_refused(make_spec, rdeploy_home):
    from filelock import FileLock

    from rdeploy_tui.pipeline import rollout

    spec = make_spec("roll-lock")
    path = rollout.rollout_lock_path(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path)):
        outcome = run_rollout(spec, session=None, sink=lambda e: None)
    assert outcome.status == "failed" and outcome.error.code == "RolloutBusy"
    assert "Another rollout" in outcome.summary and "resumes" in outcome.summary


def test_thresholds_are_judged_against_the_old_deployment():
    r = RolloutSpec()
    ok = StageMeasured("stage-10", "blue", "green", 10, 0, 10, 0, 10.0, 12.0, 11.0, 13.0, 10, 0)
    assert judge_stage(ok, r) is None
    both_fail = StageMeasured("stage-10", "blue", "green", 10, 5, 10, 5, 10.0, 12.0, 11.0, 13.0, 0, 0)
    assert judge_stage(both_fail, r) is None  # the requests are bad, not the new version
    slow = StageMeasured("stage-10", "blue", "green", 10, 0, 10, 0, 100.0, 120.0, 500.0, 600.0, 10, 0)
    assert "p50 latency 500 ms against 100 ms" in judge_stage(slow, r)
    noise = StageMeasured("stage-10", "blue", "green", 10, 0, 10, 0, 20.0, 30.0, 60.0, 70.0, 10, 0)
    assert judge_stage(noise, r) is None  # 3x of 20 ms is under the 50 ms slack
    differ = StageMeasured("stage-10", "blue", "green", 10, 0, 10, 0, 10.0, 12.0, 11.0, 13.0, 10, 1)
    assert "1 of 10 answers differ" in judge_stage(differ, r)


def test_a_stopped_rollout_resumes_where_it_stopped(session, make_spec, cleanup, recorder):
    import threading

    from rdeploy_tui.azure import Endpoints

    spec, ws = _serving(session, make_spec, cleanup, "roll-resume")
    cancel = threading.Event()

    def stop_after_first_stage(event):
        recorder(event)
        if isinstance(event, StageMeasured) and event.step == "stage-10":
            cancel.set()

    first = run_rollout(spec, session=session, sink=stop_after_first_stage, cancel=cancel)
    assert first.status == "cancelled", first.summary
    assert Endpoints(ws).show(spec.endpoint.name).traffic == {"blue": 90, "green": 10}
    # The stage that saw the cancel, or (when it had ended) every step the cancel kept from starting: cancelled only.
    cancelled = [e.code for e in recorder.of(StepFailed)]
    assert cancelled and set(cancelled) == {"Cancelled"}
    again = []
    second = run_rollout(spec, session=session, sink=again.append)
    assert second.status == "succeeded", second.summary
    assert [e.step for e in again if isinstance(e, StageMeasured)] == ["stage-10", "stage-50", "stage-100"]
    assert any(isinstance(e, StepProgress) and "resuming the rollout of green beside blue" in e.message for e in again)


def test_the_cli_rolls_out_and_refuses_without_a_terminal(tmp_path):
    import os
    import subprocess
    import sys

    from rdeploy_tui.spec.deploy_spec import default_spec, save_spec

    spec = default_spec()
    spec.endpoint.name = f"roll-cli-{os.getpid() % 10000}"
    spec.rollout.hold_seconds = 0
    spec.rollout.requests_per_stage = 4
    spec.rollout.latency_slack_ms = 5000
    path = tmp_path / "rdeploy.yaml"
    save_spec(spec, path)
    env = {**os.environ, "RDEPLOY_HOME": str(tmp_path / "h"), "RDEPLOY_SANDBOX_TIME_SCALE": "0.003"}
    env.pop("REQUESTS_CA_BUNDLE", None)

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "rdeploy_tui", *args, "--spec", str(path), "--sandbox"],
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )

    refused = cli("rollout")
    assert refused.returncode == 2 and "--yes" in refused.stderr and "Traceback" not in refused.stderr
    nothing = cli("rollout", "--yes")  # the in-process sandbox starts empty: no endpoint to roll out on
    assert nothing.returncode == 1 and "rdeploy-tui deploy" in nothing.stdout, nothing.stdout + nothing.stderr
    bad = cli("rollout", "--yes", "--steps", "10,5,100")
    assert bad.returncode == 2 and "rising percentages" in bad.stderr
    assert cli("rollout", "--yes", "--mirror", "60").returncode == 2
    deployed = cli("deploy", "--yes", "--no-score")
    assert deployed.returncode == 0, deployed.stdout[-2000:] + deployed.stderr
    rolled = cli("rollout", "--yes", "--keep-old", "--steps", "50,100")
    assert rolled.returncode == 0, rolled.stdout[-3000:] + rolled.stderr
    assert rolled.stderr == "" and "Traceback" not in rolled.stdout
    assert "==> Shift 50 % of the traffic to green" in rolled.stdout and "green: 0/4 errors" in rolled.stdout
    assert "Rollout done: green takes all traffic" in rolled.stdout and "blue is kept at 0 %" in rolled.stdout
