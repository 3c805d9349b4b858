"""Step 8: build and deploy. A view over runner.run_deploy: the plan's steps with status and
elapsed time, the build and deployment logs streaming, cancel with confirmation, and on failure
the message, the next action and the relevant log lines. No deploy logic here.

The run's events arrive as PipelineEvents messages (ui/pipeline_events.py); the runner's threads never touch a
widget."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import var
from textual.widgets import Button, Static

from rdeploy_tui.pipeline import plan as P
from rdeploy_tui.pipeline.events import LogLines, StepFailed, StepFinished, StepProgress, StepStarted
from rdeploy_tui.ui.pipeline_events import EventRelay, PipelineEvents
from rdeploy_tui.ui.screens.base import WizardStep
from rdeploy_tui.ui.widgets.dialogs import ConfirmDialog
from rdeploy_tui.ui.widgets.log_panel import LogPanel
from rdeploy_tui.ui.widgets.steps_view import StepRow, StepsView
from rdeploy_tui.ui.wording import in_wizard_terms

if TYPE_CHECKING:
    from rdeploy_tui.pipeline.engine import Outcome
    from rdeploy_tui.spec.deploy_spec import DeploySpec
    from rdeploy_tui.ui.wizard_state import WizardState

# How the screen runs a deploy: (spec, *, state, sink, cancel) -> Outcome. Tests give one that replays recorded events.
RunDeploy = Callable[..., "Outcome"]


def run_deploy(spec: DeploySpec, *, state: WizardState, sink: EventRelay, cancel: threading.Event) -> Outcome:
    """The real deploy (pipeline/runner.py) through the wizard's Azure session (in the worker: it blocks)."""
    from rdeploy_tui.pipeline.runner import run_deploy as run

    return run(spec, session=state.azure(), sink=sink, base_dir=state.base_dir, cancel=cancel)


BUILD_SOURCES = {"build"}  # LogLines.source values shown in the build panel; all others go to the deployment panel
BUILD_STEPS = {"build-image"}  # a failure of these is read in the build log; of the others, in the deployment log


