"""The real console script in a real terminal (tmux): launch with --sandbox, walk the first screens
with keystrokes, read the screen with capture-pane, quit, and check nothing else reached the terminal."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.tmux, pytest.mark.sandbox]

SCRIPT = Path(sys.executable).parent / "rdeploy-tui"


@pytest.fixture
def tmux(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    name = f"rdeploy-{uuid.uuid4().hex[:8]}"
    home = tmp_path / "home"
    done = tmp_path / "exit-code"
    # The shell line: run the app, then record how it ended, then keep the pane open to be read.
    command = (
        f"cd {tmp_path} && RDEPLOY_HOME={home} RDEPLOY_SANDBOX_TIME_SCALE=0.003 {SCRIPT} --sandbox; "
        f"echo $? > {done}; echo APP-EXITED; sleep 60"
    )
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "80", "-y", "24", command], check=True)

    class Pane:
        exit_file = done

        def keys(self, *keys: str) -> None:
            # One key at a time, as a person types: a burst of several control keys in one read
            # (e.g. five backspaces) loses keys in Textual 8.2.8's input parsing.
            for key in keys:
                subprocess.run(["tmux", "send-keys", "-t", name, key], check=True)
                time.sleep(0.05)

        def text(self) -> str:
            return subprocess.run(
                ["tmux", "capture-pane", "-t", name, "-p"], check=True, capture_output=True, text=True
            ).stdout

        def wait_for(self, needle: str, timeout: float = 30.0) -> str:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                screen = self.text()
                if needle in screen:
                    return screen
                time.sleep(0.2)
            raise AssertionError(f"{needle!r} did not appear; the screen shows:\n{self.text()}")

    try:
        yield Pane()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def test_console_script_walks_the_first_screens(tmux):
    screen = tmux.wait_for("Signed in as sandbox-user@example.com")
    assert "Sandbox subscription" in screen
    assert "Traceback" not in screen
    tmux.keys("F2")
    screen = tmux.wait_for("rdeploy-sandbox-ws")
    tmux.wait_for("azurecr.io")  # the workspace's registry was found
    tmux.keys("F2")
    screen = tmux.wait_for("forecast-model")
    tmux.wait_for("latest (now version")
    tmux.keys("F2")
    tmux.wait_for("always included")
    tmux.keys("s", "t", "a", "t", "s")
    screen = tmux.wait_for("ships with R itself")  # refused as typed, at the field
    tmux.keys("BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "z", "o", "o", "Enter")
    screen = tmux.wait_for(" zoo")
    tmux.keys("Escape")  # Back
    tmux.wait_for("latest (now version")
    tmux.keys("F10")
    screen = tmux.wait_for("APP-EXITED")
    assert tmux.exit_file.read_text().strip() == "0"
    # After the app restored the terminal, only our marker is there: no SDK log lines, poll dots or tracebacks.
    leftover = [line for line in screen.splitlines() if line.strip() and "APP-EXITED" not in line]
    assert leftover == [], leftover
