"""Every key a screen advertises works from the widget that has the focus when the screen shows it.

The keys are read from each screen itself: its active bindings that belong to this app (the screen's, its panels',
the app's), which are what its footer and F1 list, enabled now. Each key is pressed with the bytes a terminal sends
(tests/ui/terminal_bytes.py: ESC j for alt+j, ESC O Q for F2 ...) on a fresh app whose focus is where the screen
puts it, and the action's effect is looked for on the screen. An action without a known effect fails the test: a
new key comes with a way to see that it worked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
from sandbox_specs import connection_on, spec_on_sandbox
from terminal_bytes import decoded, press_key, type_text, xterm_bytes
from test_health_view import HealthSource
from test_snapshots import T0, recorded_deploy
from test_update_flow import Source as UpdateSource
from test_update_flow import _rollout_events, on_the_endpoints_list
from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Select, Static, TextArea
from ui_helpers import RecordedRun, make_app, settle, toasts, wait_for

from rdeploy_tui.scoring.target import ScoringTarget
from rdeploy_tui.ui import keys
from rdeploy_tui.ui.app import RdeployApp
from rdeploy_tui.ui.screens.deploy import DeployScreen
from rdeploy_tui.ui.screens.health import HealthScreen
from rdeploy_tui.ui.screens.help import HelpScreen
from rdeploy_tui.ui.screens.manage_dialogs import TrafficDialog, TypeNameDialog
from rdeploy_tui.ui.screens.manage_logs import ManageLogsScreen
from rdeploy_tui.ui.screens.manage_scoring import ManageScoringScreen
from rdeploy_tui.ui.screens.rollout import RolloutScreen
from rdeploy_tui.ui.screens.scoring import ScoringScreen
from rdeploy_tui.ui.widgets.dialogs import ConfirmDialog, ErrorDialog
from rdeploy_tui.ui.widgets.log_panel import LogPanel

SIZE = (80, 24)
NOWHERE = ScoringTarget("http://127.0.0.1:9/score", "k")  # nothing listens: a send fails at once


# --- the screens, each opened as the user meets it ---------------------------------------------------------------
@dataclass
class Case:
    """How to open a screen on a fresh app, and wait until it shows itself with its own focus."""

    open_app: Callable[[], RdeployApp]
    ready: Callable[[Any], Awaitable[None]] = settle
    answers: list[Any] = field(default_factory=list)  # what a dialog was dismissed with
    source: Any = None  # the endpoints list's source (it counts its reads)
    needs_sandbox: bool = False
    spec: Any = None  # a sandbox step's spec and Azure session, set by the test
    session: Any = None


def _step(step: str, **kw: Any) -> Case:
    return Case(lambda: make_app(step, **kw))


def _score() -> Case:
    return Case(lambda: make_app("score", screens={"score": ScoringScreen(autostart=False, resolver=lambda: NOWHERE)}))


def _dialog(make: Callable[[], Screen]) -> Case:
    case = Case(lambda: make_app("packages"))

    async def ready(pilot: Any) -> None:
        await settle(pilot, first=True)
        case.answers.clear()
        pilot.app.push_screen(make(), case.answers.append)
        await settle(pilot)

    case.ready = ready
    return case


def _help() -> Case:
    case = Case(lambda: make_app("packages"))

    async def ready(pilot: Any) -> None:
        await settle(pilot, first=True)
        await press_key(pilot, "f1")
        await settle(pilot)
        assert isinstance(pilot.app.screen, HelpScreen)

    case.ready = ready
    return case


def _deploy(outcome: str) -> Case:
    """The deploy step, reached with F2 from the review, its run replaying a recorded deploy."""
    run, lines = recorded_deploy(outcome)
    case = Case(lambda: make_app("review", screens={"deploy": DeployScreen(clock=lambda: T0 + 185, run=run)}))

    async def ready(pilot: Any) -> None:
        await settle(pilot, first=True)
        await press_key(pilot, "f2")
        await wait_for(pilot, lambda: pilot.app.step == "deploy")
        screen = pilot.app.screen
        if outcome != "running":
            await wait_for(pilot, lambda: screen.status == outcome)
        await wait_for(pilot, lambda: sum(p.received for p in screen.query(LogPanel)) == lines)
        await settle(pilot)

    case.ready = ready
    return case


class Source(UpdateSource, HealthSource):
    """The endpoints list's fixed endpoints, logs and health, counting what is read."""

    def __init__(self) -> None:
        UpdateSource.__init__(self)
        HealthSource.__init__(self)
        self.log_reads = 0

    def logs(self, endpoint, deployment, container, lines):
        self.log_reads += 1
        return super().logs(endpoint, deployment, container, lines)

    def read(self) -> int:
        return self.reads + len(self.asked) + self.log_reads


