"""Workers talk to screens by Textual messages: no code of the wizard hops into the UI thread from a worker
(`call_from_thread` blocks the worker until the UI has run its callback, and invites touching widgets there)."""

from __future__ import annotations

from pathlib import Path

import rdeploy_tui.ui as ui


def test_no_worker_calls_into_the_ui_thread():
    root = Path(ui.__file__).parent
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "call_from_thread(" in line and not line.lstrip().startswith("#")
    ]
    assert offenders == [], offenders
