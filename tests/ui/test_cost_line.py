"""The endpoint step and the review show the list price (the sandbox's price API) for the chosen size and count."""

from __future__ import annotations

import os

import pytest
from sandbox_specs import connection_on
from textual.widgets import Select, Static
from ui_helpers import make_app, started, wait_for

from rdeploy_tui.ui.screens.endpoint import EndpointScreen
from rdeploy_tui.ui.widgets.field import Field

pytestmark = pytest.mark.sandbox


async def test_endpoint_step_shows_the_cost_of_size_times_count(sandbox, monkeypatch):
    from sandbox_specs import spec_on_sandbox

    from rdeploy_tui.azure import Workspace

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", os.environ.get("REQUESTS_CA_BUNDLE", ""))
    with connection_on(sandbox) as session:
        spec = spec_on_sandbox(sandbox, "cost-ui")
        ws = Workspace.open(session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)
        app = make_app("endpoint", spec=spec, azure=session, workspace=ws)
        async with app.run_test(size=(120, 40)) as pilot:
            await started(pilot)
            screen = app.screen
            assert isinstance(screen, EndpointScreen)
            note = screen.query_one("#instance-warning", Static)
            await wait_for(pilot, lambda: "Cost: 1 x Standard_DS3_v2: 0.29 USD/hour" in str(note.render()), 30)
            assert "list price before discounts and taxes" in str(note.render())
            screen.query_one("#instance-count", Field).input.value = "3"
            await wait_for(
                pilot, lambda: "Cost: 3 x Standard_DS3_v2: 0.88 USD/hour, 21.10 USD/day" in str(note.render()), 10
            )
            screen.query_one("#instance-type", Select).value = "Standard_F4s_v2"
            await wait_for(pilot, lambda: "Cost: 3 x Standard_F4s_v2" in str(note.render()), 30)
            await pilot.press("f2")  # to the review, which says the same
            await wait_for(pilot, lambda: app.step == "review")
            view = app.screen.query_one("#review-view")
            await wait_for(pilot, lambda: "Cost: 3 x Standard_F4s_v2: 0.51 USD/hour" in view.text, 30)
