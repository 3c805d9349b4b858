"""What every wizard step shares: the step indicator, Back/Next, Esc, and Next blocked while the
form has problems (the first one is shown beside Next; each field shows its own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Static
from textual.worker import Worker, WorkerState

from rdeploy_tui.ui.widgets.field import Field
from rdeploy_tui.ui.widgets.footer import KeysFooter
from rdeploy_tui.ui.widgets.step_indicator import StepIndicator

if TYPE_CHECKING:
    from rdeploy_tui.spec.deploy_spec import DeploySpec
    from rdeploy_tui.ui.session import Session


class WizardHost(Protocol):
    """What the steps use of their app beyond Textual's App (rdeploy_tui.ui.app.RdeployApp implements it).
    Declared here so that no screen imports the app module, which imports the screens."""

    session: Session

    def goto(self, step: int) -> None: ...

    def show_error(self, exc: BaseException, title: str = "Error") -> None: ...

    def after_start(self, callback: Callable[[], Any]) -> None: ...

    def after_first_frame(self, callback: Callable[[], Any]) -> None: ...


class WorkerErrors:
    """The one place a failed worker is turned into a dialog with the next action (never a traceback).

    Workers are started with exit_on_error=False; Worker.StateChanged does not bubble, so every
    screen that runs workers mixes this in. `worker_failed` lets a screen reset its busy state.
    """

    # A plain name-based handler: @on in a mixin that is not a MessagePump is never registered.
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            # Closing the dialog resumes this screen: do not retry straight into the same dialog.
            self.retry_on_resume = False
            self.app.show_error(event.worker.error)
            self.worker_failed(event.worker)

    retry_on_resume = True

    def should_load_on_resume(self) -> bool:
        """False once, right after an error dialog; a later visit (Back, then Next) tries again."""
        allowed, self.retry_on_resume = self.retry_on_resume, True
        return allowed

    def worker_failed(self, worker: Worker) -> None:
        """Hook: undo a 'working...' state after a worker failed."""


class ListsEndpoints:
    """A step whose checks or text depend on the workspace's endpoints (does it exist? what traffic?): lists them in a
    worker on each visit until known (a deploy since, even a failed one, may have created one), keeps them in
    session.found["endpoints"], then calls endpoints_listed()."""

    def on_screen_resume(self) -> None:
        if "endpoints" not in self.app.session.found and self.should_load_on_resume():
            self.list_endpoints()
        super().on_screen_resume()

    @work(thread=True, exclusive=True, exit_on_error=False, group="endpoints")
    def list_endpoints(self) -> None:
        from rdeploy_tui import azure

        found = azure.Endpoints(self.app.session.workspace()).list()
        self.app.call_from_thread(self._endpoints_listed, {e.name: e for e in found})

    def _endpoints_listed(self, endpoints: dict) -> None:
        self.app.session.found["endpoints"] = endpoints
        self.endpoints_listed()

    def endpoints_listed(self) -> None:
        raise NotImplementedError


class WizardStep(WorkerErrors, Screen):
    """Subclasses set STEP, implement compose_body(), problems() and commit()."""

    STEP: ClassVar[int] = 0
    NEXT_LABEL: ClassVar[str] = "Next"
    BINDINGS = [
        # F2, not ctrl+n: Chrome and Edge keep ctrl+n (new window) from every page (ui/keys.py).
        Binding("f2,alt+n", "next", "Next", priority=True, id="next"),
        Binding("escape", "back", "Back", id="back"),
    ]

    app: WizardHost  # and a textual App
    _not_yet_shown = False  # a "Not yet" toast is up (cleared once the problem is fixed)

    @property
    def spec(self) -> DeploySpec:
        return self.app.session.spec

    def compose(self) -> ComposeResult:
        yield StepIndicator(self.STEP, id="steps")
        with VerticalScroll(id="body"):
            yield from self.compose_body()
        # The app's first frame has a 0.4 s budget (issue 6) and the nav bar and footer cost a third
        # of it: on the first screen they follow a frame later. Nothing in them works before sign-in
        # answers anyway, and F10 (the app's binding) works from the start.
        if self.app.painted:
            yield from self._chrome()
        else:
            self.app.after_first_frame(self._mount_chrome)

    def _chrome(self) -> list:
        nav = Horizontal(
            Button("Back", id="back", disabled=self.STEP == 0, compact=True),
            Static("", id="nav-status", markup=False),
            Button(self.NEXT_LABEL, id="next", variant="primary", compact=True),
            id="nav",
        )
        return [nav, KeysFooter()]

    async def _mount_chrome(self) -> None:
        await self.mount_all(self._chrome())
        self.refresh_bindings()  # a Footer lists the keys on the next bindings change, not when mounted
        self.call_after_refresh(self.update_nav)  # once the nav bar's buttons are in

    def compose_body(self) -> ComposeResult:
        yield from ()

    def problems(self) -> list[str]:
        """What stops Next, in form order; empty when the step may be left forward."""
        return [f.error for f in self.query(Field) if f.error and f.display]

    def commit(self) -> None:
        """Store the form's values into the spec (only called when problems() is empty)."""

    def on_mount(self) -> None:
        self.update_nav()

    def on_screen_resume(self) -> None:
        self.update_nav()

    def arrived(self) -> None:
        """Hook: the wizard navigated to this step (not called when a dialog on top closes)."""

    @on(Field.Checked)
    def _field_checked(self) -> None:
        self.update_nav()

    def update_nav(self) -> None:
        if not self.is_mounted or not self.query("#next"):  # the first screen's nav bar comes a frame late
            return
        problems = self.problems()
        if not problems and self._not_yet_shown:  # the "Not yet" toast is about a problem now fixed
            self._not_yet_shown = False
            self.app.clear_notifications()
        self.query_one("#next", Button).disabled = bool(problems)
        self.query_one("#nav-status", Static).update(problems[0] if problems else "")
        self.query_one("#nav-status", Static).set_class(bool(problems), "-blocked")

    @on(Button.Pressed, "#next")
    def _next_pressed(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()

    def action_next(self) -> None:
        problems = self.problems()
        if problems:
            self.notify(problems[0], title="Not yet", severity="warning")
            self._not_yet_shown = True
            return
        self.commit()
        self.app.session.save_last_run()
        self.app.goto(self.STEP + 1)

    def action_back(self) -> None:
        if self.STEP > 0:
            self.app.goto(self.STEP - 1)
