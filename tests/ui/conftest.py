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
