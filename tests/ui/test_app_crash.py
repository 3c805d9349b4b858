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


async def test_an_answer_that_finds_its_widgets_gone_as_the_app_quits_is_not_a_crash(rdeploy_home):
    """A worker's answer handled just as the user quits queries a widget that is already gone (NoMatches)."""
    from ui_helpers import make_app

    app = make_app("packages")
    async with app.run_test() as pilot:
        await pilot.pause()
        app.call_later(lambda: app.query_one("#a-widget-already-gone"))  # handled after the quit below
        app.exit()
    assert app.return_code == 0
