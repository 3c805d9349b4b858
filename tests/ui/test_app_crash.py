"""An exception nothing handles ends the app with one line, never Textual's traceback with locals."""

from __future__ import annotations

import os

from ui_helpers import run_in_terminal


def test_unhandled_exception_is_one_line_and_a_crash_log(tmp_path):
    # The first-paint hook writes to this file; a folder that does not exist makes it raise inside a handler.
    env = dict(
        os.environ,
        RDEPLOY_HOME=str(tmp_path / "home"),
        TERM="xterm-256color",
        RDEPLOY_TUI_PAINTED_FILE=str(tmp_path / "missing-folder" / "painted"),
    )
    code, output = run_in_terminal(env)
    assert code == 1
    assert "Traceback" not in output and "locals" not in output
    assert "rdeploy-tui: unexpected error: FileNotFoundError" in output
    crash = (tmp_path / "home" / "logs" / "crash.log").read_text()
    assert "Traceback" in crash and "FileNotFoundError" in crash
