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
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
from terminal_bytes import press_key, type_text
from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Static, TextArea
from ui_helpers import make_app, settle, toasts

from rdeploy_tui.scoring.target import ScoringTarget
from rdeploy_tui.ui import keys
from rdeploy_tui.ui.app import RdeployApp
from rdeploy_tui.ui.screens.health import HealthScreen
from rdeploy_tui.ui.screens.help import HelpScreen
from rdeploy_tui.ui.screens.scoring import ScoringScreen
from rdeploy_tui.ui.widgets.dialogs import ConfirmDialog, ErrorDialog

SIZE = (80, 24)
NOWHERE = ScoringTarget("http://127.0.0.1:9/score", "k")  # nothing listens: a send fails at once


# --- the screens, each opened as the user meets it ---------------------------------------------------------------
@dataclass
class Case:
    """How to open a screen on a fresh app, and wait until it shows itself with its own focus."""

    open_app: Callable[[], RdeployApp]
    ready: Callable[[Any], Awaitable[None]] = settle
    answers: list[Any] = field(default_factory=list)  # what a dialog was dismissed with


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


CASES: dict[str, Callable[[], Case]] = {
    "packages": lambda: _step("packages"),
    "script": lambda: _step("script"),
    "endpoint": lambda: _step("endpoint"),
    "review": lambda: _step("review"),
    "score": _score,
    "confirm dialog": lambda: _dialog(lambda: ConfirmDialog("Delete endpoint x?", yes="Delete", danger=True)),
    "resume dialog": lambda: _dialog(
        lambda: ConfirmDialog("Resume it now?", yes="Resume", no="Start over", likely=True)
    ),
    "error dialog": lambda: _dialog(lambda: ErrorDialog("Something failed.", "do this next", "details")),
    "help": _help,
}


def advertised(app: RdeployApp) -> dict[str, str]:
    """key -> action of every key the screen on top offers now: the bindings this app declares (the screen's, its
    panels', the app's: what its footer and F1 list), left to them by the focused widget, and enabled. (Textual's own
    defaults, Tab and the editors' keys, are the widgets' business; Tab is walked below.)"""
    ours = keys.ui_binding_ids()
    return {
        key: active.binding.action
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


def _seen(app: RdeployApp) -> tuple:
    """What the user sees: the screen on top, its texts and editors, the notifications."""
    screen = app.screen
    texts = tuple(str(w.render()) for w in screen.query(Static))
    editors = tuple(e.text for e in screen.query(TextArea))
    return (id(screen), len(app.screen_stack), texts, editors, toasts(app))


def _editor_text(app: RdeployApp) -> str | None:
    return app.focused.text if isinstance(app.focused, TextArea) else None


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
}


async def _prepare(pilot: Any, action: str) -> None:
    """Put the screen in a state where the action shows: a request laid out by hand before it is formatted."""
    if action == "format_request":
        before = pilot.app.focused.text
        await type_text(pilot, " ")
        assert pilot.app.focused.text != before, "the request editor did not take a typed space"


async def _until(pilot: Any, condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline or not pilot.app.is_running:
            return condition()
        await pilot.pause(0.02)
    return True


@pytest.mark.parametrize("name", list(CASES))
async def test_every_key_the_screen_offers_works_from_its_first_focus(name):
    case = CASES[name]()
    app = case.open_app()
    async with app.run_test(size=SIZE) as pilot:
        await case.ready(pilot)
        offered = advertised(app)
    assert offered, f"{name} offers no keys"
    unknown = sorted({action for action in offered.values()} - set(EFFECTS))
    assert not unknown, f"{name} offers actions with no effect known to this test: {unknown}"

    failed = []
    for key, action in offered.items():
        case = CASES[name]()
        app = case.open_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await case.ready(pilot)
            await _prepare(pilot, action)
            before = Before(app, app.screen, app.focused, _seen(app), _editor_text(app), case.answers, _view(app))
            await press_key(pilot, key)
            if not await _until(pilot, partial(EFFECTS[action], before)):
                typed = _editor_text(app) if app.screen is before.screen else None
                failed.append(
                    f"{key} ({action}) from {before.focused!r}" + (f": editor now {typed!r}" if typed else "")
                )
    assert not failed, "keys that did not work:\n" + "\n".join(failed)


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
