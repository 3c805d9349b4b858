"""The management screens at 80x24 and 120x40, fed fixed endpoints (no clock, port or temp path on screen).

Update after an intended change: .venv/bin/pytest tests/ui/test_manage_snapshots.py --snapshot-update
"""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input
from ui_helpers import SIZES, make_app, wait_for

from rdeploy_tui.azure.online import DeploymentInfo, EndpointInfo
from rdeploy_tui.azure.prices import Bill
from rdeploy_tui.scoring.target import ScoringTarget
from rdeploy_tui.ui.screens.manage import ManageScreen
from rdeploy_tui.ui.screens.scoring import ScoringScreen
from rdeploy_tui.ui.widgets.field import Field

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z
MODEL = (
    "/subscriptions/5a4d1f3e-0000/resourceGroups/rg-ml"
    "/providers/Microsoft.MachineLearningServices/workspaces/ws-ml/models/forecast-model/versions/3"
)
IMAGE = "acrml.azurecr.io/r-forecast:1a2b3c4d5e6f"


def dep(name: str, count: int = 1, state: str = "Succeeded", kind: str = "Standard_DS3_v2") -> DeploymentInfo:
    return DeploymentInfo(name, state, kind, count, IMAGE, MODEL)


ENDPOINTS = [
    EndpointInfo(
        "r-endpoint-forecast",
        "Succeeded",
        "aml_token",
        "https://r-endpoint-forecast.westeurope.inference.ml.azure.com/score",
        {"blue": 90, "green": 10},
        "westeurope",
        (dep("blue", 2), dep("green")),
        created_at="2023-11-11T09:00:00Z",
        tags={"rdeploy-expires-at": "2023-11-15T06:13:20Z"},  # 8 h after NOW
    ),
    EndpointInfo(
        "churn-ep",
        "Succeeded",
        "key",
        "https://churn-ep.westeurope.inference.ml.azure.com/score",
        {"main": 0},
        "westeurope",
        (dep("main", 1, "Failed", "Standard_F4s_v2"),),
        created_at="2023-11-14T19:40:00Z",
    ),
    EndpointInfo(
        "empty-ep",
        "Succeeded",
        "key",
        "https://empty-ep.westeurope.inference.ml.azure.com/score",
        {},
        "westeurope",
        (),
        created_at="2023-10-01T00:00:00Z",
    ),
]
LOG = [
    "2023-11-14T22:00:01Z Pulling image acrml.azurecr.io/r-forecast:1a2b3c4d5e6f",
    "2023-11-14T22:00:09Z Starting container: Rscript start_plumber.R",
    "Running plumber API at http://0.0.0.0:8000",
    "Running swagger Docs at http://0.0.0.0:8000/__docs__/",
]


class FixedSource:
    """The source the management screens read, with fixed answers."""

    label = "workspace ws-ml (rg-ml)"

    def endpoints(self):
        return list(ENDPOINTS)

    def logs(self, endpoint, deployment, container, lines):
        return [f"[{container} of {deployment}]", *LOG]

    def target(self, endpoint):
        return ScoringTarget(f"https://{endpoint}.westeurope.inference.ml.azure.com/score", "fixed-key")

    def sample_for(self, endpoint):
        return {"forecast_horizon": [2]}

    def score_route(self, endpoint):
        return "/score"

    def bills(self, infos):
        """List prices as azure/prices.py adds them up (DS3_v2 0.293 USD/h, F4s_v2 0.19 USD/h)."""
        hourly = {"Standard_DS3_v2": 0.293, "Standard_F4s_v2": 0.19}
        return {
            i.name: Bill(
                sum(hourly[d.instance_type] * d.instance_count for d in i.deployments), "USD", (), len(i.deployments)
            )
            for i in infos
        }


def app_with_manage():
    app = make_app("score", screens={"score": ScoringScreen(autostart=False)})

    async def open_it(pilot):
        screen = ManageScreen(FixedSource(), clock=lambda: NOW)
        app.push_screen(screen)
        while not screen.infos:
            await pilot.pause(0.02)
        screen.query_one("#endpoints", DataTable).focus()
        await pilot.pause()
        return screen

    return app, open_it


@pytest.mark.parametrize("size", SIZES)
def test_manage_list(snap_compare, size):
    app, open_it = app_with_manage()
    assert snap_compare(app, terminal_size=size, run_before=open_it)


@pytest.mark.parametrize("size", SIZES)
def test_manage_traffic_must_add_up(snap_compare, size):
    app, open_it = app_with_manage()

    async def edit(pilot):
        await open_it(pilot)
        await pilot.press("t")
        blue = pilot.app.screen.query(Field).first()
        blue.input.focus()
        blue.set_text("80")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=edit)


@pytest.mark.parametrize("size", SIZES)
def test_manage_delete_endpoint_wrong_name(snap_compare, size):
    app, open_it = app_with_manage()

    async def delete(pilot):
        await open_it(pilot)
        await pilot.press("x")
        pilot.app.screen.query_one("#confirm-name", Input).value = "r-endpoint"
        await pilot.click("#delete")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=delete)


@pytest.mark.parametrize("size", SIZES)
def test_manage_logs(snap_compare, size):
    app, open_it = app_with_manage()

    async def logs(pilot):
        await open_it(pilot)
        await pilot.press("l")
        screen = pilot.app.screen
        # The log is read by a worker: wait until all its lines are in (the tail ends with the last LOG line).
        await wait_for(pilot, lambda: screen.query_one("LogPanel").lines_view.line_count >= len(LOG) + 1)

    assert snap_compare(app, terminal_size=size, run_before=logs)
