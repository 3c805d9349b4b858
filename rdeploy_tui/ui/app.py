"""The wizard app: the steps of the current flow (ui/flow.py), switched by goto(); the update flow's start and end;
errors from workers become dialogs."""

from __future__ import annotations

import gc
import importlib
import os
import time
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.screen import Screen

from rdeploy_tui.connection_options import ConnectionOptions
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.ui.flow import DEPLOY_FLOW, UPDATE_FLOW, Flow, any_step
from rdeploy_tui.ui.host import WizardHost
from rdeploy_tui.ui.wizard_state import UpdateTarget, WizardState

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from textual.app import SystemCommand
    from textual.command import Provider

    from rdeploy_tui.spec.deploy_spec import DeploySpec
    from rdeploy_tui.ui.screens.base import RunsPipeline
    from rdeploy_tui.ui.screens.manage import EndpointsAtStart
    from rdeploy_tui.ui.widgets.scoring_panel import ScoringPanel

# The first screen must paint within 0.4 s of launch (issue 6; benchmarks/bench_ui_first_paint.py):
# what it does not show (dialogs, the other steps, the last run's spec) is imported when first used.

# Benchmarks set this to a file: the app writes the times of its first frame and of its complete
# first screen there, then exits.
PAINTED_FILE_ENV = "RDEPLOY_TUI_PAINTED_FILE"


def _screen_class(step: str) -> type[Screen]:
    module, cls = any_step(step).screen.split(":")
    return getattr(importlib.import_module(f"rdeploy_tui.ui.screens.{module}"), cls)


def _palette_provider() -> type[Provider]:
    from rdeploy_tui.ui.palette import ScreenActionsProvider  # imported when the palette first opens

    return ScreenActionsProvider


