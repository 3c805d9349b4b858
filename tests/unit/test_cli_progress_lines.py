"""The CLI prints what changes during a wait, not every poll of it: a 36 s deploy printed 31 'Updating (N s)' lines."""

from __future__ import annotations

from rdeploy_tui.commands.deploy_cmd import PlainLines
from rdeploy_tui.commands.rollout_cmd import RolloutLines
from rdeploy_tui.pipeline.events import StepFinished, StepProgress, StepStarted


def _polls(step: str, state: str, seconds: range, start: float = 1000.0) -> list[StepProgress]:
    return [StepProgress(step, f"deployment blue: {state} ({s} s)", at=start + s) for s in seconds]


def test_a_wait_is_said_when_its_state_changes_and_once_a_minute_while_it_lasts(capsys):
    sink = PlainLines()
    sink(StepStarted("create-deployment", "Create deployment blue", at=1000.0))
    for event in _polls("create-deployment", "Updating", range(0, 150)) + _polls(
        "create-deployment", "Succeeded", range(150, 152)
    ):
        sink(event)
    sink(StepFinished("create-deployment", message="deployment blue is Succeeded", at=1152.0))
    lines = capsys.readouterr().out.splitlines()
    progress = [line.strip() for line in lines if line.startswith("    ")]
    # the first poll, a reminder after 60 s and after 120 s, then the change of state
    assert progress == [
        "deployment blue: Updating (0 s)",
        "deployment blue: Updating (60 s)",
        "deployment blue: Updating (120 s)",
        "deployment blue: Succeeded (150 s)",
    ]
    assert lines[0] == "==> Create deployment blue" and lines[-1].startswith(" ok create-deployment")


def test_other_progress_lines_are_all_printed(capsys):
    sink = PlainLines()
    for message in ("sending deployment blue", "uploading the code", "sending deployment blue"):
        sink(StepProgress("create-deployment", message, at=1000.0))
    assert capsys.readouterr().out.count("\n") == 3


def test_a_step_started_again_says_its_wait_again(capsys):
    sink = PlainLines()
    for _ in range(2):
        sink(StepStarted("route-traffic", "Route traffic", at=1.0))
        sink(StepProgress("route-traffic", "traffic on e: Updating (0 s)", at=1.0))
    assert capsys.readouterr().out.count("Updating (0 s)") == 2


def test_a_rollout_prints_its_waits_the_same_way(capsys):
    sink = RolloutLines()
    for event in _polls("deploy-new", "Updating", range(0, 30)):
        sink(event)
    assert capsys.readouterr().out.count("Updating") == 1
