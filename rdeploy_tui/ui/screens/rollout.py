"""The rollout, live: the update flow's last step. The old and the new deployment side by side (errors, p50/p95
latency, a sparkline of each round's p50), the stage, and keys to advance, hold or roll back by hand. A view over
pipeline/rollout.py, which runs in a thread worker and is steered through its RolloutControl; nothing here decides a
threshold. Its events arrive as PipelineEvents messages (ui/pipeline_events.py), as the deploy step's do.

Whatever the outcome (done, rolled back, refused, stopped), Esc goes back to the endpoints list, read again."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import var
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
from rdeploy_tui.ui.pipeline_events import EventRelay, PipelineEvents
from rdeploy_tui.ui.screens.base import WizardHost, WorkerErrors
from rdeploy_tui.ui.widgets.dialogs import ConfirmDialog
from rdeploy_tui.ui.widgets.footer import KeysFooter
from rdeploy_tui.ui.widgets.log_panel import LogPanel
from rdeploy_tui.ui.widgets.step_indicator import StepIndicator
from rdeploy_tui.ui.wording import in_wizard_terms

if TYPE_CHECKING:
    from rdeploy_tui.pipeline.engine import Outcome
    from rdeploy_tui.pipeline.rollout import RolloutOptions
    from rdeploy_tui.spec.deploy_spec import DeploySpec
    from rdeploy_tui.ui.wizard_state import WizardState

# How the screen runs a rollout: (spec, *, state, sink, options, cancel, control) -> outcome. Tests give one that
# replays recorded events.
RunRollout = Callable[..., "Outcome"]


def run_rollout(
    spec: DeploySpec,
    *,
    state: WizardState,
    sink: EventRelay,
    options: RolloutOptions | None,
    cancel: threading.Event,
    control: RolloutControl,
) -> Outcome:
    """The real rollout (pipeline/rollout.py) through the wizard's Azure session (in the worker: it blocks)."""
    from rdeploy_tui.pipeline.rollout import run_rollout as run

    return run(
        spec,
        session=state.azure(),
        sink=sink,
        options=options,
        base_dir=state.base_dir,
        cancel=cancel,
        control=control,
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


class RolloutScreen(WorkerErrors, Screen):
    STEP = "rollout"
    QUIT_QUESTION = (
        "A rollout is running. Quit anyway?\n\nThe traffic stays as it is now; update the endpoint again (u on the "
        "endpoints list) to resume the rollout."
    )
    # At 80x24: the title, the stage (or, at the end, the outcome: scrolled within, never cut), the two sides, and the
    # log (wrapped: the deployments' lines are read whole) takes the rest.
    DEFAULT_CSS = """
    RolloutScreen { layout: vertical; }
    RolloutScreen #steps { height: 1; padding: 0 1; background: $panel; }
    RolloutScreen #rollout-title { height: auto; max-height: 2; padding: 0 1; text-style: bold; }
    RolloutScreen #rollout-title.-held { color: $warning; }
    RolloutScreen #stage-box { height: auto; max-height: 3; padding: 0 1; }
    RolloutScreen #stage-box.-finished { max-height: 8; }  /* the outcome says what still bills: all of it */
    RolloutScreen #rollout-stage { height: auto; }
    RolloutScreen #sides { height: 7; }
    RolloutScreen .side { width: 1fr; border: round $primary; padding: 0 1; }
    RolloutScreen .side Static { height: 3; }
    RolloutScreen .side Sparkline { height: 2; }
    RolloutScreen #rollout-log { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "advance", "Advance", id="rollout.advance"),
        # h holds, and while held resumes: one of the two is offered at a time (check_action), so the footer says
        # which one h does now.
        Binding("h", "hold", "Hold", id="rollout.hold"),
        Binding("h", "release", "Resume", id="rollout.release"),
        Binding("b", "roll_back", "Roll back", id="rollout.roll_back"),
        Binding("escape", "close", "Stop / endpoints", id="rollout.close"),
    ]

    app: WizardHost  # and a textual App
    running: var[bool] = var(False, bindings=True)  # the keys that steer the rollout work only while it runs
    held: var[bool] = var(False, bindings=True, init=False)  # h held the stage: it is watched until resumed

    def __init__(
        self, spec: DeploySpec | None = None, *, options: RolloutOptions | None = None, run: RunRollout | None = None
    ) -> None:
        super().__init__()
        self._spec = spec  # None: the wizard's spec as the update flow left it, taken on arrival
        self.options = options
        self.run = run or run_rollout
        self.control = RolloutControl()
        self.cancel = threading.Event()
        self.outcome: Outcome | None = None
        self.history: dict[str, list[float]] = {"old": [], "new": []}

    @property
    def spec(self) -> DeploySpec:
        if self._spec is None:
            self._spec = self.app.state.spec.copy()
        return self._spec

    @property
    def busy(self) -> bool:
        return self.running

    def compose(self) -> ComposeResult:
        yield StepIndicator(self.STEP, id="steps")
        yield Static(f"Rollout on endpoint {self.spec.endpoint.name}", id="rollout-title", markup=False)
        with VerticalScroll(id="stage-box"):
            yield Static("Starting …", id="rollout-stage", markup=False)
        with Horizontal(id="sides"):
            for side in ("old", "new"):
                with Vertical(classes="side", id=f"side-{side}"):
                    yield Static("-", id=f"{side}-stats", markup=False)
                    yield Sparkline([], id=f"{side}-spark")
        yield LogPanel("Rollout log", wrap=True, id="rollout-log")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#side-old").border_title = "old (serving)"
        self.query_one("#side-new").border_title = "new"
        self.running = True
        self.app.state.save_last_update(self.spec)  # a quit or crash from here on is offered for resume next time
        self.run_rollout(self.spec, EventRelay(self))

    @work(thread=True, exclusive=True, exit_on_error=False, group="rollout")
    def run_rollout(self, spec: DeploySpec, relay: EventRelay) -> None:
        outcome = self.run(
            spec, state=self.app.state, sink=relay, options=self.options, cancel=self.cancel, control=self.control
        )
        relay.finish(outcome)

    def worker_failed(self, worker: object) -> None:
        self.running = False
        self._stage("The rollout stopped unexpectedly (see the message). Esc: back to the endpoints.")

    # -- events -------------------------------------------------------------------------------------------
    def on_pipeline_events(self, message: PipelineEvents) -> None:
        for event in message.events:
            self.apply(event)
        if message.outcome is not None:
            self._finished(message.outcome)

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
            log.add([f"    {event.source} | {line}" for line in event.lines])
        elif isinstance(event, StepFinished):
            log.add([f" ok {event.step}: {event.message}"])
        elif isinstance(event, StepFailed):
            log.add([f" !! {event.step}: {event.what}"] + ([f"    Next: {event.next_step}"] if event.next_step else []))
        elif isinstance(event, PlanFinished):
            self._stage(event.summary)

    def show_measured(self, m: StageMeasured) -> None:
        self.query_one("#side-old").border_title = f"{m.old} (old)"
        self.query_one("#side-new").border_title = f"{m.new} (new)"
        for side, sent, errors, p50, p95 in (
            ("old", m.old_sent, m.old_errors, m.old_p50, m.old_p95),
            ("new", m.new_sent, m.new_errors, m.new_p50, m.new_p95),
        ):
            text = f"{m.step}: {errors}/{sent} errors\np50 {_ms(p50)} · p95 {_ms(p95)}"
            if side == "new":
                text += f"\nanswers differ {m.mismatches}/{m.compared}"
            self.query_one(f"#{side}-stats", Static).update(text)
            if p50 is not None:
                self.history[side].append(p50)
                self.query_one(f"#{side}-spark", Sparkline).data = list(self.history[side][-60:])

    def _stage(self, text: str) -> None:
        self.query_one("#rollout-stage", Static).update(in_wizard_terms(text, self.app.flow))

    def watch_held(self, held: bool) -> None:
        """Held is said where it is always seen: the title (what a and h do then)."""
        title = self.query_one("#rollout-title", Static)
        title.set_class(held, "-held")
        name = self.spec.endpoint.name
        title.update(
            f"Rollout on endpoint {name}: HELD at this stage (h resumes, a advances)"
            if held
            else f"Rollout on endpoint {name}"
        )

    def _finished(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.running = False
        self.held = False
        # What to do next goes where it is always seen (the outcome below can be long at 80x24).
        self.query_one("#rollout-title", Static).update(
            f"Rollout on endpoint {self.spec.endpoint.name}: {outcome.status}. Esc: back to the endpoints"
        )
        self.query_one("#stage-box").add_class("-finished")
        self._stage(outcome.summary)

    # -- keys -----------------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("advance", "roll_back"):
            return self.running
        if action == "hold":
            return self.running and not self.held
        if action == "release":
            return self.running and self.held
        return True

    def action_advance(self) -> None:
        self.control.hold.clear()
        self.control.advance.set()
        self.held = False
        self.query_one("#rollout-log", LogPanel).add(["    (advance: this stage ends after its current round)"])

    def action_hold(self) -> None:
        self.control.hold.set()
        self.held = True
        self.query_one("#rollout-log", LogPanel).add(
            ["    (held: the stage goes on being watched until you resume or advance)"]
        )

    def action_release(self) -> None:
        self.control.hold.clear()
        self.held = False
        self.query_one("#rollout-log", LogPanel).add(["    (resumed: the stage ends when its hold time is over)"])

    def action_roll_back(self) -> None:
        """Ask first: moving every request back to the old deployment is not undone by a key."""
        old = self.query_one("#side-old").border_title or "the old deployment"
        new = self.query_one("#side-new").border_title or "the new one"

        def answer(yes: bool | None) -> None:
            if yes and self.running:
                self.control.rollback.set()
                self.query_one("#rollout-log", LogPanel).add(
                    ["    (roll back: all traffic goes back to the old deployment)"]
                )

        self.app.push_screen(
            ConfirmDialog(
                f"Roll back now?\n\nAll traffic goes back to {old}; {new} is kept at 0 % for its logs (it bills "
                "until deleted). The rollout ends here.",
                yes="Roll back",
                no="Keep rolling out",
                danger=True,
            ),
            answer,
        )

    def stop(self) -> None:
        """Stop at the next safe point; the traffic stays and a later rollout resumes."""
        self.cancel.set()

    def action_close(self) -> None:
        if self.running:
            self.stop()
            self.query_one("#rollout-log", LogPanel).add(
                ["    (stopping: the traffic stays as it is; update the endpoint again to resume)"]
            )
            return
        if self.app.state.update is not None:
            self.app.end_update()  # the endpoints list, read again
        else:
            self.app.pop_screen()
