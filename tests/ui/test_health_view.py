"""The health view: an endpoint's figures at 80x24 and 120x40 from a fixed source (no clock or time zone on screen),
opened by its key from the endpoints list, refreshing while open, windows picked by key, a failed read said once.

Update after an intended change: .venv/bin/pytest tests/ui/test_health_view.py --snapshot-update
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from test_manage_snapshots import NOW, FixedSource
from textual.widgets import DataTable, Static
from ui_helpers import SIZES, make_app, settle, wait_for

from rdeploy_tui.azure.autoscale import AutoscaleInfo, ScaleEvent
from rdeploy_tui.azure.monitor import Health, Series
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.spec.autoscale import profiles
from rdeploy_tui.spec.deploy_spec import AutoscaleSpec
from rdeploy_tui.ui.screens.health import HealthScreen
from rdeploy_tui.ui.screens.manage import ManageScreen
from rdeploy_tui.ui.screens.scoring import ScoringScreen
from rdeploy_tui.ui.widgets.metric_row import MetricRow

END = datetime.fromtimestamp(NOW, timezone.utc)
GRAINS = 60


def _ramp(low: float, high: float, gaps: int = 0) -> tuple[float | None, ...]:
    """A load that builds up over the hour; the first `gaps` grains without data."""
    return tuple(None if i < gaps else low + (high - low) * i / (GRAINS - 1) for i in range(GRAINS))


def fixed_health(window: str = "1h", deployment: str | None = "blue") -> Health:
    times = tuple(END - timedelta(minutes=GRAINS - i) for i in range(GRAINS))
    requests = _ramp(20, 240, gaps=10)
    errors = tuple(None if p is None else (6.0 if 40 <= i < 44 else 0.0) for i, p in enumerate(requests))
    info = AutoscaleInfo(
        "/subscriptions/s/resourceGroups/rg-ml/providers/Microsoft.Insights/autoscaleSettings/autoscale-r-blue",
        "autoscale-r-endpoint-forecast-blue",
        True,
        profiles(AutoscaleSpec(min=1, max=3, default=1)),
        "/subscriptions/s/.../deployments/blue",
    )
    events = (
        ScaleEvent(END - timedelta(minutes=12), "out", 2, 3, "Succeeded", ""),
        ScaleEvent(END - timedelta(minutes=31), "out", 1, 2, "Succeeded", ""),
    )
    return Health(
        "r-endpoint-forecast",
        deployment,
        window,
        "PT1M",
        END - timedelta(hours=1),
        END,
        times,
        Series("RequestsPerMinute", "Count", requests),
        {"2xx": Series("RequestsPerMinute", "Count", requests), "5xx": Series("RequestsPerMinute", "Count", errors)},
        {
            "P50": Series("RequestLatency_P50", "MilliSeconds", _ramp(9, 14, gaps=10)),
            "P95": Series("RequestLatency_P95", "MilliSeconds", _ramp(20, 60, gaps=10)),
            "P99": Series("RequestLatency_P99", "MilliSeconds", _ramp(30, 140, gaps=10)),
        },
        {
            "blue-1": Series("CpuUtilizationPercentage", "Percent", _ramp(2, 22)),
            "blue-2": Series("CpuUtilizationPercentage", "Percent", _ramp(1, 18, gaps=29)),
            "blue-3": Series("CpuUtilizationPercentage", "Percent", _ramp(1, 15, gaps=48)),
        },
        {
            "blue-1": Series("CpuMemoryUtilizationPercentage", "Percent", _ramp(0.8, 0.9)),
            "blue-2": Series("CpuMemoryUtilizationPercentage", "Percent", _ramp(0.8, 0.8, gaps=29)),
            "blue-3": Series("CpuMemoryUtilizationPercentage", "Percent", _ramp(0.8, 0.8, gaps=48)),
        },
        Series("DeploymentCapacity", "Count", tuple(1.0 if i < 29 else 2.0 if i < 48 else 3.0 for i in range(GRAINS))),
        info,
        events,
    )


def quiet_app():
    """The wizard on its last step, not scoring on its own (no Azure here)."""
    return make_app("score", screens={"score": ScoringScreen(autostart=False)})


class HealthSource(FixedSource):
    """The endpoints list's fixed source, reading fixed health too (and counting the reads)."""

    def __init__(self, fail: bool = False) -> None:
        self.asked: list[tuple[str, str | None, str]] = []
        self.fail = fail
        self.lock = threading.Lock()

    def health(self, endpoint, deployment, window):
        with self.lock:
            self.asked.append((endpoint, deployment, window))
        if self.fail:
            raise RdeployError(
                "Reading the metrics of endpoint r-endpoint-forecast was refused (AuthorizationFailed).",
                "Ask for the Monitoring Reader role on the workspace's resource group.",
            )
        return fixed_health(window, deployment)


