"""The scoring screen's keys in a real terminal at 80x24, with the bytes tmux sends: the request editor has the focus
when the screen opens and the hint beside Send says "^s/F9 sends, alt+j formats"; from there alt+j (ESC j) lays the
request out without typing a j into it, and ctrl+s (0x13) sends it to the deployment, which answers."""

from __future__ import annotations

import os

import pytest
from test_tmux_compute_instance import card_terminal, compute_instance_shell  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.tmux, pytest.mark.sandbox, pytest.mark.r, pytest.mark.slow]

ENDPOINT = "r-endpoint-keys"


def _deployed(sandbox, home) -> None:
    """ENDPOINT deployed with the real pipeline, and the last run's spec naming the workspace: the wizard opens on the
    endpoints."""
    from sandbox_specs import connection_on, spec_on_sandbox

    from rdeploy_tui.pipeline.runner import run_deploy
    from rdeploy_tui.spec.deploy_spec import save_spec

    bundle = os.environ.get("REQUESTS_CA_BUNDLE")
    try:
        spec = spec_on_sandbox(sandbox, ENDPOINT)
        with connection_on(sandbox) as session:
            assert run_deploy(spec, session=session, sink=lambda e: None).status == "succeeded"
    finally:
        if bundle is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = bundle
    home.mkdir(parents=True, exist_ok=True)
    save_spec(spec, home / "last-run.yaml")


def test_alt_j_formats_and_ctrl_s_sends_from_the_request_editor(compute_instance_shell, tmp_path, monkeypatch):  # noqa: F811
    sandbox, open_terminal = compute_instance_shell
    monkeypatch.setenv("RDEPLOY_HOME", str(tmp_path / "home"))
    _deployed(sandbox, tmp_path / "home")
    pane = open_terminal()
    pane.wait_for("Online endpoints in workspace", ENDPOINT, "s Score", timeout=120)
    pane.keys("s")
    # The sample request is in the editor (from the endpoint, laid out): typing starts once it is there.
    pane.wait_for(f"Score {ENDPOINT}", "alt+j formats", "No request sent yet.", '"forecast_horizon": [', timeout=60)

    # The editor has the focus, its cursor at the start: a space typed there pushes the request's first line right
    # (" 1  {" is line 1 of the laid-out sample beside its line number), and alt+j lays it out again.
    pane.keys("Space")
    pane.wait_for(" 1   {", timeout=30)
    pane.keys("M-j")  # tmux sends ESC j, as xterm.js does
    screen = pane.wait_for(" 1  {", timeout=30)
    assert " 1   {" not in screen and "j{" not in screen and " 1  j" not in screen, screen

    pane.keys("C-s")
    pane.wait_for("HTTP 200", timeout=120)
    pane.press_until("Escape", "s Score", still="esc Endpoints")
    pane.keys("F10")
    screen = pane.wait_for("APP-EXITED", timeout=60)
    assert pane.exit_file.read_text().strip() == "0" and "Traceback" not in screen
