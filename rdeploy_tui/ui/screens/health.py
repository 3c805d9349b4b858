"""An endpoint's health at a glance (h on the endpoints list, alt+h on a scoring screen): requests per minute,
errors by status class, latency percentiles, each instance's CPU and memory and the instance count, over the last
hour (w picks 6 h, 24 h, 7 d), as sparklines with the figures beside them, read again every REFRESH_S seconds while
the screen is open; then the deployment's autoscale rule and its scale events.

Read from Azure Monitor by rdeploy_tui.azure.monitor in a thread worker, handed over by a message. The screen takes
any source with `health(endpoint, deployment, window)` (tests give fixed figures); by default the wizard's session."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Select, Static
from textual.worker import Worker, WorkerState

from rdeploy_tui.health_text import health_rows
from rdeploy_tui.ui.host import WizardHost
from rdeploy_tui.ui.screens.base import WorkerErrors
from rdeploy_tui.ui.widgets.footer import KeysFooter
from rdeploy_tui.ui.widgets.metric_row import NUMBER_WIDTH, MetricRow

WINDOWS = ("1h", "6h", "24h", "7d")  # azure.monitor.WINDOWS: named here so the screen opens without the Azure layer
GRAINS = {"1h": "1-minute", "6h": "5-minute", "24h": "15-minute", "7d": "1-hour"}
REFRESH_S = 15.0  # Azure Monitor's grains are a minute; ARM reads count against the subscription's quota


class AzureHealth:
    """Health through the wizard's session (its workspace): the real source."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def health(self, endpoint: str, deployment: str | None, window: str) -> Any:
        from rdeploy_tui.azure.monitor import read_health  # the SDK loads only when a call needs it

        return read_health(self.session.workspace(), endpoint, deployment, window)


def health_source(source: Any) -> Any:
    """The management screens' source when it reads health itself (tests give fixed figures), else None: the screen
    then reads through the wizard's session."""
    return source if callable(getattr(source, "health", None)) else None


