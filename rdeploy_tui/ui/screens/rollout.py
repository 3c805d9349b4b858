"""The rollout, live: the old and the new deployment side by side (errors, p50/p95 latency, a sparkline of each
round's p50), the stage, and keys to advance, hold or roll back by hand. A view over pipeline/rollout.py, which
runs in a thread worker and is steered through its RolloutControl; nothing here decides a threshold."""

from __future__ import annotations

import threading
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Sparkline, Static

from rdeploy_tui.pipeline.events import (
    LogLines,
    PlanFinished,
    StageMeasured,
    StepFailed,
    StepFinished,
    StepProgress,
    StepStarted,
)
from rdeploy_tui.pipeline.rollout import RolloutControl
from rdeploy_tui.ui.widgets.footer import KeysFooter
from rdeploy_tui.ui.widgets.log_panel import LogPanel


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


class RolloutScreen(Screen):
    DEFAULT_CSS = """
    RolloutScreen { layout: vertical; }
    RolloutScreen #rollout-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    RolloutScreen #rollout-stage { height: auto; max-height: 3; padding: 0 1; }
    RolloutScreen #sides { height: 7; }
    RolloutScreen .side { width: 1fr; border: round $primary; padding: 0 1; }
    RolloutScreen .side Static { height: 3; }
    RolloutScreen .side Sparkline { height: 2; }
    RolloutScreen #rollout-log { height: 1fr; }
    """
    BINDINGS = [
        Binding("a", "advance", "Advance", id="rollout.advance"),
        Binding("h", "hold", "Hold/resume", id="rollout.hold"),
        Binding("b", "roll_back", "Roll back", id="rollout.roll_back"),
        Binding("escape", "close", "Close", id="rollout.close"),
    ]

    def __init__(self, spec: Any, *, options: Any = None, autostart: bool = True) -> None:
        super().__init__()
        self.spec = spec
        self.options = options
        self.autostart = autostart
        self.control = RolloutControl()
        self.cancel = threading.Event()
        self.running = False
        self.outcome: Any = None
        self.history: dict[str, list[float]] = {"old": [], "new": []}

    def compose(self) -> ComposeResult:
        yield Static(f"Rollout on endpoint {self.spec.endpoint.name}", id="rollout-title", markup=False)
        yield Static("Starting …", id="rollout-stage", markup=False)
        with Horizontal(id="sides"):
            for side in ("old", "new"):
                with Vertical(classes="side", id=f"side-{side}"):
                    yield Static("-", id=f"{side}-stats", markup=False)
                    yield Sparkline([], id=f"{side}-spark")
        yield LogPanel("Rollout log", id="rollout-log")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#side-old").border_title = "old (serving)"
        self.query_one("#side-new").border_title = "new"
        if self.autostart:
            self.start()

    def start(self) -> None:
        self.running = True
        self.run_rollout()

    @work(thread=True, exclusive=True, exit_on_error=False, group="rollout")
    def run_rollout(self) -> None:
        from rdeploy_tui.pipeline.rollout import run_rollout

        session = self.app.session
        outcome = run_rollout(
            self.spec,
            session=session.azure(),
            sink=lambda e: self.app.call_from_thread(self.apply, e),
            options=self.options,
            base_dir=session.base_dir,
            cancel=self.cancel,
            control=self.control,
        )
        self.app.call_from_thread(self._finished, outcome)

    # -- events -------------------------------------------------------------------------------------------
    def apply(self, event: Any) -> None:
        log = self.query_one("#rollout-log", LogPanel)
        if isinstance(event, StageMeasured):
            self.show_measured(event)
            log.add([f"{event.step}: {event.line()}"] + ([f"!! {event.verdict}"] if event.verdict else []))
        elif isinstance(event, StepStarted):
            self._stage(event.title)
            log.add([f"==> {event.title}"])
        elif isinstance(event, StepProgress):
            log.add([f"    {event.message}"])
        elif isinstance(event, LogLines):
            log.add(f"    {event.source} | {line}" for line in event.lines)
        elif isinstance(event, StepFinished):
            log.add([f" ok {event.step}: {event.message}"])
        elif isinstance(event, StepFailed):
            log.add([f" !! {event.step}: {event.what}"] + ([f"    Next: {event.next_step}"] if event.next_step else []))
        elif isinstance(event, PlanFinished):
            self._stage(event.summary)
        log.flush()

    def show_measured(self, m: StageMeasured) -> None:
        self.query_one("#side-old").border_title = f"{m.old} (old)"
        self.query_one("#side-new").border_title = f"{m.new} (new)"
        for side, name, sent, errors, p50, p95 in (
            ("old", m.old, m.old_sent, m.old_errors, m.old_p50, m.old_p95),
            ("new", m.new, m.new_sent, m.new_errors, m.new_p50, m.new_p95),
        ):
            text = f"{m.step}: {errors}/{sent} errors\np50 {_ms(p50)} · p95 {_ms(p95)}"
            if side == "new":
                text += f"\nanswers differ {m.mismatches}/{m.compared}"
            self.query_one(f"#{side}-stats", Static).update(text)
            if p50 is not None:
                self.history[side].append(p50)
                self.query_one(f"#{side}-spark", Sparkline).data = list(self.history[side][-60:])

    def _stage(self, text: str) -> None:
        held = " (held: h resumes)" if self.control.hold.is_set() and self.running else ""
        self.query_one("#rollout-stage", Static).update(text + held)

    def _finished(self, outcome: Any) -> None:
        self.running = False
        self.outcome = outcome
        self._stage(outcome.summary + " (Esc closes)")
        self.refresh_bindings()

    # -- keys -----------------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("advance", "hold", "roll_back"):
            return self.running
        return True

    def action_advance(self) -> None:
        self.control.hold.clear()
        self.control.advance.set()
        self.query_one("#rollout-log", LogPanel).add(["    (advance: this stage ends after its current round)"])

    def action_hold(self) -> None:
        if self.control.hold.is_set():
            self.control.hold.clear()
            note = "(resumed: the stage ends when its hold time is over)"
        else:
            self.control.hold.set()
            note = "(held: the stage goes on being watched until you resume or advance)"
        self.query_one("#rollout-log", LogPanel).add([f"    {note}"])

    def action_roll_back(self) -> None:
        self.control.rollback.set()
        self.query_one("#rollout-log", LogPanel).add(["    (roll back: all traffic goes back to the old deployment)"])

    def action_close(self) -> None:
        if self.running:
            self.cancel.set()  # stops at the next safe point; the traffic stays and a later rollout resumes
            self.query_one("#rollout-log", LogPanel).add(
                ["    (stopping: the traffic stays as it is; run the rollout again to resume)"]
            )
            return
        self.app.pop_screen()
