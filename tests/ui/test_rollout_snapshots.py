"""The rollout screen at 80x24 and 120x40, fed by hand: both deployments side by side, sparklines, the stage."""

from __future__ import annotations

import pytest
from ui_helpers import SIZES, make_app

from rdeploy_tui.pipeline.events import StepProgress, StepStarted
from rdeploy_tui.pipeline.rollout import StageMeasured
from rdeploy_tui.spec.deploy_spec import default_spec
from rdeploy_tui.ui.screens.rollout import RolloutScreen


@pytest.mark.parametrize("size", SIZES)
def test_rollout_screen(snap_compare, size):
    async def feed(pilot):
        screen = RolloutScreen(default_spec(), autostart=False)
        await pilot.app.push_screen(screen)
        screen.running = True  # as while the worker runs: the keys are on
        screen.refresh_bindings()
        screen.apply(StepStarted("stage-10", "Shift 10 % of the traffic to green and watch it for 60 s", 0.0))
        screen.apply(StepProgress("stage-10", "traffic on r-endpoint-forecast: Succeeded (1 s)", 0.0))
        for i, (old, new) in enumerate([(41, 44), (39, 47), (45, 43), (40, 52), (42, 49)]):
            screen.apply(
                StageMeasured(
                    "stage-10",
                    "blue",
                    "green",
                    20 * (i + 1),
                    0,
                    20 * (i + 1),
                    i // 3,
                    old,
                    old + 30.0,
                    new,
                    new + 35.0,
                    20 * (i + 1),
                    0,
                    None,
                    0.0,
                )
            )
        await pilot.pause()

    assert snap_compare(make_app("review"), terminal_size=size, run_before=feed)
