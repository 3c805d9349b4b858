"""UI tests run with their own state folder: no test reads or writes the real last-run spec.

Snapshots wait for the state they show (issue 14 part 4): `snap_compare` here wraps the plugin's so that
every picture is taken only once the screen has settled (see ui_helpers.settle), whatever the load.
"""

from __future__ import annotations

import inspect

import pytest
from ui_helpers import settle


@pytest.fixture(autouse=True)
def _own_state_folder(rdeploy_home):
    """No test reads or writes the real last-run spec or deploy state."""
    return rdeploy_home


@pytest.fixture(autouse=True)
def _steady_cursors(monkeypatch):
    """A focused editor's cursor blinks every 0.5 s, so whether a picture shows it would depend on how long the
    picture took on a busy machine (test_model_error_424 failed 1 run in 4 beside a CPU hog): no blinking in tests,
    the cursor stays drawn while the widget has focus."""
    from textual.widgets import Input, TextArea

    monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None)
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture
def snap_compare(snap_compare):
    """The plugin's snap_compare, taking its picture only once the screen has settled."""

    def compare(app, press=(), terminal_size=(80, 24), run_before=None):
        # No animations: what a snapshot shows must not depend on how far an animation got.
        app.animation_level = "none"

        async def before(pilot):
            await settle(pilot, first=True)
            if run_before is not None:
                result = run_before(pilot)
                if inspect.isawaitable(result):
                    await result
            await settle(pilot)

        return snap_compare(app, press=press, terminal_size=terminal_size, run_before=before)

    return compare