def _endpoints(then: str | None = None, shows: type[Screen] | None = None) -> Case:
    """The endpoints list over the wizard's last step, churn-live selected; `then`: the key that opens the screen
    `shows` from it."""
    source = Source()
    case = Case(lambda: make_app("score", screens={"score": ScoringScreen(autostart=False, resolver=lambda: NOWHERE)}))
    case.source = source

    async def ready(pilot: Any) -> None:
        await settle(pilot, first=True)
        await on_the_endpoints_list(pilot, source, "churn-live")
        if then is not None:
            await press_key(pilot, then)
            await wait_for(pilot, lambda: isinstance(pilot.app.screen, shows))
            await settle(pilot)
            await wait_for(
                pilot, lambda: not [w for w in pilot.app.workers if w.is_running and w.node is pilot.app.screen]
            )
            await settle(pilot)

    case.ready = ready
    return case


def _rollout() -> Case:
    """A rollout under way (its run replays the first stage and goes on until stopped)."""
    run = RecordedRun(_rollout_events())
    case = Case(lambda: make_app("score", screens={"score": ScoringScreen(autostart=False, resolver=lambda: NOWHERE)}))

    async def ready(pilot: Any) -> None:
        await settle(pilot, first=True)
        screen = RolloutScreen(pilot.app.state.spec.copy(), run=run)
        pilot.app.push_screen(screen)
        await wait_for(pilot, lambda: screen.is_mounted and bool(screen.query("#new-stats")))
        await wait_for(pilot, lambda: "stage-10: 0/4 errors" in str(screen.query_one("#new-stats").render()))
        await settle(pilot)

    case.ready = ready
    return case


def _on_sandbox(step: str) -> Case:
    """A step that asks Azure, asking the shared sandbox through the real SDK clients (opened in the test)."""
    case = Case(lambda: make_app(step, spec=case.spec, sandbox=True, azure=case.session))
    case.needs_sandbox = True

    async def ready(pilot: Any) -> None:
        await settle(pilot, first=True)
        # Each step's Azure work done: its workers finished, their answers on the screen.
        await wait_for(pilot, lambda: not [w for w in pilot.app.workers if w.is_running], timeout=60)
        await settle(pilot)

    case.ready = ready
    return case


CASES: dict[str, Callable[[], Case]] = {
    "signin": lambda: _on_sandbox("signin"),
    "workspace": lambda: _on_sandbox("workspace"),
    "model": lambda: _on_sandbox("model"),
    "packages": lambda: _step("packages"),
    "script": lambda: _step("script"),
    "endpoint": lambda: _step("endpoint"),
    "review": lambda: _step("review"),
    "deploy running": lambda: _deploy("running"),
    "deploy failed": lambda: _deploy("failed"),
    "deploy succeeded": lambda: _deploy("succeeded"),
    "score": _score,
    "endpoints list": _endpoints,
    "endpoint scoring": lambda: _endpoints("s", ManageScoringScreen),
    "endpoint logs": lambda: _endpoints("l", ManageLogsScreen),
    "endpoint health": lambda: _endpoints("h", HealthScreen),
    "traffic dialog": lambda: _endpoints("t", TrafficDialog),
    "delete endpoint dialog": lambda: _endpoints("x", TypeNameDialog),
    "rollout": _rollout,
    "confirm dialog": lambda: _dialog(lambda: ConfirmDialog("Delete endpoint x?", yes="Delete", danger=True)),
    "resume dialog": lambda: _dialog(
        lambda: ConfirmDialog("Resume it now?", yes="Resume", no="Start over", likely=True)
    ),
    "error dialog": lambda: _dialog(lambda: ErrorDialog("Something failed.", "do this next", "details")),
    "help": _help,
}


