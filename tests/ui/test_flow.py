"""The flow table (ui/flow.py) is the one place the steps' order, names and titles live: each step's screen knows
its step by that name, and the step indicator, Next and Back follow the table."""

from __future__ import annotations

import importlib

import pytest
from ui_helpers import make_app, settle, wait_for

from rdeploy_tui.ui.flow import DEPLOY_FLOW, FLOWS, UPDATE_FLOW


@pytest.mark.parametrize("step", sorted({s for flow in FLOWS for s in flow.steps}, key=lambda s: s.name), ids=str)
def test_each_steps_screen_knows_its_step_by_the_tables_name(step):
    module, cls = step.screen.split(":")
    screen = getattr(importlib.import_module(f"rdeploy_tui.ui.screens.{module}"), cls)
    assert step.name == screen.STEP


def test_the_deploy_flow_walks_sign_in_to_score_and_the_update_flow_model_to_rollout():
    assert DEPLOY_FLOW.names == (
        "signin",
        "workspace",
        "model",
        "packages",
        "script",
        "endpoint",
        "review",
        "deploy",
        "score",
    )
    assert UPDATE_FLOW.names == ("model", "packages", "script", "endpoint", "review", "rollout")
    assert DEPLOY_FLOW.after("review").name == "deploy" and UPDATE_FLOW.after("review").name == "rollout"
    assert DEPLOY_FLOW.before("signin") is None and DEPLOY_FLOW.after("score") is None


async def test_next_and_back_follow_the_table_and_the_indicator_shows_it():
    app = make_app("packages")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, first=True)
        line = str(app.screen.query_one("#steps").render())
        assert line.startswith(" 1 Sign-in › 2 Workspace › 3 Model › 4 Packages ›") and "9 Score" in line
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.step == "script")
        assert str(app.screen.query_one("#next").label) == "Next"
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.step == "endpoint")
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.step == "review")
        assert str(app.screen.query_one("#next").label) == "Deploy"  # the table's label for this step
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.step == "endpoint")


async def test_at_80_columns_the_indicator_shows_the_numbers_and_the_steps_title():
    app = make_app("script")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, first=True)
        assert str(app.screen.query_one("#steps").render()).endswith("Scoring script")