class RdeployApp(WizardHost):
    CSS_PATH = "app.tcss"
    TITLE = "rdeploy-tui"
    # Keys that reach the app in a browser terminal (ui/keys.py): F10 quits (ctrl+q, Textual's default,
    # closes Firefox on Linux and VS Code), F1 or ? shows the keys, F3 the command palette (ctrl+p is
    # VS Code's quick open). Binding ids are what keymap.yaml overrides.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f10", "quit", "Quit", priority=True, id="quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="quit"),  # after F10 in the footer
        Binding("f1,question_mark", "help", "Help", id="help"),
        Binding("f3,ctrl+p", "command_palette", "Commands", show=False, priority=True, id="command_palette"),
    ]
    COMMAND_PALETTE_BINDING = "f3"
    COMMANDS = App.COMMANDS | {_palette_provider}

    flow: var[Flow] = var(DEPLOY_FLOW, init=False)
    """The journey the steps belong to now: the deploy flow, or the update flow of one endpoint (ui/flow.py)."""

    def __init__(self, state: WizardState | None = None, *, start_step: str = "signin") -> None:
        super().__init__()
        self.state = state or WizardState.start(ConnectionOptions())
        self.start_step = start_step
        self.step: str | None = None  # the step on screen (under any dialog or management screen)
        # Launch in two frames (issue 6: the first must paint within 0.4 s of launch): the first shows
        # what can be drawn cheaply; what it left out follows, and only then the work that imports
        # more modules or starts threads (it would delay both frames).
        self.painted = False  # the first frame is on the terminal
        self.settled = False  # the first screen is complete, and after_start work has begun
        self._after_first_frame: list = []
        self._after_start: list = []
        self.interrupted_deploy = False  # quit while a deploy ran: the exit summary says how to resume

    def on_mount(self) -> None:
        import asyncio

        from rdeploy_tui.ui.daemon_executor import DaemonThreadExecutor

        # Thread workers on daemon threads: quitting never waits for a slow token endpoint or network call.
        asyncio.get_running_loop().set_default_executor(DaemonThreadExecutor())
        self.after_start(self.load_keymap)
        if self.state.connection.sandbox:
            self.sub_title = "sandbox"
        self.goto(self.start_step)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded and "alt" in event.key.split("+")[:-1]:
            # A terminal sends alt+j as ESC j (xterm.js, tmux M-j), which Textual's parser reads as alt+j carrying
            # the character "j": a focused Input or TextArea would type that j and the key's binding never run
            # (the scoring screen's "alt+j formats"). An alt key is never text: without its character, the focused
            # editor lets it through to the bindings. (AltGr and macOS Option characters arrive as themselves.)
            event.character = None
        await super().on_event(event)

    def after_first_frame(self, callback: Callable[[], Any]) -> None:
        """Run callback (it may be async) right after the first frame: for UI the first frame left out."""
        if self.painted:
            self.call_later(callback)
        else:
            self._after_first_frame.append(callback)

    def after_start(self, callback: Callable[[], Any]) -> None:
        """Run callback once the first screen is complete on the terminal (now, if it already is):
        for work that imports modules or starts threads."""
        if self.settled:
            self.call_later(callback)
        else:
            self._after_start.append(callback)

    def on_ready(self) -> None:
        # Textual sends Ready when the DOM is ready, which can be before the first frame is written
        # (the compositor refresh is deferred while a mount batch is open); the screen's next refresh
        # is that frame.
        self.screen.call_after_refresh(self._first_frame)

    async def _first_frame(self) -> None:
        self.painted = True
        _benchmark_mark("first")
        for callback in self._after_first_frame:
            result = callback()
            if result is not None:
                await result
        # A footer mounted just now fills in its keys after a refresh of its own: complete is the
        # refresh after that one.
        self.screen.call_after_refresh(self.screen.call_after_refresh, self._first_screen_complete)

    def _first_screen_complete(self) -> None:
        self.settled = True
        gc.enable()  # off while launching (commands/ui_cmd.py)
        if _benchmark_mark("complete"):
            self.exit()
            return
        for callback in self._after_start:
            self.call_later(callback)
        if self.offer_resume():
            return
        if self.start_step == DEPLOY_FLOW.steps[0].name:  # reopened days later: open on the endpoints, if any
            _open_management_if_endpoints(self)

    # -- moving between steps (the flow table decides where Next and Back lead) ---------------------------
    def step_screen(self, step: str) -> Screen:
        """The screen of a step, created on first use and kept, so its form survives Back/Next (a step the flow
        table marks not kept gets a fresh screen on every arrival)."""
        name = f"step-{step}"
        if not any_step(step).kept and self.step != step:
            self._discard(name)
        if not self.is_screen_installed(name):
            self.install_screen(_screen_class(step)(), name)
        return self.get_screen(name)

    def _discard(self, name: str) -> None:
        """Uninstall a step's screen (not on the stack) and close it: its next visit builds it anew."""
        if self.is_screen_installed(name):
            screen = self.get_screen(name)
            if not any(screen in stack for stack in self._screen_stacks.values()):
                self.uninstall_screen(name)
                screen.remove()

    def _fresh_forms(self) -> None:
        """The steps both flows walk fill their forms anew when the flow changes: from the spec the new journey
        starts with, not from what they held in the other one."""
        for step in UPDATE_FLOW.steps:
            self._discard(f"step-{step.name}")

    def goto(self, step: str) -> None:
        """Show `step` of the current flow (switching the wizard's screen under any management screen)."""
        screen = self.step_screen(step)
        if self.step is None:
            self.push_screen(screen)
        else:
            self.switch_screen(screen)
        self.step = step
        if hasattr(screen, "arrived"):
            screen.call_after_refresh(screen.arrived)

    def next_step(self, step: str) -> None:
        """Next from `step`: the flow's following step; after the last one the journey is over."""
        following = self.flow.after(step)
        if following is None:
            self.exit()
        else:
            self.goto(following.name)

    def previous_step(self, step: str) -> None:
        """Back from `step`: the flow's step before it; Back from the update flow's first step ends the update."""
        before = self.flow.before(step)
        if before is not None:
            self.goto(before.name)
        elif self.state.update is not None:
            self.end_update()

    # -- the update flow: a new version of one endpoint, rolled out beside the deployment serving it --------
    def start_update(
        self, endpoint: str, serving: str, new: str, *, deployments: tuple[str, ...] = (), source: Any = None
    ) -> None:
        """From the endpoints list (reading `source`): walk the update flow for `endpoint` (which has `deployments`),
        whose new version goes to deployment `new` beside `serving`."""
        state = self.state
        before = self.step or self.start_step
        state.update = UpdateTarget(
            endpoint, serving, new, state.spec.copy(), before, state.chosen_model, source, deployments
        )
        spec = state.spec
        spec.endpoint.name, spec.deployment.name = endpoint, new
        spec.deployment.traffic = 0  # the rollout shifts it in stages
        self.flow = UPDATE_FLOW
        self._close_management_screens()
        self._fresh_forms()
        self.goto(UPDATE_FLOW.steps[0].name)

    def resume_update(self, spec: DeploySpec, serving: str, new: str) -> None:
        """Resume the interrupted rollout of the last update with the spec it ran with: straight to its live screen
        (the update flow's steps stay behind it, Back from there ends the update)."""
        state = self.state
        before = self.step or self.start_step
        state.update = UpdateTarget(spec.endpoint.name, serving, new, state.spec.copy(), before, state.chosen_model)
        state.spec = spec
        self.flow = UPDATE_FLOW
        self._close_management_screens()
        self._fresh_forms()
        self.goto("rollout")

    def end_update(self) -> None:
        """The update is over (rolled out, rolled back, refused, stopped, or given up with Back): the deploy flow's
        spec and step come back, and the endpoints list opens, read again."""
        state = self.state
        update, state.update = state.update, None
        if update is not None:
            state.spec, state.chosen_model = update.spec_before, update.chosen_model_before
            state.save_last_run()
        self.flow = DEPLOY_FLOW
        state.endpoints = None  # the rollout changed them
        self._fresh_forms()
        self.goto(update.step_before if update is not None else DEPLOY_FLOW.steps[0].name)
        self.open_endpoints(update.source if update is not None else None)
        self.call_after_refresh(self._fresh_forms)  # the step that was on screen, now that it is not

    def on_endpoints_at_start(self, message: EndpointsAtStart) -> None:
        """The last run's workspace has endpoints (screens/manage.py open_if_endpoints): open on them."""
        from rdeploy_tui.ui.screens.manage import ManageScreen

        self.push_screen(ManageScreen(message.source, infos=message.infos))

    def open_endpoints(self, source: Any = None) -> None:
        """The workspace's endpoints, read now (from `source`; None: Azure), over the wizard."""
        from rdeploy_tui.ui.screens.manage import ManageScreen

        self.push_screen(ManageScreen(source))

    def _close_management_screens(self) -> None:
        """Pop what is above the wizard's step (the endpoints list and what it opened)."""
        step = self.get_screen(f"step-{self.step}") if self.step is not None else None
        while step is not None and step in self.screen_stack and self.screen_stack[-1] is not step:
            self.pop_screen()

    def running(self) -> RunsPipeline | None:
        """The deploy or rollout screen while its run is going on, else None."""
        for step in ("deploy", "rollout"):
            name = f"step-{step}"
            if self.is_screen_installed(name):
                screen = self.get_screen(name)
                if getattr(screen, "busy", False):
                    return screen  # type: ignore[return-value]
        return None

    def deploy_running(self) -> bool:
        return self.running() is not None

    def load_keymap(self) -> None:
        """Apply the user's key overrides (keymap.yaml); what is wrong in it is said, never raised."""
        from rdeploy_tui.ui import keys

        path = keys.keymap_path()
        if not path.exists() and not path.is_symlink():
            self.user_keymap = keys.UserKeymap(path)
            return
        self.user_keymap = keys.load_user_keymap(path)
        if self.user_keymap.keymap:
            self.set_keymap(self.user_keymap.keymap)
        if self.user_keymap.problems:
            self.notify(
                "\n".join(self.user_keymap.problems[:5]) + "\n(F1 lists them all)",
                title=f"Keymap {path.name}: check these entries",
                severity="warning",
                timeout=10,
                markup=False,  # the entries come from the file: "[b]" must be shown, not read as markup
            )

    def get_key_display(self, binding: Binding) -> str:
        display = super().get_key_display(binding)
        return display.upper() if display[:1] == "f" and display[1:].isdigit() else display

    def on_scoring_panel_health_asked(self, message: ScoringPanel.HealthAsked) -> None:
        """alt+h on a scoring screen (wizard or endpoints list): the endpoint's health, over it."""
        from rdeploy_tui.ui.screens.health import HealthScreen

        self.push_screen(HealthScreen(None, message.endpoint, message.deployments, deployment=message.deployment))

    def action_help(self) -> None:
        """F1: every key of the screen below (and its focused widget), with the user's overrides."""
        from rdeploy_tui.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Textual's "Keys" panel is replaced by the help screen (F1); the screen's own actions come
        # from the palette provider (ui/palette.py).
        for command in super().get_system_commands(screen):
            if command.title not in ("Keys", "Quit"):
                yield command

    async def action_quit(self) -> None:
        """Quitting during a deploy or a rollout asks first, then stops it."""
        running = self.running()
        if running is None:
            self.exit()
            return

        from rdeploy_tui.ui.widgets.dialogs import ConfirmDialog

        def answer(yes: bool | None) -> None:
            if yes:
                running.stop()
                self.interrupted_deploy = running.STEP == "deploy"
                self.exit()

        self.push_screen(ConfirmDialog(running.QUIT_QUESTION, yes="Quit", no="Stay", danger=True), answer)

    def offer_resume(self) -> bool:
        """After a crash, or a quit during a deploy or a rollout (the run then records it cancelled): offer to resume
        the unfinished deploy of the last run's spec, else the unfinished rollout of the last update (True: offered).
        A failed deploy is not offered: its cause (a package name, a quota) is to be fixed in the wizard first."""
        return self._offer_deploy() or self._offer_rollout()

    def _offer_deploy(self) -> bool:
        from rdeploy_tui.pipeline.state import ResumeStore, target_key

        spec = self.state.spec
        w = spec.workspace
        target = target_key(w.subscription_id, w.resource_group, w.name, spec.endpoint.name, spec.deployment.name)
        progress = ResumeStore().load(target) if self.state.from_last_run else None
        if progress is None or progress.status not in ("running", "cancelled"):
            return False
        stopped = [k for k, v in progress.steps.items() if v.status in ("running", "failed", "cancelled")]

        def answer(yes: bool | None) -> None:
            if yes:
                self.goto("deploy")

        self._ask_resume(
            f"The deploy of {spec.endpoint.name}/{spec.deployment.name} to workspace {w.name} "
            + ("was interrupted" if progress.status == "cancelled" else "did not finish")
            + (f" (it stopped during {', '.join(stopped)})" if stopped else "")
            + ".\n\nResume it now? Finished steps are not repeated.",
            answer,
        )
        return True

    def _offer_rollout(self) -> bool:
        from rdeploy_tui.pipeline.rollout import previous_rollout, unfinished

        spec = self.state.last_update()
        previous = previous_rollout(spec) if spec is not None else None
        if spec is None or previous is None or not unfinished(previous):
            return False
        facts = previous.rollout
        old, new = facts.old or "", facts.new or ""
        where = f" at {facts.stage} %" if facts.stage else ""

        def answer(yes: bool | None) -> None:
            if yes:
                self.resume_update(spec, old, new)

        self._ask_resume(
            f"The rollout of {new} beside {old} on endpoint {spec.endpoint.name} (workspace {spec.workspace.name}) "
            + ("was stopped" if previous.status in ("cancelled", "failed") else "did not finish")
            + where
            + ".\n\nResume it now? It goes on where it stopped; a shift already judged is not judged again.",
            answer,
        )
        return True

    def _ask_resume(self, question: str, answer: Callable[[bool | None], None]) -> None:
        from rdeploy_tui.ui.widgets.dialogs import ConfirmDialog

        # Resuming is safe (finished steps are not repeated) and what a user who comes back wants: it has the focus.
        self.push_screen(ConfirmDialog(question, yes="Resume", no="Start over", likely=True), answer)

    def _handle_exception(self, error: Exception) -> None:
        # A worker's answer that arrives as the app closes finds its screen's widgets already gone (NoMatches): the user
        # asked to quit and nothing is lost, so it is not a crash. Any other error still is.
        from textual.css.query import NoMatches

        if self._exit and isinstance(error, NoMatches):
            return
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        """An exception nothing handled ends the app. Textual would print a full traceback with locals
        on exit; the user gets one line instead and the traceback goes to the crash log."""
        from rich.text import Text

        from rdeploy_tui.logfile import save_crash

        exc = self._exception
        self.bell()
        if exc is not None:
            line = f"rdeploy-tui: unexpected error: {type(exc).__name__}: {exc}; {save_crash(exc)}"
        else:
            line = "rdeploy-tui: unexpected error"
        self._exit_renderables.append(Text(line))
        self._close_messages_no_wait()

    def show_error(self, exc: BaseException, title: str = "Error") -> None:
        """Any failure as a dialog with the next action; unexpected ones also go to the crash log."""
        from rdeploy_tui.ui.widgets.dialogs import ErrorDialog

        if isinstance(exc, RdeployError):
            from rdeploy_tui.ui.wording import in_wizard_terms  # the core's words for a spec field: the wizard's

            what, next_step = in_wizard_terms(exc.what, self.flow), in_wizard_terms(exc.next_step, self.flow) or None
            top = self.screen
            if isinstance(top, ErrorDialog) and (top.what, top.next_step) == (what, next_step):
                return  # the same failure twice (e.g. two workers hit it): one dialog is enough
            self.push_screen(ErrorDialog(what, next_step, exc.details, title=title))
            return
        from rdeploy_tui.logfile import save_crash

        where = save_crash(exc)
        self.push_screen(
            ErrorDialog(
                f"Unexpected error: {type(exc).__name__}: {exc}",
                f"try again; if it happens again, report it ({where})",
                title=title,
            )
        )


