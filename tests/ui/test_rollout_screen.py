"""The rollout screen: both deployments side by side, fed by the real rollout on the sandbox; hold, advance and
roll back by hand; reached from the endpoints list ("u": update this endpoint) through the wizard's steps."""

from __future__ import annotations

import os

import pytest
from textual.widgets import DataTable, Sparkline, Static
from ui_helpers import deployed_on_sandbox, make_app, wait_for

from rdeploy_tui.ui.screens.manage import ManageScreen
from rdeploy_tui.ui.screens.rollout import RolloutScreen
from rdeploy_tui.ui.screens.scoring import ScoringScreen

pytestmark = [pytest.mark.sandbox, pytest.mark.r]


async def test_rollout_screen_holds_advances_and_rolls_back_by_hand(sandbox_server, tmp_path, monkeypatch):
    name = f"ui-roll-{os.getpid() % 1000}"
    with deployed_on_sandbox(sandbox_server, tmp_path / "home", name) as (spec, session):
        monkeypatch.setenv("RDEPLOY_HOME", str(tmp_path / "home"))
        try:
            app = make_app("model", spec=spec.copy(), screens={"score": ScoringScreen(autostart=False)}, sandbox=True)
            app.state._azure = session
            async with app.run_test(size=(120, 40)) as pilot:
                # from the endpoints list: u walks the wizard from the model step ...
                manage = ManageScreen()
                app.push_screen(manage)
                await wait_for(pilot, lambda: name in manage.infos)
                table = manage.query_one("#endpoints", DataTable)
                table.move_cursor(row=table.get_row_index(name))
                await pilot.press("u")
                await wait_for(pilot, lambda: app.step == "model" and not isinstance(app.screen, ManageScreen))
                assert app.state.spec.deployment.name == "green" and app.state.spec.deployment.traffic == 0
                # ... and the deploy step becomes the rollout (a long hold: the keys decide here)
                app.state.spec.rollout.hold_seconds = 600
                app.state.spec.rollout.requests_per_stage = 4
                app.state.spec.rollout.latency_slack_ms = 5000
                app.goto("deploy")
                await wait_for(pilot, lambda: isinstance(app.screen, RolloutScreen), 30)
                screen = app.screen
                await wait_for(pilot, lambda: len(screen.history["new"]) >= 1, 120)
                assert "stage-10: 0/4 errors" in str(screen.query_one("#new-stats", Static).render())
                await pilot.press("h")  # held: still at 10 % after more rounds
                assert screen.control.hold.is_set()
                rounds = len(screen.history["new"])
                await wait_for(pilot, lambda: len(screen.history["new"]) >= rounds + 1, 60)
                await pilot.press("a")  # advance to 50 %
                await wait_for(pilot, lambda: "stage-50" in str(screen.query_one("#new-stats", Static).render()), 60)
                assert screen.query_one("#new-spark", Sparkline).data
                await pilot.press("b")  # roll back by hand
                await wait_for(pilot, lambda: screen.outcome is not None, 60)
                assert screen.outcome.status == "rolled-back" and screen.outcome.reason == "rolled back by hand"
                from rdeploy_tui.azure import Endpoints, Workspace

                ws = Workspace.open(
                    session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name
                )
                assert Endpoints(ws).show(name).traffic.get("blue") == 100
                await pilot.press("escape")
                assert not isinstance(app.screen, RolloutScreen)
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
