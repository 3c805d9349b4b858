"""What every wizard step shares: the step indicator, Back/Next, Esc, and Next blocked while the form has problems
(the first one is shown beside Next; each field shows its own).

The nav bar follows the step's state: `blocker` is recomputed whenever a reactive of the screen changes or a form
control reports a change, so no screen updates the nav by hand. Where Next and Back lead is the flow table's
(ui/flow.py), asked through the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Button, Static

from rdeploy_tui.ui.flow import DEPLOY_FLOW, Flow
from rdeploy_tui.ui.host import WizardHost as WizardHost  # (the screens' app)
from rdeploy_tui.ui.widgets.field import Field
from rdeploy_tui.ui.widgets.footer import KeysFooter
from rdeploy_tui.ui.widgets.step_indicator import StepIndicator
from rdeploy_tui.ui.worker_errors import WorkerErrors as WorkerErrors  # (screens and widgets mix it in)

if TYPE_CHECKING:
    from rdeploy_tui.azure.online import EndpointInfo
    from rdeploy_tui.spec.deploy_spec import DeploySpec


class RunsPipeline(Protocol):
    """A step that runs a deploy or a rollout (the app asks before quitting while one runs)."""

    STEP: ClassVar[str]
    QUIT_QUESTION: ClassVar[str]

    @property
    def busy(self) -> bool: ...

    def stop(self) -> None: ...


class EndpointsListed(Message):
    """A worker listed the workspace's online endpoints."""

    def __init__(self, endpoints: dict[str, EndpointInfo]) -> None:
        super().__init__()
        self.endpoints = endpoints


