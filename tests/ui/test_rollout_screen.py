"""Updating an endpoint against the sandbox, as a user does it: `u` on the endpoints list, the update flow's steps
(model, packages, script, size, review) with F2, then the live rollout screen fed by the real rollout: hold, advance
and roll back by hand, and Esc back on the endpoints list, read again, showing the traffic back on the old side."""

from __future__ import annotations

import os

import pytest
from textual.widgets import DataTable, Sparkline, Static
from ui_helpers import deployed_on_sandbox, make_app, settle, wait_for

from rdeploy_tui.ui.screens.manage import ManageScreen
from rdeploy_tui.ui.screens.rollout import RolloutScreen
from rdeploy_tui.ui.widgets.dialogs import ConfirmDialog

pytestmark = [pytest.mark.sandbox, pytest.mark.r]


async def test_update_rolls_out_holds_advances_rolls_back_by_hand_and_returns_to_the_list(
    sandbox_server, tmp_path, monkeypatch
):
    name = f"ui-roll-{os.getpid() % 1000}"
    with deployed_on_sandbox(sandbox_server, tmp_path / "home", name) as (spec, session):
        monkeypatch.setenv("RDEPLOY_HOME", str(tmp_path / "home"))
        spec = spec.copy()
        spec.rollout.hold_seconds = 600  # a long hold: the keys decide here
        spec.rollout.requests_per_stage = 4
        spec.rollout.latency_slack_ms = 5000
        try:
            app = make_app("signin", spec=spec, sandbox=True, azure=session)
            async with app.run_test(size=(120, 40)) as pilot:
                await settle(pilot, first=True)
                manage = ManageScreen()
                app.push_screen(manage)
                await wait_for(pilot, lambda: name in manage.infos)
                table = manage.query_one("#endpoints", DataTable)
                table.move_cursor(row=table.get_row_index(name))
                table.focus()
                await pilot.press("u")
                for step in ("model", "packages", "script", "endpoint", "review"):
                    await wait_for(pilot, lambda step=step: app.step == step and app.screen.query("#next"), 60)
                    await wait_for(pilot, lambda: not app.screen.query_one("#next").disabled, 120)
                    await pilot.press("f2")
                await wait_for(pilot, lambda: isinstance(app.screen, RolloutScreen), 30)
                screen = app.screen
                new_stats = screen.query_one("#new-stats", Static)
                await wait_for(pilot, lambda: "stage-10: 0/4 errors" in str(new_stats.render()), 180)
                await pilot.press("h")  # held: still at 10 % after more rounds, and said where it is seen
                title = screen.query_one("#rollout-title", Static)
                await wait_for(pilot, lambda: "HELD at this stage (h resumes" in str(title.render()))
                rounds = len(screen.query_one("#new-spark", Sparkline).data)
                await wait_for(pilot, lambda: len(screen.query_one("#new-spark", Sparkline).data) > rounds, 60)
                assert "stage-10" in str(new_stats.render())
                await pilot.press("a")  # advance to 50 %
                await wait_for(pilot, lambda: "stage-50" in str(new_stats.render()), 60)
                await pilot.press("b")  # roll back by hand, once confirmed
                await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
                assert "Roll back now?" in app.screen.question and screen.outcome is None
                await pilot.press("y")
                await wait_for(pilot, lambda: "Esc: back to the endpoints" in str(title.render()), 60)
                assert screen.outcome.status == "rolled-back" and screen.outcome.reason == "rolled back by hand"
                await pilot.press("escape")
                await wait_for(pilot, lambda: isinstance(app.screen, ManageScreen) and name in app.screen.infos, 60)
                listed = app.screen.query_one("#endpoints", DataTable)
                assert str(listed.get_cell(name, "traffic")).startswith("blue 100%")  # read again: back on blue
            from rdeploy_tui.azure import Endpoints, Workspace

            ws = Workspace.open(
                session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name
            )
            assert Endpoints(ws).show(name).traffic.get("blue") == 100
        finally:
            from rdeploy_tui.azure import Endpoints, Workspace
            from rdeploy_tui.errors import RdeployError

            try:
                Endpoints(
                    Workspace.open(
                        session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name
                    )
                ).delete(name)
            except RdeployError:
                pass
