"""The health view against the sandbox, opened as a user does from the wizard's last screen (alt+h): Azure Monitor's
figures for the request the screen just scored, and the instance's real R process. Needs R."""

from __future__ import annotations

import os

import pytest
from ui_helpers import deployed_on_sandbox, make_app, wait_for

from rdeploy_tui.ui.screens.health import HealthScreen
from rdeploy_tui.ui.screens.scoring import ScoringScreen
from rdeploy_tui.ui.widgets.metric_row import MetricRow

pytestmark = [pytest.mark.sandbox, pytest.mark.r]


@pytest.fixture(scope="module")
def deployed(sandbox_server, tmp_path_factory):
    from rdeploy_tui.azure import Endpoints, Workspace

    name = f"ui-health-{os.getpid() % 1000}"
    with deployed_on_sandbox(sandbox_server, tmp_path_factory.mktemp("health-home"), name) as (spec, session):
        yield spec, session
        Endpoints(Workspace.open(session, *vars(spec.workspace).values())).delete(spec.endpoint.name)


async def test_alt_h_on_the_scoring_screen_shows_the_endpoints_health(deployed):
    spec, session = deployed
    screen = ScoringScreen()
    # the shared sandbox, not a second one
    app = make_app("score", spec=spec.copy(), screens={"score": screen}, sandbox=True, azure=session)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: screen.result is not None and not screen.busy)
        assert screen.result.status == 200
        await pilot.press("alt+h")  # from the request editor, which has the focus
        await wait_for(pilot, lambda: isinstance(app.screen, HealthScreen))
        view = app.screen

        def seen() -> bool:
            health = view.health
            return health is not None and health.has_traffic and bool(health.cpu) and health.instances is not None

        await wait_for(pilot, lambda: view.reads >= 1)
        for _ in range(30):  # the sampler reads the instance a few times a grain: r reads again until it has
            if seen():
                break
            before = view.reads
            await pilot.press("r")
            await wait_for(pilot, lambda before=before: view.reads > before)
        assert seen()
        health = view.health
        assert health.endpoint == spec.endpoint.name and health.deployment == "blue"
        assert health.by_class["2xx"].last and health.latency["P50"].last
        assert health.instances.last == 1
        labels = [row.row.label for row in view.query(MetricRow)]
        assert labels[0] == "requests/min" and any(label.startswith("CPU % blue-") for label in labels)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
