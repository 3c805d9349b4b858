"""Container logs of a deployment (inference-server, storage-initializer) with refresh and follow.
Azure returns a log's tail; following polls it and appends the lines not seen before."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Select, Static
from textual.worker import Worker

from rdeploy_tui.azure.online import LOG_CONTAINERS, new_lines  # no SDK import: plain helpers of the Azure layer
from rdeploy_tui.ui.host import WizardHost
from rdeploy_tui.ui.screens.base import WorkerErrors
from rdeploy_tui.ui.widgets.footer import KeysFooter
from rdeploy_tui.ui.widgets.log_panel import LogPanel

TAIL_LINES = 500
FOLLOW_EVERY_S = 5.0  # getLogs is an ARM call: polling faster only spends the request quota


class LogRead(Message):
    """A log's tail as Azure returned it (`replace`: shown instead of what is there, else only its new lines)."""

    def __init__(self, deployment: str, container: str, lines: list[str], replace: bool) -> None:
        super().__init__()
        self.deployment, self.container, self.lines, self.replace = deployment, container, lines, replace


class ManageLogsScreen(WorkerErrors, Screen):
    app: WizardHost  # and a textual App

    DEFAULT_CSS = """
    ManageLogsScreen { layout: vertical; }
    ManageLogsScreen #logs-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    ManageLogsScreen .logs-bar { height: 1; padding: 0 1; }
    /* a deployment's name (at most 32 characters) whole beside the container and the buttons at 80 columns; what
       the screen is doing on a row of its own below them */
    ManageLogsScreen .logs-bar #logs-deployment { width: 35; margin-right: 1; }
    ManageLogsScreen .logs-bar #logs-container { width: 22; margin-right: 1; }
    ManageLogsScreen .logs-bar Button { margin-right: 1; min-width: 8; }
    ManageLogsScreen #logs-status { height: auto; padding: 0 1; color: $text-muted; }
    ManageLogsScreen LogPanel { padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "Refresh", id="logs.refresh"),
        Binding("f", "follow", "Follow on/off", id="logs.follow"),
        Binding("escape", "close", "Endpoints", id="logs.close"),
    ]

    def __init__(self, source: Any, info: Any, *, deployment: str | None = None) -> None:
        super().__init__()
        self.source = source
        self.info = info
        names = [d.name for d in info.deployments]
        self.deployment = deployment if deployment in names else names[0]
        self.container = LOG_CONTAINERS[0]
        self.following = False
        self._timer: Timer | None = None
        self._shown: list[str] = []  # the last tail read, to find new lines when following

    def compose(self) -> ComposeResult:
        yield Static(f"Logs of {self.info.name}", id="logs-title", markup=False)
        with Horizontal(classes="logs-bar"):
            yield Select(
                [(d.name, d.name) for d in self.info.deployments],
                value=self.deployment,
                allow_blank=False,
                compact=True,
                id="logs-deployment",
            )
            yield Select(
                [(c, c) for c in LOG_CONTAINERS],
                value=self.container,
                allow_blank=False,
                compact=True,
                id="logs-container",
            )
            yield Button("Refresh", id="logs-refresh", compact=True)
            yield Button("Follow", id="logs-follow", compact=True)
        yield Static("", id="logs-status", markup=False)
        yield LogPanel(self._panel_title(), id="logs-panel")
        yield KeysFooter()

    def _panel_title(self) -> str:
        return f"{self.container} of {self.deployment}"

    def on_mount(self) -> None:
        self.action_refresh()

    @on(Select.Changed)
    def _picked(self, event: Select.Changed) -> None:
        picked = (self.deployment, self.container)
        if event.select.id == "logs-deployment":
            self.deployment = str(event.value)
        elif event.select.id == "logs-container":
            self.container = str(event.value)
        if (self.deployment, self.container) != picked:
            self.action_refresh()

    @on(Button.Pressed, "#logs-refresh")
    def action_refresh(self) -> None:
        """Read the tail again from the start."""
        panel = self.query_one(LogPanel)
        panel.title = self._panel_title()
        panel.clear()
        self._shown = []
        self._status("reading …")
        self.read(self.deployment, self.container, replace=True)

    @on(Button.Pressed, "#logs-follow")
    def action_follow(self) -> None:
        self.following = not self.following
        if self.following:
            self._timer = self.set_interval(FOLLOW_EVERY_S, self._poll)
            self._poll()
        elif self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.query_one("#logs-follow", Button).label = "Stop follow" if self.following else "Follow"
        self._status(f"following (every {FOLLOW_EVERY_S:.0f} s)" if self.following else "")

    def _poll(self) -> None:
        self.read(self.deployment, self.container, replace=False)

    @work(thread=True, exclusive=True, exit_on_error=False, group="logs")
    def read(self, deployment: str, container: str, replace: bool) -> None:
        lines = self.source.logs(self.info.name, deployment, container, TAIL_LINES)
        self.post_message(LogRead(deployment, container, lines, replace))

    def on_log_read(self, message: LogRead) -> None:
        deployment, container, lines, replace = message.deployment, message.container, message.lines, message.replace
        if (deployment, container) != (self.deployment, self.container):
            return  # the user picked another log meanwhile
        fresh = lines if replace else new_lines(self._shown, lines)
        self._shown = lines
        if replace:
            self.query_one(LogPanel).clear()  # a read started earlier may have shown its tail already
        if fresh:
            self.query_one(LogPanel).add(fresh)
        if replace and not lines:
            self.query_one(LogPanel).add([f"(the {container} log is empty)"])
        self._status(f"following (every {FOLLOW_EVERY_S:.0f} s)" if self.following else f"last {TAIL_LINES} lines")

    def worker_failed(self, worker: Worker) -> None:
        if self.following:
            self.action_follow()  # stop polling a log that cannot be read
        self._status("could not read the log (see the message); r tries again")

    def _status(self, text: str) -> None:
        self.query_one("#logs-status", Static).update(text)

    def action_close(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.app.pop_screen()
