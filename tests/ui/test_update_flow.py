"""Updating a deployed endpoint from the endpoints list (`u`): refused at the start when a rollout cannot begin (the
traffic is split, or nothing serves), else the update flow (model, packages, script, size, review) to a live rollout,
and after any outcome Esc back on the endpoints list, read again. Azure's answers arrive as the steps' workers post
them (the workers are kept from starting) and the rollout replays recorded events; tests/ui/test_rollout_screen.py
walks the same journey against the sandbox."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_manage_snapshots import ENDPOINTS, NOW, FixedSource
from textual.widgets import DataTable
from ui_helpers import RecordedRun, make_app, settle, toasts, wait_for

from rdeploy_tui.azure.online import DeploymentInfo
from rdeploy_tui.azure.workspace import ModelInfo
from rdeploy_tui.pipeline.engine import Outcome
from rdeploy_tui.pipeline.events import LogLines, PlanFinished, StageMeasured, StepStarted
from rdeploy_tui.ui.pipeline_events import PipelineEvents
from rdeploy_tui.ui.screens.manage import ManageScreen
from rdeploy_tui.ui.screens.rollout import RolloutScreen

SMALL = (80, 24)
SERVING = replace(
    ENDPOINTS[0],
    name="churn-live",
    traffic={"blue": 100},
    deployments=(DeploymentInfo("blue", "Succeeded", "Standard_DS3_v2", 1, None, None),),
)


class Source(FixedSource):
    """The endpoints list's source: the fixed endpoints plus one served by a single deployment; counts its reads."""

    def __init__(self) -> None:
        self.reads = 0

    def endpoints(self):
        self.reads += 1
        return [*super().endpoints(), SERVING]


async def on_the_endpoints_list(pilot, source: Source, endpoint: str) -> ManageScreen:
    screen = ManageScreen(source, clock=lambda: NOW)
    pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: endpoint in screen.infos)
    table = screen.query_one("#endpoints", DataTable)
    table.move_cursor(row=table.get_row_index(endpoint))
    table.focus()
    await settle(pilot)
    return screen


# --- refused at the start -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint, said",
    [
        (
            "r-endpoint-forecast",
            "r-endpoint-forecast splits its traffic already (blue=90%, green=10%): a rollout starts from one "
            "deployment serving all of it. Press t to give one of them 100 % (e.g. blue), then u.",
        ),
        ("churn-ep", "No deployment of endpoint churn-ep takes traffic"),
    ],
    ids=["split", "none-serving"],
)
async def test_update_is_refused_at_the_start_saying_what_to_do(endpoint, said):
    app = make_app("signin")
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await settle(pilot, first=True)
        screen = await on_the_endpoints_list(pilot, Source(), endpoint)
        await pilot.press("u")
        status = screen.query_one("#manage-status")
        await wait_for(pilot, lambda: said in str(status.render()))
        assert said in toasts(app)
        assert app.screen is screen and app.step == "signin" and app.state.update is None  # no step was walked


# --- the update flow, offline -------------------------------------------------------------------------------------


def _rollout_events() -> list:
    return [
        StepStarted("stage-10", "Shift 10 % of the traffic to green and watch it for 60 s"),
        LogLines("stage-10", "green", ("score: HTTP 200 in 12 ms",)),
        StageMeasured("stage-10", "blue", "green", 4, 0, 4, 0, 40.0, 45.0, 42.0, 47.0, 4, 0),
    ]


OUTCOMES = {
    "done": Outcome("succeeded", "green serves all of churn-live.", "churn-live", old="blue", new="green"),
    "rolled-back": Outcome("rolled-back", "Rolled back: green erred.", "churn-live", old="blue", new="green"),
    "refused": Outcome("failed", "Rollout not started: another rollout runs.", "churn-live"),
}


async def walk_to_the_rollout(pilot) -> None:
    """From `u` on churn-live: the update flow's steps, each answered as its worker would, Next on each."""
    from rdeploy_tui.ui.screens.model import ModelsLoaded, VersionsLoaded

    app = pilot.app
    await wait_for(pilot, lambda: app.step == "model" and app.screen.query("#models"))
    steps = str(app.screen.query_one("#steps").render())
    assert "1 Model" in steps and "4 Size" in steps and "6 Rollout" in steps and "Sign-in" not in steps
    model = app.screen
    model.post_message(ModelsLoaded(app.state.workspace_key, [ModelInfo("forecast-model", "4")]))
    await wait_for(pilot, lambda: model.query_one("#models").option_count == 2)
    model.post_message(VersionsLoaded("forecast-model", ["4", "3"]))
    for step in ("packages", "script", "endpoint", "review"):
        await wait_for(pilot, lambda: not app.screen.query_one("#next").disabled)
        await pilot.press("f2")
        await wait_for(pilot, lambda step=step: app.step == step)