class HealthScreen(WorkerErrors, Screen):
    app: WizardHost  # and a textual App

    DEFAULT_CSS = """
    HealthScreen { layout: vertical; }
    HealthScreen #health-title { height: auto; padding: 0 1; background: $panel; text-style: bold; }  /* wraps */
    HealthScreen .health-bar { height: 1; padding: 0 1; }
    HealthScreen .health-bar Select { width: 16; margin-right: 1; }
    HealthScreen .health-bar #health-deployment { width: 35; }  /* a name of 32 characters whole */
    HealthScreen #health-status { height: auto; padding: 0 1; color: $text-muted; }  /* a row of its own: read whole */
    HealthScreen #health-head { height: 1; padding: 0 1; color: $text-muted; }
    HealthScreen #health-rows { height: 1fr; padding: 0 1; }
    HealthScreen #health-events { height: auto; margin-top: 1; color: $text-muted; }
    HealthScreen #health-autoscale { height: auto; padding: 0 1; border-top: solid $panel-lighten-2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "Refresh", id="health.refresh"),
        Binding("w", "next_window", "Window", id="health.window"),
        Binding("escape", "close", "Back", id="health.close"),
    ]

    class Read(Message):
        """A worker read the health (posted from its thread)."""

        def __init__(self, health: Any, window: str, deployment: str | None) -> None:
            super().__init__()
            self.health, self.window, self.deployment = health, window, deployment

    def __init__(
        self,
        source: Any,
        endpoint: str,
        deployments: list[str],
        *,
        deployment: str | None = None,
        window: str = WINDOWS[0],
        clock: Callable[[], float] = time.time,
        tz: tzinfo | None = None,
        refresh_s: float = REFRESH_S,
    ) -> None:
        super().__init__()
        self._source = source
        self.endpoint = endpoint
        self.deployments = list(deployments)
        self.deployment: str | None = (
            deployment if deployment in self.deployments else next(iter(self.deployments), None)
        )
        self.window = window
        self.clock = clock
        self.tz = tz  # None: the terminal's local time
        self.refresh_s = refresh_s
        self.health: Any = None
        self.reads = 0  # health read and shown so far
        self._timer: Timer | None = None
        self._paused = False  # the refreshes stop after a failed read until r

    @property
    def refreshing(self) -> bool:
        """Whether the view reads again by itself (it stops after a failed read, until r)."""
        return self._timer is not None and not self._paused

    @property
    def source(self) -> Any:
        if self._source is None:
            self._source = AzureHealth(self.app.state)
        return self._source

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="health-title", markup=False)
        with Horizontal(classes="health-bar"):
            yield Select(
                [(f"last {w}", w) for w in WINDOWS],
                value=self.window,
                allow_blank=False,
                compact=True,
                id="health-window",
            )
            if self.deployments:
                yield Select(
                    [(d, d) for d in self.deployments],
                    value=self.deployment,
                    allow_blank=False,
                    compact=True,
                    id="health-deployment",
                )
        yield Static("reading Azure Monitor …", id="health-status", markup=False)
        yield Static("", id="health-head", markup=False)
        yield VerticalScroll(id="health-rows")
        yield Static("", id="health-autoscale", markup=False)
        yield KeysFooter()

    def _title(self) -> str:
        who = f" · deployment {self.deployment}" if self.deployment else ""
        return f"Health of {self.endpoint}{who} · last {self.window} in {GRAINS[self.window]} grains"

    def on_mount(self) -> None:
        self.action_refresh()
        self._timer = self.set_interval(self.refresh_s, self._tick)

    def _tick(self) -> None:
        if not self._paused:
            self.read(self.window, self.deployment)

    # -- reading -----------------------------------------------------------------------------------------
    def action_refresh(self) -> None:
        if self._timer is not None and self._paused:
            self._timer.resume()  # read again after a failure stopped the refreshes
            self._paused = False
        self._status("reading Azure Monitor …")
        self.read(self.window, self.deployment)

    @work(thread=True, exclusive=True, exit_on_error=False, group="health")
    def read(self, window: str, deployment: str | None) -> None:
        health = self.source.health(self.endpoint, deployment, window)
        self.post_message(self.Read(health, window, deployment))

    async def on_health_screen_read(self, message: Read) -> None:
        if (message.window, message.deployment) != (self.window, self.deployment):
            return  # the user picked another window or deployment meanwhile
        self.health = message.health
        await self.show(message.health)
        self.reads += 1

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and self._paused:
            return  # a read that started before the refreshes stopped: the first failure was said
        super().on_worker_state_changed(event)

    def worker_failed(self, worker: Worker) -> None:
        if self._timer is not None:
            self._timer.pause()  # no dialog every REFRESH_S seconds: r reads (and refreshes) again
            self._paused = True
        self._status("could not read Azure Monitor (see the message); r tries again")

    async def show(self, health: Any) -> None:
        rows = health_rows(health)
        width = max(14, min(22, max(len(r.label) for r in rows) + 1))
        head = "".ljust(width) + " newest on the right"
        self.query_one("#health-head", Static).update(
            head.ljust(max(0, self.size.width - 2 - 3 * (NUMBER_WIDTH + 1)))
            + "".join(" " + h.rjust(NUMBER_WIDTH) for h in ("now", "avg", "max"))
        )
        container = self.query_one("#health-rows", VerticalScroll)
        await container.remove_children()
        widgets: list[Widget] = [MetricRow(r, width, warn=r.label.startswith("errors")) for r in rows]
        if health.events:  # every scale event of the window, below the figures (the list scrolls with them)
            listed = [f"Scale events in the last {health.window}, newest first:"]
            listed += [f"  {e.text(self.tz)}" for e in health.events]
            widgets.append(Static("\n".join(listed), id="health-events", markup=False))
        await container.mount_all(widgets)
        self.query_one("#health-autoscale", Static).update(self._autoscale_text(health))
        when = datetime.fromtimestamp(self.clock(), self.tz).strftime("%H:%M:%S")
        quiet = "" if health.has_traffic else " · no requests in this window"
        self._status(f"read {when}, every {self.refresh_s:.0f} s{quiet}")

    def _autoscale_text(self, health: Any) -> str:
        """Three lines: the setting and its limits, its rules, its scale events (newest first)."""
        if not health.deployment:
            return ""
        info = health.autoscale
        if info is None:
            return (
                f"Autoscale: off. `rdeploy-tui endpoints autoscale {self.endpoint} -d {health.deployment} --max N` "
                "turns it on."
            )
        profile = info.default_profile
        state = "on" if info.enabled else "off (kept)"
        limits = f"{profile.minimum}-{profile.maximum} instances, default {profile.default}" if profile else ""
        lines = [f"Autoscale {state}: {limits} ({info.name})"]
        if profile is not None and profile.rules:
            cooldowns = sorted({r.cooldown_minutes for r in profile.rules})
            lines.append(
                " · ".join(r.short() for r in profile.rules) + f" · cooldown {'/'.join(map(str, cooldowns))} min"
            )
        if len(info.profiles) > 1:
            lines[-1] += f" · {len(info.profiles) - 1} scheduled profile(s): endpoints autoscale shows them"
        if health.events:
            newest = health.events[0].text(self.tz).replace(" succeeded", "")
            lines.append(
                f"Scale events: {len(health.events)} in the last {health.window}; newest {newest} (list above)"
            )
        else:
            lines.append(f"No scale events in the last {health.window}.")
        return "\n".join(lines)

    def _status(self, text: str) -> None:
        self.query_one("#health-status", Static).update(text)

    # -- choosing ----------------------------------------------------------------------------------------
    def action_next_window(self) -> None:
        self.query_one("#health-window", Select).value = WINDOWS[(WINDOWS.index(self.window) + 1) % len(WINDOWS)]

    @on(Select.Changed)
    def _picked(self, event: Select.Changed) -> None:
        before = (self.window, self.deployment)
        if event.select.id == "health-window":
            self.window = str(event.value)
        elif event.select.id == "health-deployment":
            self.deployment = str(event.value)
        if (self.window, self.deployment) != before:
            self.query_one("#health-title", Static).update(self._title())
            self.action_refresh()

    def action_close(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.app.pop_screen()
