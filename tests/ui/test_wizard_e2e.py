"""The whole wizard, driven by keys against the built-in sandbox, from sign-in to a scored request."""

from __future__ import annotations

import pytest
from textual.widgets import Button, Select

from rdeploy_tui.connection_options import ConnectionOptions
from rdeploy_tui.ui.app import RdeployApp
from rdeploy_tui.ui.wizard_state import WizardState

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


async def wait_until(pilot, condition, timeout: float = 60.0, what: str = "") -> None:
    """Pump the app until condition() holds; fail with what the screen says otherwise."""
    waited = 0.0
    while not condition():
        if waited >= timeout:
            screen = pilot.app.screen
            raise AssertionError(
                f"timed out waiting for {what} on {screen!r}: {getattr(screen, 'problems', lambda: [])()}"
            )
        await pilot.pause(0.1)
        waited += 0.1


def step_is(app, step: str) -> bool:
    return getattr(app.screen, "STEP", None) == step


async def next_step(pilot, step: str, what: str) -> None:
    """Wait until the current step lets us go, then F2 (Next) and wait for `step`."""
    app = pilot.app
    await wait_until(pilot, lambda: not app.screen.query_one("#next", Button).disabled, what=what)
    await pilot.press("f2")
    await wait_until(pilot, lambda: step_is(app, step), what=f"the {step} step")


async def test_wizard_deploys_and_scores_in_the_sandbox(tmp_path, monkeypatch):
    monkeypatch.setenv("RDEPLOY_SANDBOX_TIME_SCALE", "0.003")  # a deployment takes seconds, not minutes
    state = WizardState.start(ConnectionOptions(sandbox=True), base_dir=tmp_path)
    app = RdeployApp(state)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: step_is(app, "signin") and app.settled, what="the first screen")
            await next_step(pilot, "workspace", "sign-in")
            await wait_until(
                pilot, lambda: isinstance(app.screen.query_one("#workspace", Select).value, str), what="workspaces"
            )
            await next_step(pilot, "model", "the registry check")
            await next_step(pilot, "packages", "the model list")
            assert state.spec.model.name == "forecast-model" and state.spec.model.version == "latest"
            await next_step(pilot, "script", "packages")
            await next_step(pilot, "endpoint", "the script")
            endpoint = app.screen.query_one("#endpoint-name-input")
            endpoint.value = f"wizard-e2e-{tmp_path.name[-6:]}".replace("_", "-").strip("-")
            await next_step(pilot, "review", "endpoint settings")
            await next_step(pilot, "deploy", "review")
            deploy = app.screen
            await wait_until(
                pilot, lambda: deploy.status in ("succeeded", "failed", "cancelled"), timeout=240, what="the deploy"
            )
            assert deploy.status == "succeeded", deploy.query_one("#deploy-status").render()
            assert deploy.query_one("#build-log").received > 0
            await next_step(pilot, "score", "the deploy")
            scoring = app.screen
            await wait_until(pilot, lambda: scoring.result is not None, timeout=60, what="the scored request")
            assert scoring.result.status == 200
            assert not [s for s in app.screen_stack if type(s).__name__ == "ErrorDialog"]
    finally:
        state.close()