@pytest.fixture
def offline_steps(monkeypatch):
    """The update flow's Azure-backed workers kept from starting (their answers are posted by the test)."""
    monkeypatch.setattr("rdeploy_tui.ui.screens.model.ModelScreen.load_models", lambda self: None)
    monkeypatch.setattr("rdeploy_tui.ui.screens.model.ModelScreen.load_versions", lambda self, name: None)
    monkeypatch.setattr("rdeploy_tui.ui.screens.packages.PackagesScreen.read_packages", lambda self, source: None)


@pytest.mark.parametrize("outcome", [*OUTCOMES, "stopped"])
async def test_update_walks_the_steps_to_the_rollout_and_esc_returns_to_the_list_after_any_outcome(
    outcome, offline_steps, monkeypatch
):
    stopped = Outcome("cancelled", "Stopped: the traffic stays as it is.", "churn-live", old="blue", new="green")
    run = RecordedRun(_rollout_events(), OUTCOMES.get(outcome), cancelled=stopped)
    monkeypatch.setattr("rdeploy_tui.ui.screens.rollout.run_rollout", run)
    source = Source()
    app = make_app("signin")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        await on_the_endpoints_list(pilot, source, "churn-live")
        await pilot.press("u")
        await walk_to_the_rollout(pilot)

        # The size step: the endpoint is the one updated, the new deployment goes beside the serving one.
        endpoint_screen = app.get_screen("step-endpoint")
        assert endpoint_screen.query_one("#endpoint-name-input").disabled
        assert not endpoint_screen.query_one("#traffic").display
        note = str(endpoint_screen.query_one("#deployment-name .field-message").render())
        assert note == "a new deployment beside blue" and "in place" not in note

        review = app.screen
        assert str(review.query_one("#next").label) == "Roll out"
        assert "4. Rollout beside blue (serving now): green starts at 0 %" in review.query_one("#review-view").text
        await pilot.press("f2")  # Roll out
        await wait_for(pilot, lambda: isinstance(app.screen, RolloutScreen))
        rollout = app.screen
        await wait_for(pilot, lambda: "stage-10: 0/4 errors" in str(rollout.query_one("#new-stats").render()))
        assert run.specs[0].endpoint.name == "churn-live" and run.specs[0].deployment.name == "green"
        if outcome == "stopped":
            await pilot.press("escape")  # while it runs: stop it (the traffic stays)
        title = rollout.query_one("#rollout-title")
        await wait_for(pilot, lambda: "Esc: back to the endpoints" in str(title.render()))
        reads = source.reads
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ManageScreen) and source.reads > reads)
        manage = app.screen
        await wait_for(pilot, lambda: "churn-live" in manage.infos)
    # The deploy flow's spec is back: a new deploy does not start from the update's, nor does the next run.
    assert app.flow.name == "deploy" and app.state.update is None
    assert app.state.spec.deployment.name == "blue" and app.state.spec.deployment.traffic == 100
    from rdeploy_tui.ui.wizard_state import load_last_run

    assert load_last_run().deployment.name == "blue"


async def test_back_from_the_update_flows_first_step_returns_to_the_list(offline_steps):
    source = Source()
    app = make_app("signin")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        await on_the_endpoints_list(pilot, source, "churn-live")
        await pilot.press("u")
        await wait_for(pilot, lambda: app.step == "model")
        await settle(pilot)
        assert not app.screen.query_one("#back").disabled
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ManageScreen) and app.state.update is None)
        assert app.flow.name == "deploy"


async def test_rollout_events_reach_the_screen_as_one_kind_of_message(offline_steps, monkeypatch):
    """The runner's threads never touch a widget: every event arrives as a PipelineEvents message, log lines of
    consecutive events merged, and the outcome in the last one."""
    events = [*_rollout_events(), PlanFinished("succeeded", "done")]
    run = RecordedRun(events, OUTCOMES["done"])
    seen: list[PipelineEvents] = []

    def hook(message) -> None:
        if isinstance(message, PipelineEvents):
            seen.append(message)

    app = make_app("signin")
    async with app.run_test(size=SMALL, message_hook=hook) as pilot:
        await settle(pilot, first=True)
        screen = RolloutScreen(app.state.spec.copy(), run=run)
        app.call_later(app.push_screen, screen)  # from the app (where the hook is), as the update flow opens it
        await wait_for(pilot, lambda: screen.outcome is not None)
    assert [e for m in seen for e in m.events] == events  # all of them, in order, none touched twice
    assert seen[-1].outcome is OUTCOMES["done"] and all(m.outcome is None for m in seen[:-1])
