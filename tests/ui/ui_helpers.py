"""UI test helpers: a wizard app on a chosen step, with a fixed spec, folder and (optional) discovery
results, so what the screens show is deterministic (no temp paths, clocks or ports on screen)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from rdeploy_tui.connection_options import ConnectionOptions
from rdeploy_tui.spec.deploy_spec import DeploySpec, default_spec
from rdeploy_tui.ui.app import RdeployApp
from rdeploy_tui.ui.session import Session

FIXTURES = Path(__file__).parent / "fixtures"
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def make_app(
    step: int,
    *,
    spec: DeploySpec | None = None,
    found: dict | None = None,
    screens: dict | None = None,
    sandbox: bool = False,
) -> RdeployApp:
    """The app opened on `step`. `screens` pre-installs step screens (e.g. a DeployScreen fed by hand).

    Without `found`, discovery is taken as done with nothing existing (no endpoints), so the forms
    open without Azure.
    """
    session = Session(connection=ConnectionOptions(sandbox=sandbox), spec=spec or default_spec(), base_dir=FIXTURES)
    session.found.update({"endpoints": {}} if found is None else found)
    app = RdeployApp(session, start_step=step)
    for index, screen in (screens or {}).items():
        app.install_screen(screen, f"step-{index}")
    return app


@contextmanager
def deployed_on_sandbox(sandbox_server, home: Path, endpoint_name: str):
    """Deploy a default spec to the shared sandbox with the real pipeline; yields (spec, azure session).
    State and logs go to `home`; the CA bundle variable is restored afterwards."""
    from sandbox_specs import connection_on, spec_on_sandbox

    from rdeploy_tui.pipeline.runner import run_deploy

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RDEPLOY_HOME", str(home))
        with connection_on(sandbox_server) as session:
            spec = spec_on_sandbox(sandbox_server, endpoint_name)
            outcome = run_deploy(spec, session=session, sink=lambda event: None)
            assert outcome.status == "succeeded", outcome.summary
            yield spec, session


async def wait_for(pilot, condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the UI"
        await pilot.pause(0.05)


async def settle(pilot, *, first: bool = False, timeout: float = 30.0) -> None:
    """Wait until the screen shows a state that no longer changes by itself: the first screen complete
    (`first`), no button still lit from a press (Button's 0.2 s "-active" effect, which decided the
    Delete button's colour in a loaded run), no log lines waiting for the next flush, no animation
    scheduled, and text cursors that do not blink (a blink phase is a matter of time).
    Conditions, not time: a busy machine only makes it take longer."""
    from textual.widgets import Button, Input, TextArea

    from rdeploy_tui.ui.widgets.log_panel import LogPanel

    app = pilot.app

    def quiet() -> bool:
        if first and not app.settled:
            return False
        screen = app.screen
        if any(b.has_class("-active") for b in screen.query(Button)):
            return False
        return not any(p.pending for p in screen.query(LogPanel))

    await wait_for(pilot, quiet, timeout)
    for screen in app.screen_stack:
        for editor in screen.query("Input, TextArea"):
            if isinstance(editor, (Input, TextArea)):
                if editor.cursor_blink:
                    editor.cursor_blink = False  # no blink phase in the picture (TextArea then draws none)
                    editor.refresh()  # the watcher does not repaint by itself
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def started(pilot, timeout: float = 10.0) -> None:
    """Wait for the first screen to be complete: its nav bar and footer follow its first frame."""
    await wait_for(pilot, lambda: pilot.app.settled, timeout)


SCRIPT = Path(sys.executable).parent / "rdeploy-tui"


def run_in_terminal(env: dict[str, str], timeout: float = 30, args: tuple[str, ...] = ()) -> tuple[int, str]:
    """The real console script in a pseudo-terminal until it exits: (exit code, everything it wrote)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(SCRIPT), *args], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=10), out.decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