def advertised(app: RdeployApp) -> dict[str, tuple[str, str]]:
    """key -> action of every key the screen on top offers now: the bindings this app declares (the screen's, its
    panels', the app's: what its footer and F1 list), left to them by the focused widget, and enabled. (Textual's own
    defaults, Tab and the editors' keys, are the widgets' business; Tab is walked below.)"""
    ours = keys.ui_binding_ids()
    return {
        key: (active.binding.action, active.binding.id or "")
        for key, active in app.screen.active_bindings.items()
        if active.enabled and active.binding.id in ours
    }


# --- what each action visibly does -------------------------------------------------------------------------------
@dataclass
class Before:
    app: RdeployApp
    screen: Screen
    focused: Any
    seen: tuple
    editor_text: str | None
    answers: list[Any]
    view: str | None  # the scoring answer's view (table or JSON)
    reads: int  # what the endpoints list's source has read so far
    source: Any
    runs: int = 0  # how many times the screen's recorded run was started


def _runs(app: RdeployApp) -> int:
    run = getattr(app.screen, "run", None)
    return len(run.specs) if isinstance(run, RecordedRun) else 0


def _seen(app: RdeployApp) -> tuple:
    """What the user sees: the screen on top, its texts and editors, the notifications."""
    screen = app.screen
    texts = tuple(str(w.render()) for w in screen.query(Static))
    editors = tuple(e.text for e in screen.query(TextArea))
    logs = tuple(p.received for p in screen.query(LogPanel))
    return (id(screen), len(app.screen_stack), texts, editors, logs, toasts(app))


def _editor_text(app: RdeployApp) -> str | None:
    return app.focused.text if isinstance(app.focused, TextArea) else None


def _reads(case: Case) -> int:
    return case.source.read() if case.source is not None else 0


def _view(app: RdeployApp) -> str | None:
    views = app.screen.query("#result-view")
    return views.first(ContentSwitcher).current if views else None


def _left(b: Before) -> bool:
    return b.app.return_code is not None or b.app.screen is not b.screen


def _result_status(b: Before) -> bool:
    status = b.screen.query_one("#result-status", Static)
    return str(status.render()) != "No request sent yet."


def _formatted(b: Before) -> bool:
    assert b.editor_text is not None
    return b.focused.text == json.dumps(json.loads(b.editor_text), indent=2, ensure_ascii=False) != b.editor_text


def _visible_change(b: Before) -> bool:
    return b.app.return_code is not None or _seen(b.app) != b.seen


EFFECTS: dict[str, Callable[[Before], bool]] = {
    "help": lambda b: isinstance(b.app.screen, HelpScreen),
    "command_palette": lambda b: isinstance(b.app.screen, CommandPalette),
    # Quitting exits, or asks first while a deploy or a rollout runs.
    "quit": lambda b: b.app.return_code is not None or isinstance(b.app.screen, ConfirmDialog),
    # Next goes on, or says what stops it.
    "next": lambda b: _left(b) or "Not yet" in toasts(b.app),
    "back": _left,
    "close": _left,
    "yes": lambda b: b.answers == [True],
    "no": lambda b: b.answers == [False],
    "send": _result_status,
    "format_request": _formatted,
    "health": lambda b: any(isinstance(s, HealthScreen) for s in b.app.screen_stack),
    "openapi_sample": _visible_change,
    "toggle_view": lambda b: b.screen.query_one("#result-view", ContentSwitcher).current != b.view,
    "test_local": _visible_change,
    "retry": _visible_change,
    # The endpoints list and the screens it opens.
    "score": lambda b: isinstance(b.app.screen, ManageScoringScreen),
    "logs": lambda b: isinstance(b.app.screen, ManageLogsScreen),
    "traffic": lambda b: isinstance(b.app.screen, TrafficDialog),
    "remove": _visible_change,  # the highlighted package leaves the list, or it says which to remove
    "delete_deployment": lambda b: isinstance(b.app.screen, ConfirmDialog) or _visible_change(b),  # or: why not
    "delete_endpoint": lambda b: isinstance(b.app.screen, TypeNameDialog),
    "delete_expired": lambda b: isinstance(b.app.screen, ConfirmDialog) or _visible_change(b),  # or: none expired
    "new": _left,
    "update": lambda b: _left(b) or _visible_change(b),  # the update flow, or why it cannot start here
    "refresh": lambda b: b.source is not None and b.source.read() > b.reads,  # read again
    "follow": _visible_change,
    "next_window": _visible_change,
    "cancel": _left,
    # The deploy and the rollout.
    "cancel_deploy": lambda b: isinstance(b.app.screen, ConfirmDialog) or _visible_change(b),
    # Resume runs the deploy again (its logs start empty, so a replayed run can look as it did: the run is counted).
    "resume": lambda b: _visible_change(b) or _runs(b.app) > b.runs,
    "advance": _visible_change,
    "hold": _visible_change,
    "release": _visible_change,
    "roll_back": lambda b: isinstance(b.app.screen, ConfirmDialog),
}


