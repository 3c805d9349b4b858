"""Launch in two frames (issue 6): the first frame is the step bar and the sign-in status, painted
before azure.ai.ml is imported; the nav bar and footer follow; sign-in (which imports the Azure SDK
in a worker) starts only once the first screen is complete."""

from __future__ import annotations

import gc
import os

from textual.widgets import Footer
from ui_helpers import make_app, run_in_terminal, started

from rdeploy_tui.ui.screens.signin import SignInScreen


async def test_first_frame_is_light_and_sign_in_waits_for_the_complete_screen(monkeypatch):
    seen: dict[str, object] = {}
    monkeypatch.setattr(
        SignInScreen, "sign_in", lambda self: seen.setdefault("sign-in", (self.app.painted, self.app.settled))
    )
    app = make_app("signin")

    def mark(what: str) -> bool:
        screen = app.get_screen("step-signin")
        seen[what] = (bool(screen.query("#who")), bool(screen.query("#nav")), bool(screen.query(Footer)))
        return False

    monkeypatch.setattr("rdeploy_tui.ui.app._benchmark_mark", mark)
    gc.disable()  # as the console script launches the app
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await started(pilot)
            await pilot.pause()
            assert gc.isenabled()  # collection is back on once the first screen is complete
            assert seen["first"] == (True, False, False)  # status line, no nav bar, no footer
            assert seen["complete"] == (True, True, True)
            assert seen["sign-in"] == (True, True)
            assert app.screen.query_one("#back").disabled  # the first step has no Back
            assert app.screen.query_one("#next").disabled  # signing in: nothing to go on with yet
    finally:
        gc.enable()


def test_real_console_script_paints_before_importing_azure_ml(tmp_path):
    marks = tmp_path / "marks"
    env = dict(
        os.environ, RDEPLOY_HOME=str(tmp_path / "home"), TERM="xterm-256color", RDEPLOY_TUI_PAINTED_FILE=str(marks)
    )
    code, output = run_in_terminal(env)
    assert code == 0, output
    lines = [line.split() for line in marks.read_text().splitlines()]
    assert [line[0] for line in lines] == ["first", "complete"]
    first, complete = lines
    assert first[2] == "False"  # azure.ai.ml not imported when the first frame was written
    assert float(first[1]) <= float(complete[1])
    assert "Signing in to Azure" in output and "Quit" in output
