"""UI test helpers: a wizard app on a chosen step, with a fixed spec, folder and (optional) discovery
results, so what the screens show is deterministic (no temp paths, clocks or ports on screen)."""
from __future__ import annotations

from pathlib import Path

import pytest

from rdeploy_tui.spec import DeploySpec, default_spec
from rdeploy_tui.ui.app import RdeployApp
from rdeploy_tui.connection_options import ConnectionOptions
from rdeploy_tui.ui.session import Session

FIXTURES = Path(__file__).parent / "fixtures"
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def make_app(step: int, *, spec: DeploySpec | None = None, found: dict | None = None,
             screens: dict | None = None, sandbox: bool = False) -> RdeployApp:
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