class WizardStep(WorkerErrors, Screen):
    """Subclasses set STEP (a step name of ui/flow.py), implement compose_body(), problems() and commit()."""

    STEP: ClassVar[str] = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        # F2, not ctrl+n: Chrome and Edge keep ctrl+n (new window) from every page (ui/keys.py).
        Binding("f2,alt+n", "next", "Next", priority=True, id="next"),
        Binding("escape", "back", "Back", id="back"),
    ]

    app: WizardHost  # and a textual App
    _not_yet_shown = False  # a "Not yet" toast is up (cleared once the problem is fixed)

    form_edits: var[int] = var(0, init=False)
    """Bumped when a form control reports a change: the blocker is worked out again."""
    blocker: var[str | None] = var(None, init=False)
    """What stops Next now (the first of problems()), or None; the nav bar follows it."""

    def compute_blocker(self) -> str | None:
        # Not while the form is being built (the first resume works it out) or taken down (the app closing).
        if not self.is_mounted or not self.is_running:
            return None
        problems = self.problems()
        return problems[0] if problems else None

    def watch_blocker(self, blocker: str | None) -> None:
        if blocker is None and self._not_yet_shown:  # the "Not yet" toast is about a problem now fixed
            self._not_yet_shown = False
            self.app.clear_notifications()
        self._show_blocker(blocker)

    @property
    def spec(self) -> DeploySpec:
        return self.app.state.spec

    @property
    def flow(self) -> Flow:
        """The flow this step is walked in now (the deploy flow for a step the update flow does not walk)."""
        flow = self.app.flow
        return flow if self.STEP in flow else DEPLOY_FLOW

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
        back = Button("Back", id="back", compact=True)
        # Esc is Back's key; Tab never stops on it, so Tab from the last field lands on Next and an Enter there (or a
        # remembered focus, later) can never take the user back by surprise. The mouse still clicks it.
        back.can_focus = False
        nav = Horizontal(
            back,
            Static("", id="nav-status", markup=False),
            Button(self.next_label(), id="next", variant="primary", compact=True),
            id="nav",
        )
        return [nav, KeysFooter()]

    def next_label(self) -> str:
        """What the Next button says now: the flow table's label (a step may say what Next does in its state)."""
        return self.flow.step(self.STEP).next_label

    async def _mount_chrome(self) -> None:
        await self.mount_all(self._chrome())
        self.refresh_bindings()  # a Footer lists the keys on the next bindings change, not when mounted
        self._sync_nav()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def problems(self) -> list[str]:
        """What stops Next, in form order; empty when the step may be left forward."""
        return [f.error for f in self.query(Field) if f.error and f.display]

    def commit(self) -> None:
        """Store the form's values into the spec (only called when problems() is empty)."""

    # Textual calls on_mount and on_screen_resume of every class along the MRO: subclasses do not call these.
    def on_mount(self) -> None:
        self.watch(self.app, "flow", self._flow_changed, init=False)

    def on_screen_resume(self) -> None:
        self._sync_nav()
        self.form_edits += 1  # other steps may have changed what this one checks against

    def _flow_changed(self, _flow: Flow) -> None:
        self._sync_nav()

    def arrived(self) -> None:
        """Hook: the wizard navigated to this step (not called when a dialog on top closes)."""

    # Form controls that report a change: what problems() reads may have changed with them. Handlers by name, so
    # that the first screen does not import the widgets it does not show (first paint, issue 6).
    def _form_changed(self, _message: Message) -> None:
        self.form_edits += 1

    on_field_checked = on_select_changed = on_option_list_option_highlighted = _form_changed
    on_radio_set_changed = on_text_area_changed = _form_changed

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Esc (Back) is offered only where it leads: not on the deploy flow's first step, where it did nothing.
        if action == "back":
            return self.has_step_before()
        return True

    def has_step_before(self) -> bool:
        """Back leads somewhere: a step before this one, or out of the update flow to the endpoints list."""
        return self.flow.before(self.STEP) is not None or self.app.state.update is not None

    def _sync_nav(self) -> None:
        """The nav bar's buttons as the flow has them for this step, and the blocker."""
        self.refresh_bindings()  # Back's key follows the flow (check_action)
        if not self.query("#next"):  # the first screen's nav bar comes a frame late
            return
        self.query_one("#next", Button).label = self.next_label()
        self.query_one("#back", Button).disabled = not self.has_step_before()
        self._show_blocker(self.blocker)  # (reading a computed reactive works it out again)

    def _show_blocker(self, blocker: str | None) -> None:
        if not self.query("#next"):
            return
        self.query_one("#next", Button).disabled = blocker is not None
        status = self.query_one("#nav-status", Static)
        status.update(blocker or "")
        status.set_class(blocker is not None, "-blocked")

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
        if self.app.state.update is None:  # the last run's spec is the deploy flow's: an update starts from the list
            self.app.state.save_last_run()
        self.app.next_step(self.STEP)

    def action_back(self) -> None:
        self.app.previous_step(self.STEP)


class ListsEndpoints(WizardStep):
    """A step whose checks or text depend on the workspace's endpoints (does it exist? what traffic?): lists them in
    a worker on each visit until known (a deploy since, even a failed one, may have created one), into
    state.endpoints, and follows that field: endpoints_changed() runs whenever it changes."""

    # Textual calls the handlers of every class along the MRO: these run beside the screen's and WizardStep's own.
    def on_mount(self) -> None:
        self.watch(self.app.state, "endpoints", self.endpoints_changed, init=False)

    def on_screen_resume(self) -> None:
        if self.app.state.endpoints is None and self.should_load_on_resume():
            self.list_endpoints()

    @work(thread=True, exclusive=True, exit_on_error=False, group="endpoints")
    def list_endpoints(self) -> None:
        from rdeploy_tui import azure

        found = azure.Endpoints(self.app.state.workspace()).list()
        self.post_message(EndpointsListed({e.name: e for e in found}))

    def on_endpoints_listed(self, message: EndpointsListed) -> None:
        self.app.state.endpoints = message.endpoints

    def endpoints_changed(self, endpoints: dict[str, EndpointInfo] | None) -> None:
        raise NotImplementedError