# Where one screen's action shows otherwise than the action of that name elsewhere.
EFFECTS_OF_BINDING: dict[str, Callable[[Before], bool]] = {
    # Esc on a rollout under way stops it (the traffic stays), said in its log; once over it leaves.
    "rollout.close": lambda b: _left(b) or _visible_change(b),
}


def _effect(action: str, binding_id: str) -> Callable[[Before], bool] | None:
    return EFFECTS_OF_BINDING.get(binding_id) or EFFECTS.get(action)


async def _prepare(pilot: Any, action: str) -> None:
    """Put the screen in a state where the action shows: a request laid out by hand before it is formatted."""
    if action == "format_request":
        before = pilot.app.focused.text
        await type_text(pilot, " ")
        assert pilot.app.focused.text != before, "the request editor did not take a typed space"


async def _quiet(pilot: Any, earlier: set[Any]) -> None:
    """Let what the key started finish (a step asking Azure, a dialog saying it failed) before the app closes."""
    app = pilot.app
    await _until(pilot, lambda: not [w for w in app.workers if w not in earlier and w.is_running], timeout=60)
    if app.is_running:
        await settle(pilot)


async def _until(pilot: Any, condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline or not pilot.app.is_running:
            return condition()
        await pilot.pause(0.02)
    return True


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[pytest.mark.sandbox] if CASES[n]().needs_sandbox else []) for n in CASES]
)
async def test_every_key_the_screen_offers_works_from_its_first_focus(name, request):
    with ExitStack() as stack:

        def fresh() -> Case:
            case = CASES[name]()
            if case.needs_sandbox:
                if not hasattr(fresh, "session"):
                    sandbox = request.getfixturevalue("sandbox")
                    fresh.session = stack.enter_context(connection_on(sandbox))
                    fresh.spec = spec_on_sandbox(sandbox, "keys-unused-endpoint")
                case.session, case.spec = fresh.session, fresh.spec.copy()
            return case

        case = fresh()
        app = case.open_app()
        async with app.run_test(size=SIZE) as pilot:
            await case.ready(pilot)
            offered = advertised(app)
        assert offered, f"{name} offers no keys"
        unknown = sorted({action for action, binding_id in offered.values() if _effect(action, binding_id) is None})
        assert not unknown, f"{name} offers actions with no effect known to this test: {unknown}"

        failed = []
        for key, (action, binding_id) in offered.items():
            case = fresh()
            app = case.open_app()
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                await case.ready(pilot)
                await _prepare(pilot, action)
                before = Before(
                    app,
                    app.screen,
                    app.focused,
                    _seen(app),
                    _editor_text(app),
                    case.answers,
                    _view(app),
                    _reads(case),
                    case.source,
                    _runs(app),
                )
                earlier = set(app.workers)
                await press_key(pilot, key)
                if not await _until(pilot, partial(_effect(action, binding_id), before)):
                    typed = _editor_text(app) if app.screen is before.screen else None
                    failed.append(
                        f"{key} ({action}) from {before.focused!r}" + (f": editor now {typed!r}" if typed else "")
                    )
                await _quiet(pilot, earlier)
        assert not failed, f"keys of {name} that did not work:\n" + "\n".join(failed)


