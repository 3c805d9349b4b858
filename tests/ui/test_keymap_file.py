"""keymap.yaml as the wizard applies it (issue 23, issue 25 item 5): entries that are not keys are said and left
out, no keymap leaves Quit, Help or the command palette without a working key, and a keymap that cannot be read
(a FIFO, /dev/zero, deep nesting, a 5,000-digit number) is said on the first screen instead of hanging or crashing.
Through the app with Pilot, and in a real terminal (tmux) with the bytes a terminal sends."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import Static
from textual.widgets._toast import Toast
from ui_helpers import make_app

from rdeploy_tui.ui.screens.help import HelpScreen

SCRIPT = Path(sys.executable).parent / "rdeploy-tui"


async def _wait(pilot, condition, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; top screen: {pilot.app.screen!r}")
        await pilot.pause(0.02)


def _toasts(app) -> str:
    """The notifications shown on the screen now, as plain text."""
    return "\n".join(toast.render().plain for toast in app.screen.query(Toast))


async def test_a_key_no_keyboard_sends_is_said_and_quit_keeps_f10(rdeploy_home):
    rdeploy_home.mkdir(parents=True)
    (rdeploy_home / "keymap.yaml").write_text("quit: banana\nhelp: f10\nnext: f6\n", encoding="utf-8")
    app = make_app("packages")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await _wait(pilot, lambda: "banana" in _toasts(app), "the keymap's message")
        shown = " ".join(_toasts(app).split())
        assert "quit: banana is the name of the character U+1F34C, which no keyboard sends as a key" in shown
        assert "help: f10 is Quit's key; left out so that Quit keeps it" in shown
        assert app.user_keymap.keymap == {"next": "f6"}  # the good entry is applied
        await pilot.press("f6")
        await _wait(pilot, lambda: getattr(app.screen, "STEP", None) == "script", "f6 (the user's Next) to move on")
        await pilot.press("f10")
        await _wait(pilot, lambda: app.return_code is not None, "F10 to quit")


async def test_command_palette_and_help_keep_a_working_key(rdeploy_home):
    rdeploy_home.mkdir(parents=True)
    (rdeploy_home / "keymap.yaml").write_text(
        "command_palette: ctrl+p\nhelp: f2\nback: question_mark\n", encoding="utf-8"
    )
    app = make_app("packages")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await _wait(pilot, lambda: app.user_keymap is not None and _toasts(app), "the keymap's message")
        first = " ".join(_toasts(app).split())
        assert "command_palette: ctrl+p would leave the command palette without a key that works" in first
        assert app.user_keymap.keymap == {}
        app.screen.query_one("#package-list").focus()
        await pilot.press("f1")  # Help kept its own keys: F1 lists every entry left out
        await _wait(pilot, lambda: isinstance(app.screen, HelpScreen), "F1 to open the help screen")
        note = " ".join(str(app.screen.query_one("#help-keymap", Static).render()).split())
        assert "Left out: help: f2 would leave Help without a key that works in a browser terminal" in note
        assert "(f2 is also Next's key)" in note
        assert "Left out: back: question_mark is Help's key; left out so that Help keeps it" in note
        assert "may never arrive" not in note  # said once, as the entry left out
        await pilot.press("escape")
        await _wait(pilot, lambda: not isinstance(app.screen, HelpScreen), "Esc to close the help screen")
        await pilot.press("f3")
        await _wait(pilot, lambda: isinstance(app.screen, CommandPalette), "F3 to open the command palette")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("next:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 200)), id="deeply-nested"),
        pytest.param("next: " + "9" * 5000 + "\n", id="5000-digit-number"),
        pytest.param("/dev/zero", id="dev-zero"),
    ],
)
async def test_an_unreadable_keymap_is_said_and_the_defaults_kept(rdeploy_home, content):
    rdeploy_home.mkdir(parents=True)
    path = rdeploy_home / "keymap.yaml"
    if content.startswith("/dev/"):
        path.symlink_to(content)
    else:
        path.write_text(content, encoding="utf-8")
    app = make_app("packages")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await _wait(pilot, lambda: app.user_keymap is not None and _toasts(app), "the keymap's message")
        shown = " ".join(_toasts(app).split())
        assert "keymap.yaml" in shown and "none of it was applied" in shown, shown
        assert any(
            words in shown for words in ("nested more than 64", "number of 5,000 digits", "a character device")
        ), shown
        assert app.user_keymap.keymap == {}
        await pilot.press("f2")
        await _wait(pilot, lambda: getattr(app.screen, "STEP", None) == "script", "F2 (the default Next)")


# --- the real console script in tmux ------------------------------------------------------------------------------
@pytest.fixture
def tmux_app(tmp_path):
    """Start `rdeploy-tui --sandbox` at 80x24 in a private tmux server, with RDEPLOY_HOME prepared by the test."""
    if shutil.which("tmux") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is missing in CI")
        pytest.skip("tmux is not installed")
    socket = f"rdeploy-keymap-{uuid.uuid4().hex[:8]}"
    home = tmp_path / "home"
    home.mkdir()
    done = tmp_path / "exit-code"

    class Pane:
        def __init__(self) -> None:
            self.home, self.exit_file = home, done

        def start(self) -> None:
            command = (
                f"cd {tmp_path} && RDEPLOY_HOME={home} RDEPLOY_SANDBOX_TIME_SCALE=0.003 {SCRIPT} --sandbox; "
                f"echo $? > {done}; echo APP-EXITED; sleep 60"
            )
            subprocess.run(
                ["tmux", "-L", socket, "new-session", "-d", "-s", "app", "-x", "80", "-y", "24", command], check=True
            )

        def keys(self, *keys: str) -> None:
            for key in keys:
                subprocess.run(["tmux", "-L", socket, "send-keys", "-t", "app", key], check=True)

        def text(self) -> str:
            return subprocess.run(
                ["tmux", "-L", socket, "capture-pane", "-t", "app", "-p"], check=True, capture_output=True, text=True
            ).stdout

        def wait_for(self, *needles: str, timeout: float = 60.0) -> str:
            """The screen once it shows every needle (whitespace and the toast's border folded away)."""
            deadline = time.monotonic() + timeout
            while True:
                screen = self.text()
                flat = " ".join(screen.replace("▌", " ").split())
                if all(n in flat for n in needles):
                    return screen
                if time.monotonic() > deadline:
                    raise AssertionError(f"{needles!r} did not all appear; the screen shows:\n{screen}")
                time.sleep(0.2)

    try:
        yield Pane()
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


@pytest.mark.tmux
@pytest.mark.sandbox
def test_a_fifo_symlinked_as_keymap_does_not_hang_the_wizard(tmux_app):
    fifo = tmux_app.home / "keys.pipe"
    os.mkfifo(fifo)  # nobody ever writes to it: reading it the ordinary way blocks forever
    (tmux_app.home / "keymap.yaml").symlink_to(fifo)
    tmux_app.start()
    screen = tmux_app.wait_for(
        "Signed in as rdeploy-sandbox-deployer", "named pipe (FIFO), not a regular file", "none of it"
    )
    assert "Traceback" not in screen
    tmux_app.keys("F10")
    tmux_app.wait_for("APP-EXITED")
    assert tmux_app.exit_file.read_text().strip() == "0"


@pytest.mark.tmux
@pytest.mark.sandbox
def test_quit_banana_leaves_f10_quitting_in_a_real_terminal(tmux_app):
    (tmux_app.home / "keymap.yaml").write_text("quit: banana\n", encoding="utf-8")
    tmux_app.start()
    tmux_app.wait_for("Signed in as rdeploy-sandbox-deployer", "no keyboard sends as a key")
    tmux_app.keys("F10")  # tmux sends F10's bytes, ESC [ 2 1 ~, as a terminal does
    tmux_app.wait_for("APP-EXITED")
    assert tmux_app.exit_file.read_text().strip() == "0"