def app_with_health(**screen_kw):
    app = quiet_app()
    source = HealthSource()

    async def open_it(pilot):
        screen = HealthScreen(
            source,
            "r-endpoint-forecast",
            ["blue", "green"],
            deployment="blue",
            clock=lambda: NOW,
            tz=timezone.utc,
            **screen_kw,
        )
        app.push_screen(screen)
        await wait_for(pilot, lambda: screen.reads >= 1)
        await settle(pilot)
        return screen

    return app, open_it, source


@pytest.mark.parametrize("size", SIZES)
def test_health_view(snap_compare, size):
    app, open_it, _ = app_with_health()
    assert snap_compare(app, terminal_size=size, run_before=open_it)


async def test_h_on_the_endpoints_list_opens_the_health_of_the_selected_deployment():
    app = quiet_app()
    source = HealthSource()
    async with app.run_test(size=(80, 24)) as pilot:
        manage = ManageScreen(source, clock=lambda: NOW)
        app.push_screen(manage)
        await wait_for(pilot, lambda: manage.infos)
        manage.query_one("#endpoints", DataTable).focus()
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HealthScreen) and app.screen.reads >= 1)
        assert source.asked[0] == ("r-endpoint-forecast", "blue", "1h")
        labels = [row.row.label for row in app.screen.query(MetricRow)]
        assert labels[:4] == ["requests/min", "errors 4xx/min", "errors 5xx/min", "latency p50 ms"]
        assert "CPU % blue-3" in labels and "instances" in labels
        autoscale = str(app.screen.query_one("#health-autoscale", Static).render())
        assert "Autoscale on: 1-3 instances, default 1 (autoscale-r-endpoint-forecast-blue)" in autoscale
        assert "+1 when CPU > 20 % for 5 min · -1 when CPU < 5 % for 10 min" in autoscale
        # Opened from the list, the view shows times in the terminal's time zone.
        newest, older = ((END - timedelta(minutes=m)).astimezone().strftime("%H:%M:%S") for m in (12, 31))
        assert f"Scale events: 2 in the last 1h; newest {newest} scale out 2 -> 3 (list above)" in autoscale
        listed = str(app.screen.query_one("#health-events", Static).render())
        assert listed.splitlines()[1:] == [
            f"  {newest} scale out 2 -> 3 succeeded",
            f"  {older} scale out 1 -> 2 succeeded",
        ]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is manage)


async def test_the_health_key_is_listed_in_help_and_the_palette():
    from rdeploy_tui.ui.keys import screen_actions

    app = quiet_app()
    async with app.run_test(size=(80, 24)) as pilot:
        manage = ManageScreen(HealthSource(), clock=lambda: NOW)
        app.push_screen(manage)
        await wait_for(pilot, lambda: manage.infos)
        actions = {a.binding_id: a for a in screen_actions(manage)}
        assert list(actions["manage.health"].keys) == ["h"] and actions["manage.health"].description == "Health"
        await pilot.press("f1")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "HelpScreen")
        assert ("manage.health", "Health") in [(a.binding_id, a.description) for a in app.screen.actions]


async def test_the_view_refreshes_while_open_and_w_picks_the_next_window():
    app, open_it, source = app_with_health(refresh_s=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_it(pilot)
        await wait_for(pilot, lambda: screen.reads >= 3)  # read again by the timer, not by a key
        await pilot.press("w")
        await wait_for(pilot, lambda: ("r-endpoint-forecast", "blue", "6h") in source.asked)
        await wait_for(pilot, lambda: screen.health is not None and screen.health.window == "6h")
        assert "last 6h in 5-minute grains" in str(screen.query_one("#health-title", Static).render())


async def test_a_failed_read_is_said_once_and_r_tries_again():
    app = quiet_app()
    source = HealthSource(fail=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = HealthScreen(source, "r-endpoint-forecast", ["blue"], refresh_s=0.05)
        app.push_screen(screen)
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ErrorDialog")
        assert "Monitoring Reader" in app.screen.next_step
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await wait_for(pilot, lambda: "r tries again" in str(screen.query_one("#health-status", Static).render()))
        assert not screen.refreshing  # no dialog every refresh period
        source.fail = False
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.reads >= 1)
        assert screen.refreshing
