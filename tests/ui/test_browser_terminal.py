"""The real console script in a real browser terminal: `rdeploy-tui --sandbox` on a pseudo-terminal,
shown by xterm.js in headless Chromium at 80x24 (tests/ui/browser_terminal.py), walked from sign-in
to a scored request with the keys the footers advertise (F2, Alt+N, F1, F3, F4, F9, Esc, F10) sent as
browser keyboard events, and a few mouse clicks. It proves the keys and escape sequences reach the app
through xterm.js and that every screen renders there; a PNG of each screen is saved under
test-artifacts/browser/ (the path is printed).

What headless Chromium cannot show: the browser's own shortcuts. A page never sees ctrl+n, ctrl+t,
ctrl+w (Chrome keeps them), and a headless browser has no window, tabs or menus to take them, so
pressing them here proves nothing either way. tests/unit/test_reserved_keys.py holds every binding
against the table of keys browsers and VS Code keep (rdeploy_tui/ui/keys.py).

Runs wherever Chromium, xterm.js and Playwright are installed (dev.sh installs them); outside CI it is
skipped with the reason when they are not; in CI (CI=true) a missing part fails it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from browser_terminal import CHROMIUM, CHROMIUM_ARGS, BrowserTerminal, PtyBridge, missing_parts, playwright_key

pytestmark = [pytest.mark.browser, pytest.mark.sandbox, pytest.mark.slow]

SCRIPT = Path(sys.executable).parent / "rdeploy-tui"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


@pytest.fixture
def browser_page():
    missing = missing_parts()
    if missing:
        if _in_ci():
            pytest.fail(
                "CI must run the browser-terminal test; missing: " + "; ".join(missing) + " (run bash dev.sh test)"
            )
        pytest.skip("no browser terminal on this machine: " + "; ".join(missing) + " (bash dev.sh test installs them)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Debian's Chromium, never a browser download.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 600})
            yield page
        finally:
            browser.close()


@pytest.fixture
def terminal(browser_page, tmp_path, capsys):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "TEXTUAL"))}
    env.update(
        TERM="xterm-256color",
        COLORTERM="truecolor",
        RDEPLOY_HOME=str(tmp_path / "home"),
        RDEPLOY_SANDBOX_TIME_SCALE="0.003",
    )  # a deployment takes seconds, not minutes
    with PtyBridge([str(SCRIPT), "--sandbox"], env=env, cwd=tmp_path) as bridge:
        term = BrowserTerminal(browser_page, ARTIFACTS)
        term.start(bridge.url)
        term.bridge = bridge
        try:
            yield term
        finally:
            with capsys.disabled():
                print(f"\nbrowser-terminal screenshots: {ARTIFACTS} ({len(term.shots)} files)")


def next_enabled(t: BrowserTerminal) -> None:
    """Wait until the step lets the user go on: the nav bar shows no problem between Back and Next."""
    t.wait_for_line(r"^\s*Back\s+(Next|Deploy|Score|Finish)\s*$", timeout=240)


def test_wizard_in_a_browser_terminal_to_a_scored_request(terminal):
    t = terminal
    t.wait_for("Signed in as sandbox-user@example.com")
    screen = t.wait_for("F10 Quit")  # the footer follows the first frame
    assert "Sandbox subscription" in screen and "F2 Next" in screen and "F1 Help" in screen
    t.screenshot("sign-in")

    # F1: the help screen lists the keys of the screen below; Esc closes it.
    t.press("F1")
    screen = t.wait_for("Keys of this screen")
    assert "F2 / alt+n" in screen and "F10 / ^q" in screen, screen
    t.screenshot("help")
    t.press("Escape")
    t.wait_gone("Keys of this screen")

    next_enabled(t)
    t.press("F2")
    t.wait_for("rdeploy-sandbox-ws")
    t.wait_for("azurecr.io")  # the workspace's registry was found
    t.screenshot("workspace")

    # F3: the command palette lists this screen's actions with their keys (ctrl+p is VS Code's).
    t.press("F3")
    t.wait_for("Next (F2")
    t.screenshot("command-palette")
    t.press("Escape")
    t.wait_gone("Next (F2")

    next_enabled(t)
    t.press("Alt+n")  # Next's second key: ESC n through xterm.js
    t.wait_for("latest (now version")
    t.screenshot("model")

    next_enabled(t)
    t.press("F2")
    t.wait_for("always included")
    t.screenshot("packages")
    t.press("Escape")  # Back, then a mouse click on Next
    t.wait_for("latest (now version")
    next_enabled(t)
    t.click_text(" Next ")
    t.wait_for("always included")

    next_enabled(t)
    t.press("F2")
    t.wait_for("Sample request")
    t.screenshot("script")

    next_enabled(t)
    t.press("F2")
    t.wait_for("Endpoint name")
    t.screenshot("endpoint")

    next_enabled(t)
    t.press("F2")
    t.wait_for(" Deploy ")
    t.screenshot("review")

    next_enabled(t)
    t.click_text(" Deploy ")  # the mouse starts the deploy
    t.wait_for("Cancel deploy")
    t.screenshot("deploying")
    t.wait_for("is live at", timeout=240)  # the deploy's summary: Next (Score) is enabled with it
    t.screenshot("deployed")

    next_enabled(t)
    t.press("F2")
    t.wait_for("HTTP 200 from", timeout=120)  # the scoring panel's status line
    t.screenshot("scored")

    t.press("F4")  # the answer as JSON instead of a table (was ctrl+t, which Chrome keeps)
    t.wait_for('"year": 1971')  # pretty JSON
    t.screenshot("scored-json")
    t.press("F9")  # Send again: the F-key alias of ctrl+s
    t.click_text("History")
    t.wait_for_line(r"^\s*2\s.*200", timeout=120)
    t.screenshot("history")

    t.press("F10")
    process = t.bridge.process
    process.wait(60)
    assert process.returncode == 0
    assert "Traceback" not in t.text()


def test_every_key_the_ui_binds_arrives_through_xterm_js_as_that_key(browser_page):
    """Each key of every binding pressed as a browser keyboard event into xterm.js; what xterm.js sends
    is decoded by Textual's own parser. (Headless Chromium passes even the keys a browser window keeps,
    e.g. ctrl+q: for those this shows only xterm.js's encoding; the reserved-keys test covers them.)"""
    from textual import events
    from textual._xterm_parser import XTermParser  # what the app's driver decodes input with

    from rdeploy_tui.ui import keys
    from rdeploy_tui.ui.app import RdeployApp

    bound = {b.key for cls in keys.ui_binding_classes() for b in keys.own_bindings(cls)}
    bound.add(RdeployApp.COMMAND_PALETTE_BINDING)
    term = BrowserTerminal(browser_page, ARTIFACTS)
    term.start_recording()
    arrived = {}
    for key in sorted(bound):
        sent = term.sent_for(playwright_key(key))
        parser = XTermParser()
        decoded = [e.key for e in [*parser.feed(sent), *parser.feed("")] if isinstance(e, events.Key)]
        arrived[key] = (sent, decoded)
    wrong = {k: v for k, v in arrived.items() if v[1] != [k]}
    assert wrong == {}, wrong
    assert {"f1", "f2", "f3", "f4", "f9", "f10", "alt+n", "ctrl+s", "escape"} <= set(arrived)
