"""The scoring screen at 80x24 and 120x40 with fixed answers (latency, URI and key are fixed values).

Update after an intended change: .venv/bin/pytest tests/ui/test_scoring_snapshots.py --snapshot-update
"""

from __future__ import annotations

import json

import pytest
from textual.widgets import TabbedContent
from ui_helpers import SIZES, make_app, wait_for

from rdeploy_tui.scoring.load_test import LoadTestResult
from rdeploy_tui.scoring.result import ScoreResult
from rdeploy_tui.scoring.target import ScoringTarget
from rdeploy_tui.ui.screens.scoring import ScoringScreen

URI = "https://r-endpoint-forecast.westeurope.inference.ml.azure.com/score"
RECORDS = [
    {"year": 1971, "forecast": 782.2776, "lower_95": 487.2007, "upper_95": 1077.3544},
    {"year": 1972, "forecast": 779.5633, "lower_95": 484.4864, "upper_95": 1074.6401},
]


def scoring_app():
    screen = ScoringScreen(autostart=False, resolver=lambda: ScoringTarget(URI, "fixed-secret-key"))
    return make_app("score", screens={"score": screen}), screen


def shows(result: ScoreResult):
    async def run_before(pilot):
        pilot.app.screen.show_result(result)
        # The request editor draws its cursor line only while focused: focus it and wait, so the picture
        # does not depend on when the screen's own auto-focus lands (it varied on a loaded machine).
        editor = pilot.app.screen.query_one("#request-editor")
        editor.focus()
        await wait_for(pilot, lambda: pilot.app.focused is editor)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_scored_table(snap_compare, size):
    app, _ = scoring_app()
    result = ScoreResult(200, 42.0, {"azureml-model-deployment": "blue"}, json.dumps(RECORDS).encode())
    assert snap_compare(app, terminal_size=size, run_before=shows(result))


@pytest.mark.parametrize("size", SIZES)
def test_model_error_424(snap_compare, size):
    app, _ = scoring_app()
    result = ScoreResult(
        424,
        17.0,
        {
            "azureml-model-deployment": "blue",
            "ms-azureml-model-error-statuscode": "400",
            "ms-azureml-model-error-reason": "model_error",
        },
        b'{"error":"forecast_horizon must be one whole number from 1 to 100"}',
    )
    assert snap_compare(app, terminal_size=size, run_before=shows(result))


@pytest.mark.parametrize("size", SIZES)
def test_json_inside_a_string(snap_compare, size):
    app, _ = scoring_app()
    result = ScoreResult(200, 23.0, {"azureml-model-deployment": "blue"}, json.dumps([json.dumps(RECORDS)]).encode())
    assert snap_compare(app, terminal_size=size, run_before=shows(result))


@pytest.mark.parametrize("size", SIZES)
def test_snippets_masked(snap_compare, size):
    app, screen = scoring_app()

    async def snippets(pilot):
        await pilot.pause()  # the tabs settle on their first pane before another is picked
        screen.panel.query_one("#scoring-tabs", TabbedContent).active = "tab-snippets"
        # The snippets are filled once the key is fetched (a worker): wait for them, not for a time.
        await wait_for(pilot, lambda: screen.panel.query_one("#snippet-curl").text != "")

    assert snap_compare(app, terminal_size=size, run_before=snippets)


@pytest.mark.parametrize("size", SIZES)
def test_load_test_result(snap_compare, size):
    app, screen = scoring_app()

    async def load(pilot):
        await pilot.pause()
        screen.panel.query_one("#scoring-tabs", TabbedContent).active = "tab-load"
        await pilot.pause()
        latencies = tuple(float(ms) for ms in range(10, 60))
        screen.panel.show_load_result(LoadTestResult(50, 4, latencies, {200: 48, 424: 2}, {}, 2.5))
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=load)