def _benchmark_mark(what: str) -> bool:
    """Benchmarks only: append `what <time> <azure.ai.ml imported?> <CPU seconds so far>` to
    $RDEPLOY_TUI_PAINTED_FILE. True: a benchmark is running (the app exits once its first screen is complete)."""
    path = os.environ.get(PAINTED_FILE_ENV)
    if not path:
        return False
    import sys

    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{what} {time.time():.6f} {'azure.ai.ml' in sys.modules} {time.process_time():.6f}\n")
    return True


def _open_management_if_endpoints(app: RdeployApp) -> None:
    from rdeploy_tui.ui.screens.manage import open_if_endpoints  # after the first paint: not on the start path

    open_if_endpoints(app)


def run_app(connection: ConnectionOptions) -> int:
    state = WizardState.start(connection)
    app = RdeployApp(state)
    try:
        app.run()
    finally:
        state.close()  # stops the in-process sandbox
    summary = closing_summary(app)
    if summary:
        print(summary)
    return exit_code(app)


def exit_code(app: RdeployApp) -> int:
    """How the wizard's work ended, as the CLI says it: 1 when this run's last deploy failed or was cancelled, or a
    deploy was interrupted by quitting (a script that ran the wizard must not read success), else 0."""
    if app.return_code:
        return app.return_code
    outcome = app.state.last_outcome
    return 1 if app.interrupted_deploy or (outcome is not None and outcome.status != "succeeded") else 0


def closing_summary(app: RdeployApp) -> str | None:
    """What to print once the app has closed (its screens are gone): see ui/exit_summary.py."""
    from rdeploy_tui.ui.exit_summary import exit_summary

    state = app.state
    return exit_summary(
        state.spec,
        state.connection,
        state.last_outcome,
        app.interrupted_deploy,
        state.traffic_after,
        state.billing_seen,
    )
