"""UI test helpers: a wizard app on a chosen step, with a fixed spec, folder and (optional) discovery
results, so what the screens show is deterministic (no temp paths, clocks or ports on screen)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from rdeploy_tui.connection_options import ConnectionOptions
from rdeploy_tui.spec.deploy_spec import DeploySpec, default_spec
from rdeploy_tui.ui.app import RdeployApp
from rdeploy_tui.ui.wizard_state import ChosenModel, WizardState

FIXTURES = Path(__file__).parent / "fixtures"
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
NOT_LISTED = object()  # make_app(endpoints=NOT_LISTED): the steps list the endpoints themselves (in a worker)


class NoAzure:
    """The Azure session of a test that is not to reach Azure (nor a developer's own `az login`): any use fails
    as being signed out does, so a step that asks Azure shows it."""

    def __getattr__(self, name: str) -> Any:
        from rdeploy_tui.errors import RdeployError

        raise RdeployError("This test has no Azure (NoAzure).", "Give make_app an Azure session (azure=...).")


def make_app(
    step: str,
    *,
    spec: DeploySpec | None = None,
    screens: dict[str, Any] | None = None,
    sandbox: bool = False,
    azure: Any = None,
    endpoints: Any = None,
    registry: str | None = None,
    model_versions: dict[str, list[str]] | None = None,
    chosen_model: ChosenModel | None = None,
    workspace: Any = None,
    base_dir: Path = FIXTURES,
) -> RdeployApp:
    """The app opened on the step named `step` (ui/flow.py). `screens` pre-installs step screens by name (e.g. a
    DeployScreen given a recorded run). `azure`: an Azure session to use (the shared test sandbox).

    What the earlier steps would have found is given as such: `endpoints` (default: listed, none exist, so the forms
    open without Azure; NOT_LISTED: not known yet), `registry`, `model_versions`, `chosen_model`, and the opened
    `workspace` (an azure.Workspace: its region prices the sizes). Without `azure`, nothing reaches Azure (NoAzure).
    `base_dir`: the folder the wizard runs in (relative paths are read from there).
    """
    state = WizardState(
        connection=ConnectionOptions(sandbox=sandbox),
        spec=spec or default_spec(),
        base_dir=base_dir,
        azure=NoAzure() if azure is None else azure,
    )
    state.endpoints = None if endpoints is NOT_LISTED else ({} if endpoints is None else endpoints)
    state.registry = registry
    state.model_versions = dict(model_versions or {})
    state.chosen_model = chosen_model
    if workspace is not None:
        state.use_workspace(workspace)
    app = RdeployApp(state, start_step=step)
    for name, screen in (screens or {}).items():
        app.install_screen(screen, f"step-{name}")
    return app


class RecordedRun:
    """A deploy or rollout run that replays recorded events to the screen's sink, from the worker thread the screen
    runs it in (so the events travel as the runner's do), then returns `outcome`. Without an outcome it stays
    running until cancelled (then returns `cancelled`, when given)."""

    def __init__(self, events: Iterable[Any], outcome: Any = None, *, cancelled: Any = None) -> None:
        self.events = list(events)
        self.outcome, self.cancelled = outcome, cancelled
        self.started = threading.Event()
        self.specs: list[DeploySpec] = []

    def __call__(self, spec: DeploySpec, *, sink: Any, cancel: threading.Event, **_: Any) -> Any:
        self.specs.append(spec)
        self.started.set()
        for event in self.events:
            sink(event)
        if self.outcome is not None:
            return self.outcome
        cancel.wait(RUNNING_AT_MOST_S)
        return self.cancelled


def deploy_outcome(
    status: str = "succeeded", spec: DeploySpec | None = None, summary: str | None = None, **kw: Any
) -> Any:
    """A deploy's outcome as the runner returns it, for the spec (default: the default spec)."""
    from rdeploy_tui.pipeline.engine import Outcome

    spec = spec or default_spec()
    if summary is None:
        summary = f"Endpoint {spec.endpoint.name} is live." if status == "succeeded" else f"Deploy {status}."
    return Outcome(status, summary, spec.endpoint.name, spec.deployment.name, **kw)


RUNNING_AT_MOST_S = 120  # a recorded run left running ends by itself after the test (its thread is a daemon)


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


def toasts(app) -> str:
    """The text of the notifications on screen now, one per line."""
    from textual.widgets._toast import Toast  # the notifications' own widget: what the user sees

    return "\n".join(str(toast.render()) for toast in app.screen.query(Toast))


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
            if isinstance(editor, (Input, TextArea)) and editor.cursor_blink:
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


def visible_lines(app) -> list[str]:
    """The terminal's rows as the user sees them now (the screen and the dialogs under it), as plain text: what the
    snapshot tests' SVG shows, read as text."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False, safe_box=False)
    # the compositor's full frame is what the terminal is sent (App.export_screenshot renders the same)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False).splitlines()[:height]


def visible_text(app) -> str:
    return "\n".join(visible_lines(app))