# --- the focus a step opens with, and where Tab takes it ---------------------------------------------------------
async def test_tab_from_the_last_field_lands_on_next_and_enter_there_goes_on():
    """Tab from the form's last field goes to Next, never to Back: Enter there goes forward. Back again, the step
    does not bring back a focus on Back (it cannot have one), so a later Enter never goes back by surprise."""
    app = make_app("endpoint")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, first=True)
        screen = app.screen
        for _ in range(20):  # the form's fields, then the nav bar
            await press_key(pilot, "tab")
            assert app.focused is not None and app.focused.id != "back", "Tab stopped on Back"
            if app.focused.id == "next":
                break
        assert app.focused.id == "next", f"Tab never reached Next (at {app.focused!r})"
        await press_key(pilot, "enter")
        await _until(pilot, lambda: app.screen is not screen)
        assert app.step == "review"
        await press_key(pilot, "escape")
        await _until(pilot, lambda: app.screen is screen)
        assert app.step == "endpoint" and (app.focused is None or app.focused.id != "back")
        await press_key(pilot, "f2")
        await _until(pilot, lambda: app.step == "review")
        assert app.step == "review"


@pytest.mark.sandbox
async def test_tab_from_the_workspace_dropdown_lands_on_next_and_enter_never_goes_back(sandbox):
    """The workspace step on the sandbox: the dropdown has the focus once the workspaces are listed; Tab goes to Next
    (Back is Esc's, Tab never stops on it), Enter there goes on to the model. Back on this step later, F2 and Enter
    go forward, never back to the sign-in."""
    with connection_on(sandbox) as session:
        app = make_app("workspace", spec=spec_on_sandbox(sandbox, "keys-unused-endpoint"), sandbox=True, azure=session)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot, first=True)
            screen = app.screen
            await wait_for(pilot, lambda: not screen.query_one("#next").disabled, timeout=60)
            assert isinstance(app.focused, Select) and app.focused.id == "workspace"
            await press_key(pilot, "tab")
            assert app.focused is not None and app.focused.id == "next", f"Tab from the dropdown went to {app.focused}"
            await press_key(pilot, "enter")
            await wait_for(pilot, lambda: app.step == "model", timeout=30)
            await press_key(pilot, "escape")
            await wait_for(pilot, lambda: app.step == "workspace" and app.screen is screen, timeout=30)
            assert app.focused is None or app.focused.id != "back"
            for _ in range(2):  # F2 on, Esc back, then Enter, whatever has the focus now: never back to the sign-in
                await press_key(pilot, "f2")
                await wait_for(pilot, lambda: app.step == "model", timeout=30)
                await press_key(pilot, "escape")
                await wait_for(pilot, lambda: app.step == "workspace" and app.screen is screen, timeout=30)
                focused = app.focused
                assert focused is not None and focused.id in ("workspace", "next"), f"the focus came back on {focused}"
                await press_key(pilot, "enter")
                if focused.id == "next":  # Enter on Next goes on
                    await wait_for(pilot, lambda: app.step == "model", timeout=30)
                    await press_key(pilot, "escape")
                    await wait_for(pilot, lambda: app.step == "workspace", timeout=30)
                else:  # Enter on the dropdown opens it; Esc closes it
                    await wait_for(pilot, lambda select=focused: select.expanded, timeout=30)
                    await press_key(pilot, "escape")
                    await wait_for(pilot, lambda select=focused: not select.expanded, timeout=30)
            await wait_for(pilot, lambda: not [w for w in app.workers if w.is_running], timeout=60)


def test_the_bytes_sent_for_each_key_the_ui_binds_decode_to_that_key():
    """The bytes these tests send (tests/ui/terminal_bytes.py) are read by Textual's parser as the key they stand for,
    for every key any screen binds (tests/ui/test_browser_terminal.py measures what xterm.js itself sends)."""
    bound = {k for cls in keys.ui_binding_classes() for b in keys.own_bindings(cls) for k in keys.split_keys(b.key)}
    read_as = {key: [e.key for e in decoded(xterm_bytes(key))] for key in sorted(bound)}
    assert {key: got for key, got in read_as.items() if got != [key]} == {}