class DeployScreen(WizardStep):
    STEP = "deploy"
    QUIT_QUESTION = (
        "A deploy is running. Quit anyway?\n\nThe image build is cancelled; what Azure is already creating "
        "goes on. Run rdeploy-tui again to resume."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        # F2 is Score once the deployment is live, and Resume after a failed or cancelled run: one of the two is
        # offered at a time (check_action), so the footer never offers Score for a deployment that is not there.
        Binding("f2,alt+n", "next", "Score", priority=True, id="next"),
        Binding("f2,alt+n", "resume", "Resume deploy", priority=True, id="deploy.resume"),
        Binding("escape", "back", "Back / cancel", id="back"),
        Binding("ctrl+x", "cancel_deploy", "Cancel deploy", id="deploy.cancel"),
    ]
    DEFAULT_CSS = """
    /* At 80x24 the body has 21 rows: the status line, the steps (6, a row more for each title that wraps), the
       outcome (at most 7) or the failure (at most 7), each scrolled within, and the log takes the rest (at least 5).
       The body scrolls only when long names wrap more titles than that leaves room for: nothing is cut. */
    DeployScreen #body { overflow-y: auto; }
    DeployScreen #deploy-status { height: auto; max-height: 2; }  /* one line: what is going on and the next key */
    DeployScreen #outcome { height: auto; max-height: 7; }
    DeployScreen #outcome-text { height: auto; }
    DeployScreen #failure { height: auto; max-height: 7; border: round $error; }
    DeployScreen #logs { height: 1fr; min-height: 5; }
    """

    status: var[str] = var(
        "idle", bindings=True, init=False
    )  # idle | running | cancelling | succeeded | failed | cancelled

    def __init__(self, *, clock: Callable[[], float] = time.time, run: RunDeploy | None = None) -> None:
        super().__init__()
        self.clock = clock  # tests pin it: snapshots must not show real elapsed times
        self.run = run or run_deploy
        self.cancel_event = threading.Event()
        self.outcome: Outcome | None = None
        self.failures: list[StepFailed] = []
        self.started_with: dict[str, Any] | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("", id="deploy-status", markup=False)
        with VerticalScroll(id="outcome", classes="-hidden"):
            yield Static("", id="outcome-text", markup=False)
        yield StepsView(
            [StepRow(s.id, s.title) for s in P.make_plan(self.spec).steps], clock=self.clock, id="steps-view"
        )
        with VerticalScroll(id="failure", classes="-hidden"):
            yield Static("", id="failure-what", markup=False)
            yield Static("", id="failure-line", markup=False)
            yield Static("", id="failure-next", markup=False)
            yield Static("", id="failure-left", markup=False)
            yield Static("", id="failure-details", markup=False)
        with Horizontal(id="logs"):
            yield LogPanel("Build log", id="build-log")
            yield LogPanel("Deployment log", id="deploy-log")
        with Horizontal(id="deploy-buttons"):
            yield Button("Cancel deploy (ctrl+x)", id="cancel", variant="error", compact=True)

    def arrived(self) -> None:
        # Start (or resume) on arrival; after a success only when the spec changed since (Back, edit, Deploy).
        # Not on_screen_resume: closing a dialog on top must never start a deploy.
        changed = self.started_with != self.spec.to_dict()
        if not self.busy and (self.status != "succeeded" or changed):
            self.start()

    def _say(self, text: str | None) -> str:
        """Core text (the pipeline's) in the wizard's words (ui/wording.py)."""
        return in_wizard_terms(text, self.flow)

    # -- running ------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start (or, after a failure, resume) the deploy of the current spec."""
        self.cancel_event = threading.Event()
        self.outcome, self.failures = None, []
        steps = self.query_one("#steps-view", StepsView)
        steps.rows = {s.id: StepRow(s.id, s.title) for s in P.make_plan(self.spec).steps}
        steps.refresh(layout=True)
        self.query_one("#failure").add_class("-hidden")
        self.query_one("#outcome").add_class("-hidden")
        self.query_one("#logs").remove_class("-build-failed", "-deploy-failed")
        # Each run shows its own logs: a resumed build's never opens with the failed one's "Failed to build ...".
        for panel in self.query(LogPanel):
            panel.clear()
        self.query_one("#cancel", Button).disabled = False
        self._set_status("Deploying: the image builds in ACR while the endpoint is created.")
        self.app.state.save_last_run()  # a crash from here on can be resumed from this spec
        self.started_with = self.spec.to_dict()
        self.status = "running"
        self.run_deploy(self.spec.copy(), EventRelay(self))

    @work(thread=True, exclusive=True, exit_on_error=False, group="deploy")
    def run_deploy(self, spec: DeploySpec, relay: EventRelay) -> None:
        outcome = self.run(spec, state=self.app.state, sink=relay, cancel=self.cancel_event)
        relay.finish(outcome)

    def on_pipeline_events(self, message: PipelineEvents) -> None:
        for event in message.events:
            self.apply(event)
        if message.outcome is not None:
            self._finished(message.outcome)

    def apply(self, event: object) -> None:
        """Show one plan event."""
        steps = self.query_one("#steps-view", StepsView)
        if isinstance(event, LogLines):
            build = event.source in BUILD_SOURCES
            prefix = "" if build or event.source == "inference-server" else f"[{event.source}] "
            panel = self.query_one("#build-log" if build else "#deploy-log", LogPanel)
            panel.add(event.lines if not prefix else [prefix + line for line in event.lines])
        elif isinstance(event, StepStarted):
            steps.update_step(
                event.step, status="running", started=event.at, finished=None, message="", title=event.title
            )
        elif isinstance(event, StepProgress):
            steps.update_step(event.step, message=event.message)
        elif isinstance(event, StepFinished):
            steps.update_step(event.step, status=event.status, finished=event.at, message=event.message)
            if event.step == P.TRAFFIC:  # "traffic: blue=100%": the split Azure has now, for the closing summary
                self.app.state.traffic_after = event.message
        elif isinstance(event, StepFailed):
            cancelled = event.code == "Cancelled"
            steps.update_step(
                event.step, status="cancelled" if cancelled else "failed", finished=event.at, message=event.what
            )
            if not cancelled:
                self.failures.append(event)
                self._show_failure(event)

    def _show_failure(self, event: StepFailed) -> None:
        """The failure where it is read at 80x24: what happened, then the line of the log that names the cause, whole
        (wrapped), then what to do; the log of the failed step below across the whole width (two panels side by side
        cut it at 36 columns), scrolled to that line."""
        self.query_one("#failure").remove_class("-hidden")
        self.query_one("#failure-what", Static).update(f"✗ {self._say(event.what)}")
        line = event.failing_line  # the line naming the cause (pipeline/failing_line.py)
        self.query_one("#failure-line", Static).update(f"Failing line: {line}" if line else "")
        self.query_one("#failure-line").display = line is not None
        self.query_one("#failure-next", Static).update(f"Next: {self._say(event.next_step)}" if event.next_step else "")
        build = event.step in BUILD_STEPS
        panel = self.query_one("#build-log" if build else "#deploy-log", LogPanel)
        # The details are the failed step's log tail, which the panel below shows whole; said here only when the panel
        # received none of it (a failure before any log line, e.g. Azure refusing the request).
        details = [] if panel.received else [d for d in (event.details or "").splitlines()[-15:] if d.strip() != line]
        self.query_one("#failure-details", Static).update("\n".join(details))
        self.query_one("#failure-details").display = bool(details)
        self.query_one("#logs").add_class("-build-failed" if build else "-deploy-failed")
        if line:
            panel.reveal(line)
            self.call_after_refresh(self._cause_in_view)

    def _cause_in_view(self) -> None:
        """A long failure (Azure's messages can fill the box) scrolls within its box to the failing line, so the cause
        and what to do next are what the box shows; what happened is a scroll up."""
        box, cause = self.query_one("#failure", VerticalScroll), self.query_one("#failure-line", Static)
        if cause.region.bottom > box.scrollable_content_region.bottom:
            box.scroll_to_widget(cause, top=True, animate=False)

    def _finished(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.query_one("#cancel", Button).disabled = True
        state = self.app.state
        state.last_outcome = outcome  # for the summary printed when the app closes
        # Even a failed first run may have created the endpoint: what the earlier steps listed is stale.
        state.endpoints = None
        summary = self._say(outcome.summary)
        if outcome.status == "succeeded":
            self._set_status("Deployed. F2 scores the sample request.")
            self.query_one("#outcome-text", Static).update(summary)
            self.query_one("#outcome").remove_class("-hidden")
        else:
            self._set_status(f"Deploy {outcome.status}: F2 resumes where it stopped, Esc goes back to change settings.")
            # What is left in Azure (and bills) goes with the failure; without one (cancelled), in the outcome box.
            if self.failures:
                self.query_one("#failure-left", Static).update(_left_behind(summary))
            else:
                self.query_one("#outcome-text", Static).update(summary)
                self.query_one("#outcome").remove_class("-hidden")
        self.status = outcome.status
        if outcome.status == "succeeded":
            self.query_one("#next", Button).focus()

    def worker_failed(self, worker: object) -> None:
        self.query_one("#cancel", Button).disabled = True
        self._set_status("The deploy stopped unexpectedly (see the message). F2 resumes it.")
        self.status = "failed"

    def _set_status(self, text: str) -> None:
        self.query_one("#deploy-status", Static).update(text)

    # -- cancel ---------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Cancel the run without asking (quitting): the build is cancelled, Azure finishes what it started."""
        self.cancel_event.set()

    @on(Button.Pressed, "#cancel")
    def action_cancel_deploy(self) -> None:
        if self.status != "running":
            return

        def answer(yes: bool | None) -> None:
            if yes and self.status == "running":
                self.stop()
                self.query_one("#cancel", Button).disabled = True
                self._set_status("Cancelling: the image build is stopped; Azure finishes what it already started.")
                self.status = "cancelling"

        self.app.push_screen(
            ConfirmDialog(
                "Cancel the deployment?\n\nThe image build is cancelled. An endpoint or deployment that Azure is "
                "already creating goes on, and a deployment bills while it exists. Running the deploy again resumes.",
                yes="Cancel deploy",
                no="Keep deploying",
                danger=True,
            ),
            answer,
        )

    # -- wizard -------------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.status in ("running", "cancelling")

    @property
    def stopped(self) -> bool:
        """The run ended without a live deployment: F2 resumes it."""
        return self.status in ("failed", "cancelled")

    def watch_status(self) -> None:
        # Cancel only while there is something to cancel: the summary needs the room.
        self.query_one("#deploy-buttons").display = self.busy
        self._sync_nav()

    def next_label(self) -> str:
        return "Resume" if self.stopped else super().next_label()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_deploy":
            return self.busy  # False hides ctrl+x from the footer
        if action == "resume":
            return self.stopped
        if action == "next":
            if self.stopped:
                return False  # F2 is Resume now: Score is not offered for a deployment that is not there
            return True if self.status == "succeeded" else None  # Score: shown, dimmed, until there is a deployment
        return True

    def problems(self) -> list[str]:
        if self.busy:
            return ["deploying ..."]
        if self.stopped:
            return []  # Next (F2) resumes
        if self.status != "succeeded":
            return ["the deploy did not finish: go Back to change settings"]
        return []

    def action_next(self) -> None:
        if self.stopped:  # the Next button says Resume
            self.action_resume()
            return
        super().action_next()

    def action_resume(self) -> None:
        """Run the deploy again: the steps it finished are not repeated (pipeline/runner.py)."""
        if self.stopped:
            self.start()

    def action_back(self) -> None:
        if self.busy:
            self.action_cancel_deploy()
            return
        super().action_back()


def _left_behind(summary: str) -> str:
    """The part of a failed deploy's summary that says what exists in Azure now ("Left behind: ..."), or all of it."""
    at = summary.find("Left behind:")
    return summary[at:] if at >= 0 else summary
