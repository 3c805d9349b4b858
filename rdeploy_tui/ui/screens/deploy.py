"""Step 8: build and deploy. A view over runner.run_deploy: the plan's steps with status and
elapsed time, the build and deployment logs streaming, cancel with confirmation, and on failure
the message, the next action and the relevant log lines. No deploy logic here."""

from __future__ import annotations

import threading
import time
from collections import deque

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static

from rdeploy_tui.pipeline import plan as P
from rdeploy_tui.pipeline.events import LogLines, PlanFinished, StepFailed, StepFinished, StepProgress, StepStarted
from rdeploy_tui.ui.screens.base import WizardStep
from rdeploy_tui.ui.widgets.dialogs import ConfirmDialog
from rdeploy_tui.ui.widgets.log_panel import FLUSH_SECONDS, LogPanel
from rdeploy_tui.ui.widgets.steps_view import StepRow, StepsView

BUILD_SOURCES = {"build"}  # LogLines.source values shown in the build panel; all others go to the deployment panel
BUILD_STEPS = {"build-image"}  # a failure of these is read in the build log; of the others, in the deployment log


class DeployScreen(WizardStep):
    STEP = 7
    NEXT_LABEL = "Score"
    BINDINGS = [
        Binding("f2,alt+n", "next", "Score", priority=True, id="next"),
        Binding("escape", "back", "Back / cancel", id="back"),
        Binding("ctrl+x", "cancel_deploy", "Cancel deploy", id="deploy.cancel"),
    ]

    def __init__(self, *, clock=time.time, autostart: bool = True) -> None:
        super().__init__()
        self.clock = clock  # tests pin it: snapshots must not show real elapsed times
        self.autostart = autostart  # tests feed recorded events through apply() instead
        self.status = "idle"  # idle | running | cancelling | succeeded | failed | cancelled
        self.cancel_event = threading.Event()
        self._events: deque = deque()  # from the runner's threads; drained on the UI thread
        self.outcome = None
        self.failures: list[StepFailed] = []
        self.started_with: dict | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("", id="deploy-status", markup=False)
        yield StepsView(
            [StepRow(s.id, s.title) for s in P.make_plan(self.spec).steps], clock=self.clock, id="steps-view"
        )
        with VerticalScroll(id="failure", classes="-hidden"):
            yield Static("", id="failure-what", markup=False)
            yield Static("", id="failure-next", markup=False)
            yield Static("", id="failure-line", markup=False)
            yield Static("", id="failure-details", markup=False)
        with Horizontal(id="logs"):
            yield LogPanel("Build log", id="build-log")
            yield LogPanel("Deployment log", id="deploy-log")
        with Horizontal(id="deploy-buttons"):
            yield Button("Cancel deploy (ctrl+x)", id="cancel", variant="error", compact=True)

    def on_mount(self) -> None:
        self.set_interval(FLUSH_SECONDS, self.drain)
        super().on_mount()

    def arrived(self) -> None:
        # Start (or resume) on arrival; after a success only when the spec changed since (Back, edit, Deploy).
        # Not on_screen_resume: closing a dialog on top must never start a deploy.
        changed = self.started_with != self.spec.to_dict()
        if self.app.session.found.get("rollout_endpoint") == self.spec.endpoint.name and self.autostart:
            from rdeploy_tui.ui.screens.rollout import RolloutScreen  # "update this endpoint" (manage.py): a rollout

            self.app.push_screen(RolloutScreen(self.spec.copy()))
            return
        if self.autostart and not self.busy and (self.status != "succeeded" or changed):
            self.start()

    # -- running ------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start (or, after a failure, resume) the deploy of the current spec."""
        self.status = "running"
        self.cancel_event = threading.Event()
        self.outcome, self.failures = None, []
        steps = self.query_one("#steps-view", StepsView)
        steps.rows = {s.id: StepRow(s.id, s.title) for s in P.make_plan(self.spec).steps}
        steps.refresh(layout=True)
        self.query_one("#failure").add_class("-hidden")
        self.query_one("#logs").remove_class("-build-failed", "-deploy-failed")
        self.query_one("#cancel", Button).disabled = False
        self._set_status("Deploying: the image builds in ACR while the endpoint is created.")
        self.app.session.save_last_run()  # a crash from here on can be resumed from this spec
        self.started_with = self.spec.to_dict()
        self.run_deploy(self.spec.copy())
        self.update_nav()

    @work(thread=True, exclusive=True, exit_on_error=False, group="deploy")
    def run_deploy(self, spec) -> None:
        from rdeploy_tui.pipeline.runner import run_deploy

        session = self.app.session
        outcome = run_deploy(
            spec, session=session.azure(), sink=self.sink, base_dir=session.base_dir, cancel=self.cancel_event
        )
        self.app.call_from_thread(self._finished, outcome)

    def sink(self, event) -> None:
        """Called by the runner from its threads. Log lines go straight to the panels' thread-safe
        backlogs; everything else is queued for the next drain on the UI thread."""
        if isinstance(event, LogLines):
            panel = "#build-log" if event.source in BUILD_SOURCES else "#deploy-log"
            prefix = "" if event.source in BUILD_SOURCES | {"inference-server"} else f"[{event.source}] "
            self.query_one(panel, LogPanel).add(prefix + line for line in event.lines)
        else:
            self._events.append(event)

    def drain(self) -> None:
        while self._events:
            self.apply(self._events.popleft())

    def apply(self, event) -> None:
        """Show one plan event (UI thread)."""
        steps = self.query_one("#steps-view", StepsView)
        if isinstance(event, StepStarted):
            steps.update_step(
                event.step, status="running", started=event.at, finished=None, message="", title=event.title
            )
        elif isinstance(event, StepProgress):
            steps.update_step(event.step, message=event.message)
        elif isinstance(event, StepFinished):
            steps.update_step(event.step, status=event.status, finished=event.at, message=event.message)
            if event.step == P.TRAFFIC:  # "traffic: blue=100%": the split Azure has now, for the closing summary
                self.app.session.found["traffic_after"] = event.message
        elif isinstance(event, StepFailed):
            cancelled = event.code == "Cancelled"
            steps.update_step(
                event.step, status="cancelled" if cancelled else "failed", finished=event.at, message=event.what
            )
            if not cancelled:
                self.failures.append(event)
                self._show_failure(event)
        elif isinstance(event, PlanFinished):
            self._set_status(event.summary)

    def _show_failure(self, event: StepFailed) -> None:
        self.query_one("#failure").remove_class("-hidden")
        self.query_one("#failure-what", Static).update(f"✗ {event.what}")
        self.query_one("#failure-next", Static).update(f"Next: {event.next_step}" if event.next_step else "")
        # The line that names the cause, whole (wrapped), then the log of the failed step across the whole
        # width: at 80x24 two panels side by side cut it at 36 columns.
        line = event.failing_line  # the line naming the cause (pipeline/failing_line.py)
        self.query_one("#failure-line", Static).update(f"Failing line: {line}" if line else "")
        self.query_one("#failure-line").display = line is not None
        build = event.step in BUILD_STEPS
        # A build failure's details are the build log's tail, which the log below now shows in full.
        shown_below = build and self.query_one("#build-log", LogPanel).received > 0
        details = [] if shown_below else [d for d in (event.details or "").splitlines()[-15:] if d.strip() != line]
        self.query_one("#failure-details", Static).update("\n".join(details))
        self.query_one("#failure-details").display = bool(details)
        self.query_one("#logs").add_class("-build-failed" if build else "-deploy-failed")

    def _finished(self, outcome) -> None:
        self.drain()
        self.outcome = outcome
        self.status = outcome.status
        self.query_one("#cancel", Button).disabled = True
        self._set_status(outcome.summary)
        self.app.session.found["deploy_outcome"] = outcome  # for the summary printed when the app closes
        # Even a failed first run may have created the endpoint: what the earlier steps listed is stale.
        self.app.session.found.pop("endpoints", None)
        if outcome.status == "succeeded":
            self.app.session.found["outcome"] = outcome
            self.query_one("#next", Button).focus()
        self.update_nav()

    def worker_failed(self, worker) -> None:
        self.status = "failed"
        self.query_one("#cancel", Button).disabled = True
        self._set_status("The deploy stopped unexpectedly (see the message). Next/Back to retry: it resumes.")
        self.update_nav()

    def _set_status(self, text: str) -> None:
        self.query_one("#deploy-status", Static).update(text)

    # -- cancel ---------------------------------------------------------------------------------------
    @on(Button.Pressed, "#cancel")
    def action_cancel_deploy(self) -> None:
        if self.status != "running":
            return

        def answer(yes: bool | None) -> None:
            if yes and self.status == "running":
                self.status = "cancelling"
                self.cancel_event.set()
                self.query_one("#cancel", Button).disabled = True
                self._set_status("Cancelling: the image build is stopped; Azure finishes what it already started.")
                self.update_nav()

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

    def update_nav(self) -> None:
        super().update_nav()
        if self.is_mounted:  # Cancel only while there is something to cancel: the summary needs the room
            self.query_one("#deploy-buttons").display = self.busy
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        return self.busy if action == "cancel_deploy" else True  # False hides ctrl+x from the footer

    def problems(self) -> list[str]:
        if self.busy:
            return ["deploying ..."]
        if self.status != "succeeded":
            return ["the deploy did not finish: go Back to change settings, or Back then Deploy to resume"]
        return []

    def action_back(self) -> None:
        if self.busy:
            self.action_cancel_deploy()
            return
        super().action_back()
