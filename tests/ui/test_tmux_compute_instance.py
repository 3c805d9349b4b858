"""The card's own path in a real terminal (issue 18): plain `rdeploy-tui` (no --sandbox, no --arm-endpoint) launched in
a shell that looks like a compute instance terminal, at 80x24, signed in the two ways the how-to signs in there: the
compute instance's managed identity (the variables `rdeploy-tui sandbox --compute-instance` prints), and an `az login`
session of the real az CLI.

Each preselects the compute instance's workspace, walks the wizard to a scored request and quits; reopened, it lands on
the endpoints, scores, and deletes the endpoint once its name is typed back.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest
from tmux_terminal import Pane, require_tmux, terminals

pytestmark = [pytest.mark.tmux, pytest.mark.sandbox, pytest.mark.r, pytest.mark.slow]


@pytest.fixture
def card_terminal(tmp_path):
    """A dedicated sandbox (fresh names), and `terminal(exports, path)`: a factory of 80x24 terminals whose shell has
    only those exports (every Azure-related variable of the tmux server's environment unset first) and PATH, then
    starts plain rdeploy-tui."""
    require_tmux()
    from rdeploy_tui.sandbox import Sandbox

    sandbox = Sandbox(tmp_path / "sandbox-state", time_scale=0.003).start()
    with ExitStack() as opened:

        def terminal(exports: list[str], path: list[Path]) -> Callable[[], Pane]:
            return opened.enter_context(terminals(tmp_path, exports, path))

        try:
            yield sandbox, terminal
        finally:
            opened.close()  # the terminals first, then the sandbox they use
            sandbox.stop()


@pytest.fixture
def compute_instance_shell(card_terminal):
    """A shell as a compute instance terminal has it (the variables `rdeploy-tui sandbox --compute-instance` prints);
    no az on PATH: only the managed identity can sign in."""
    from rdeploy_tui.commands.sandbox_cmd import compute_instance_exports

    sandbox, terminal = card_terminal
    return sandbox, terminal(compute_instance_exports(sandbox), [])


@pytest.fixture
def az_login_shell(card_terminal, tmp_path):
    """A compute instance terminal where the user ran `az login` (the real az CLI, signed in to the sandbox by the
    recipe `rdeploy-tui sandbox` prints): its az config folder, the cloud metadata variable and CA the sandbox needs,
    the compute instance's own CI_* variables; no MSI_* (the managed identity is not offered) and no service principal
    variables. Only the az session can sign in."""
    import shlex

    from az_cli_helpers import require_az, signed_in

    from rdeploy_tui.sandbox.compute_instance import compute_instance

    az = require_az()
    sandbox, terminal = card_terminal
    az_env, _login = signed_in(sandbox, az, tmp_path / "azure-config")
    kept = {
        key: value
        for key, value in az_env.items()
        if key in ("AZURE_CONFIG_DIR", "ARM_CLOUD_METADATA_URL", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
        or key.startswith("AZURE_CORE_")
    }
    kept.update((key, value) for key, value in compute_instance(sandbox).environment().items() if key.startswith("CI_"))
    return sandbox, terminal([f"export {key}={shlex.quote(value)}" for key, value in kept.items()], [az.parent])


def _quit(pane: Pane) -> None:
    pane.keys("F10")
    screen = pane.wait_for("APP-EXITED", timeout=60)
    assert pane.exit_file.read_text().strip() == "0"
    leftover = [line for line in screen.splitlines() if line.strip() and "APP-EXITED" not in line]
    # Only the closing summary (ui/exit_summary.py: what is live and what still bills, how to score or delete it) may
    # follow the app: no SDK log lines, poll dots or tracebacks reached the terminal.
    assert leftover == [] or leftover[0].startswith("rdeploy-tui: "), leftover
    assert not [
        line for line in leftover if "Traceback" in line or line.startswith(("INFO", "WARNING", "DEBUG", "ERROR", "."))
    ], leftover


def _walk_the_card(sandbox, open_terminal, *signed_in: str) -> None:
    """The card's path: the sign-in screen shows `signed_in`; on through the wizard to a scored request, quit; reopened,
    it lands on the workspace's endpoints, scores, and deletes the endpoint once its name is typed back."""
    pane = open_terminal()
    pane.wait_for("Signed in as", *signed_in, timeout=90)
    pane.keys("F2")
    pane.wait_for("Preselected: found from compute instance", "rdeploy-sandbox-ws", "azurecr.io", timeout=120)
    pane.keys("F2")
    pane.wait_for("latest (now version 1)")
    pane.keys("F2")
    pane.wait_for("always included")
    pane.keys("F2")
    pane.wait_for("Preview of src/plumber.R")
    pane.keys("F2")
    pane.wait_for("Endpoint name", "r-endpoint-forecast")
    pane.keys("F2")
    pane.wait_for("what will be created")
    pane.keys("F2")  # Deploy
    pane.wait_for("Deployed. F2 scores the sample request.", "✓ Score the sample request", timeout=300)
    pane.keys("F2")
    pane.wait_for("HTTP 200 from blue")
    _quit(pane)

    again = open_terminal()  # reopened: it lands on the workspace's endpoints
    again.wait_for("Online endpoints in workspace rdeploy-sandbox-ws", "r-endpoint-forecast", "s Score", timeout=120)
    again.keys("s")
    again.wait_for("Score r-endpoint-forecast")
    again.keys("C-s")
    again.wait_for("HTTP 200 from blue")
    again.press_until("Escape", "s Score", still="esc Endpoints")
    again.keys("x")
    again.wait_for("Type the endpoint's name to confirm")
    again.type("r-endpoint-forecast")
    again.keys("Enter")
    again.wait_for("deleted: it no longer bills", timeout=120)
    with sandbox.state.view() as data:
        assert not [e for e in data.get("endpoints", {}).values() if e["name"] == "r-endpoint-forecast"]
    _quit(again)


def test_plain_rdeploy_tui_on_a_compute_instance_deploys_scores_and_deletes(compute_instance_shell):
    sandbox, open_terminal = compute_instance_shell
    _walk_the_card(sandbox, open_terminal, "managed identity")
    assert [e["status"] for e in sandbox.request_log if e["path"] == "/MSI/auth"][-1] == 200


def test_plain_rdeploy_tui_signed_in_by_az_login_deploys_scores_and_deletes(az_login_shell):
    sandbox, open_terminal = az_login_shell
    _walk_the_card(sandbox, open_terminal, "service principal, via Azure CLI")
    assert not [e for e in sandbox.request_log if e["path"] == "/MSI/auth"]  # the az session signed in, nothing else


def test_a_slow_token_endpoint_neither_hangs_the_first_screen_nor_the_quit(compute_instance_shell):
    sandbox, open_terminal = compute_instance_shell
    sandbox.faults.arm("slow-identity", seconds=300)  # the token answer is held back far longer than the test runs
    pane = open_terminal()
    pane.wait_for(
        "Sign-in and subscription", "Still signing in", "managed identity", timeout=90
    )  # says what it waits for
    assert not [e for e in sandbox.request_log if e["path"] == "/MSI/auth"]  # still waiting for the token
    pane.keys("F10")
    screen = pane.wait_for("APP-EXITED", timeout=30)  # quitting does not wait for the pending sign-in
    assert pane.exit_file.read_text().strip() == "0"
    assert [line for line in screen.splitlines() if line.strip() and "APP-EXITED" not in line] == []
    sandbox.faults.clear()
