"""The wizard's last screen against the sandbox: the deployed endpoint scored through the Azure layer's
key and scoring URI, the sandbox proxying to a real plumber process (so R is needed)."""

from __future__ import annotations

import os

import pytest
from textual.widgets import DataTable, Static
from ui_helpers import deployed_on_sandbox, make_app, wait_for

from rdeploy_tui.ui.screens.scoring import ScoringScreen

pytestmark = [pytest.mark.sandbox, pytest.mark.r]


@pytest.fixture(scope="module")
def deployed(sandbox_server, tmp_path_factory):
    """A spec deployed to the shared sandbox by the real pipeline, and an azure.Session on it."""
    from rdeploy_tui.azure import Endpoints, Workspace

    name = f"ui-score-{os.getpid() % 1000}"
    with deployed_on_sandbox(sandbox_server, tmp_path_factory.mktemp("scoring-home"), name) as (spec, session):
        yield spec, session
        Endpoints(Workspace.open(session, *vars(spec.workspace).values())).delete(spec.endpoint.name)


def app_on(deployed, **screen_kw):
    spec, session = deployed
    screen = ScoringScreen(**screen_kw)
    app = make_app("score", spec=spec.copy(), screens={"score": screen}, sandbox=True, azure=session)
    return app, screen


async def test_wizard_ends_on_one_scored_request(deployed):
    app, screen = app_on(deployed)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: screen.result is not None and not screen.busy)
        assert screen.result.status == 200, screen.result.text
        assert screen.result.served_by == "blue"
        panel = screen.panel
        assert panel.query_one("#result-table", DataTable).row_count == 2  # forecast_horizon 2: two years
        assert "HTTP 200 from blue" in str(panel.query_one("#result-status", Static).render())


async def test_model_error_comes_back_as_424_and_is_explained(deployed):
    app, screen = app_on(deployed, autostart=False)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = screen.panel
        panel.editor.load_text('{"forecast_horizon": [0]}')
        await pilot.press("f9")  # Send's alias for browsers where ctrl+s is the page's save
        await wait_for(pilot, lambda: panel.history and not panel.sending)
        result = panel.history[-1].result
        assert result.status == 424
        note = str(panel.query_one("#result-note", Static).render())
        assert "HTTP 400" in note and "forecast_horizon must be one whole number" in note


async def test_refused_key_is_explained_and_fetched_again(deployed, sandbox):
    app, screen = app_on(deployed, autostart=False)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = screen.panel
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(panel.history) == 1 and not panel.sending)
        assert panel.history[-1].result.status == 200
        # The token the panel holds has expired: the scoring front refuses the next request once, as Azure does.
        sandbox.faults.arm("expired-token", count=1, match=rf"^POST /endpoints/{deployed[0].endpoint.name}/score$")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(panel.history) == 2 and not panel.sending)
        assert panel.history[-1].result.status == 401
        assert "keys again" in str(panel.query_one("#result-note", Static).render())
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(panel.history) == 3 and not panel.sending)
        assert panel.history[-1].result.status == 200
