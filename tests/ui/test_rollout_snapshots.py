"""The rollout screen at 80x24 and 120x40, fed a recorded run: both deployments side by side, sparklines, the stage."""

from __future__ import annotations

import pytest
from ui_helpers import SIZES, RecordedRun, make_app, wait_for

from rdeploy_tui.pipeline.events import StepProgress, StepStarted
from rdeploy_tui.pipeline.rollout import StageMeasured
from rdeploy_tui.spec.deploy_spec import default_spec
from rdeploy_tui.ui.screens.rollout import RolloutScreen


def _events() -> list:
    events: list = [
        StepStarted("stage-10", "Shift 10 % of the traffic to green and watch it for 60 s", 0.0),
        StepProgress("stage-10", "traffic on r-endpoint-forecast: Succeeded (1 s)", 0.0),
    ]
    for i, (old, new) in enumerate([(41, 44), (39, 47), (45, 43), (40, 52), (42, 49)]):
        sent = 20 * (i + 1)
        events.append(
            StageMeasured("stage-10", "blue", "green", sent, 0, sent, i // 3, old, old + 30.0, new, new + 35.0, sent, 0)
        )
    return events


@pytest.mark.parametrize("size", SIZES)
def test_rollout_screen(snap_compare, size):
    async def feed(pilot):
        screen = RolloutScreen(default_spec(), run=RecordedRun(_events()))  # still running: the keys are on
        await pilot.app.push_screen(screen)
        await wait_for(pilot, lambda: len(screen.query_one("#new-spark").data) == 5)

    assert snap_compare(make_app("review"), terminal_size=size, run_before=feed)
