"""What goes wrong on a compute instance, on the wizard's own screens (issue 18 point 3): the real app, driven by Pilot,
signs in the way plain `rdeploy-tui` does in a compute instance terminal (the variables `rdeploy-tui sandbox
--compute-instance` prints) against the real sandbox with a fault set. Each case must say what happened and what to do.

Update the pictures after an intended change:
    .venv/bin/python -m pytest tests/ui/test_signin_compute_instance.py --snapshot-update
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from textual.widgets import Select, Static
from ui_helpers import wait_for

from rdeploy_tui.connection_options import ConnectionOptions
from rdeploy_tui.ui.app import RdeployApp
from rdeploy_tui.ui.widgets.dialogs import ErrorDialog
from rdeploy_tui.ui.wizard_state import WizardState

pytestmark = pytest.mark.sandbox

_FOREIGN = ("AZURE_", "ARM_", "MSI_", "IDENTITY_", "CI_", "AZUREML_", "DEFAULT_IDENTITY_CLIENT_ID")


def _clean(monkeypatch) -> None:
    for key in list(os.environ):
        if key.startswith(_FOREIGN):
            monkeypatch.delenv(key)


@pytest.fixture
def compute_instance_terminal(sandbox, monkeypatch):
    """This process's environment as a compute instance terminal on the sandbox has it (no az on PATH: only the
    managed identity can sign in). Yields a factory of wizard apps started as plain `rdeploy-tui` starts them."""
    from rdeploy_tui.sandbox.compute_instance import compute_instance

    _clean(monkeypatch)
    settings = sandbox.client_settings()
    for key, value in compute_instance(sandbox).environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ARM_CLOUD_METADATA_URL", f"{settings.base_url}/metadata/endpoints?api-version=2019-05-01")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", settings.ca_bundle)
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]))
    apps: list[RdeployApp] = []

    def wizard() -> RdeployApp:
        apps.append(RdeployApp(WizardState.start(ConnectionOptions())))  # no --sandbox, no --arm-endpoint
        return apps[-1]

    yield wizard
    for app in apps:
        app.state.close()


def _text(app, selector: str) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query(selector).results(Static))


async def _answered(pilot) -> None:
    """Wait until the sign-in screen has an answer (signed in, or what went wrong)."""
    await wait_for(pilot, lambda: not getattr(pilot.app.screen, "busy", True), timeout=90)
    await pilot.pause()


async def _retry_signs_in(pilot, sandbox) -> None:
    """The screen's next step is real: with the cause gone, F2 (Retry) signs in and offers the subscription."""
    sandbox.faults.clear()
    await pilot.press("f2")
    await wait_for(
        pilot, lambda: "Signed in as" in _text(pilot.app, "#who") and bool(pilot.app.screen.query(Select)), timeout=90
    )
    assert pilot.app.screen.query_one("#subscription", Select).value == sandbox.subscription_id


async def test_no_managed_identity_says_so_and_retry_signs_in_once_it_has_one(compute_instance_terminal, sandbox):
    sandbox.faults.arm("no-identity")
    app = compute_instance_terminal()
    async with app.run_test(size=(80, 24)) as pilot:
        await _answered(pilot)
        assert _text(app, "#who") == "Not signed in."
        assert (
            _text(app, "#sign-in-error")
            == "This compute instance has no managed identity, so it cannot sign in to Azure."
        )
        advice = _text(app, "#sign-in-next")
        assert (
            "`az login`" in advice and "AzureML Data Scientist" in advice and advice.endswith("Then press F2 to retry.")
        )
        assert [e["status"] for e in sandbox.request_log if e["path"] == "/MSI/auth"][-1] == 400
        await _retry_signs_in(pilot, sandbox)


async def test_an_identity_with_no_role_is_given_the_role_and_the_command(compute_instance_terminal, sandbox):
    """A managed identity with no role assignment sees no subscription (ARM lists those it holds a role in)."""
    sandbox.faults.arm("no-subscriptions")
    app = compute_instance_terminal()
    async with app.run_test(size=(80, 24)) as pilot:
        await _answered(pilot)
        assert _text(app, "#who").startswith("Signed in as 3f1c9a2e-6b7d-4c8e-9f10-00000000c1c1 (managed identity")
        assert "has no role in any subscription" in _text(app, "#sign-in-error")
        workspace = (
            f"/subscriptions/{sandbox.subscription_id}/resourceGroups/{sandbox.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{sandbox.workspace_name}"
        )
        assert (
            'az role assignment create --assignee 3f1c9a2e-6b7d-4c8e-9f10-00000000c10b --role "AzureML Data Scientist" '
            f"--scope {workspace}"
        ) in _text(app, "#sign-in-next")
        await _retry_signs_in(pilot, sandbox)


async def test_a_403_listing_subscriptions_names_the_role_and_the_command(compute_instance_terminal, sandbox):
    scope = f"/subscriptions/{sandbox.subscription_id}"
    sandbox.faults.arm(
        "authorization-failed",
        match="GET /subscriptions$",
        action="Microsoft.Resources/subscriptions/read",
        scope=scope,
    )
    app = compute_instance_terminal()
    async with app.run_test(size=(80, 24)) as pilot:
        await _answered(pilot)
        assert "Signed in as" in _text(app, "#who") and "managed identity" in _text(app, "#who")
        assert "You do not have permission to perform Microsoft.Resources/subscriptions/read" in _text(
            app, "#sign-in-error"
        )
        assert (
            f'az role assignment create --assignee 00000000-0000-0000-0000-00000000a11e --role "Reader" --scope {scope}'
            in _text(app, "#sign-in-next")
        )
        await _retry_signs_in(pilot, sandbox)


async def test_a_slow_token_endpoint_says_what_it_waits_for_and_the_app_stays_responsive(
    compute_instance_terminal, sandbox, monkeypatch
):
    from rdeploy_tui.ui.screens.help import HelpScreen
    from rdeploy_tui.ui.screens.signin import SignInScreen

    monkeypatch.setattr(SignInScreen, "SLOW_AFTER_S", 0.5)
    sandbox.faults.arm("slow-identity", count=1, seconds=8)
    sandbox.request_log.clear()
    app = compute_instance_terminal()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "Still signing in" in _text(app, "#who"), timeout=30)
        assert "the compute instance's managed identity" in _text(app, "#who") and "F10 to quit" in _text(app, "#who")
        assert not [e for e in sandbox.request_log if e["path"] == "/MSI/auth" and e["status"] == 200]  # still waiting
        await pilot.press("f1")  # the UI answers keys meanwhile
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=30)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen), timeout=30)
        await wait_for(pilot, lambda: "Signed in as" in _text(app, "#who"), timeout=90)  # and the answer, once it comes


async def test_a_403_on_the_workspace_is_a_dialog_with_the_role_and_the_command(compute_instance_terminal, sandbox):
    scope = (
        f"/subscriptions/{sandbox.subscription_id}/resourceGroups/{sandbox.resource_group}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{sandbox.workspace_name}"
    )
    sandbox.faults.arm(
        "authorization-failed",
        match="Microsoft.MachineLearningServices/workspaces",
        action="Microsoft.MachineLearningServices/workspaces/read",
        scope=scope,
    )
    app = compute_instance_terminal()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "Signed in as" in _text(app, "#who"), timeout=90)
        await pilot.press("f2")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ErrorDialog) and bool(app.screen.query("#close")), timeout=90
        )
        dialog = app.screen
        assert dialog.what.startswith(
            "You do not have permission to perform Microsoft.MachineLearningServices/workspaces/read"
        )
        assert "AzureML Data Scientist" in dialog.next_step
        assert (
            "az role assignment create --assignee 00000000-0000-0000-0000-00000000a11e "
            f'--role "AzureML Data Scientist" --scope {scope}' in dialog.next_step
        )


def test_snapshot_no_managed_identity(compute_instance_terminal, sandbox, snap_compare):
    sandbox.faults.arm("no-identity")

    async def answered(pilot):
        await _answered(pilot)

    assert snap_compare(compute_instance_terminal(), terminal_size=(80, 24), run_before=answered)


def test_snapshot_403_on_the_workspace(compute_instance_terminal, sandbox, snap_compare):
    scope = (
        f"/subscriptions/{sandbox.subscription_id}/resourceGroups/{sandbox.resource_group}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{sandbox.workspace_name}"
    )
    sandbox.faults.arm(
        "authorization-failed",
        match="Microsoft.MachineLearningServices/workspaces",
        action="Microsoft.MachineLearningServices/workspaces/read",
        scope=scope,
    )

    async def refused(pilot):
        await wait_for(pilot, lambda: "Signed in as" in _text(pilot.app, "#who"), timeout=90)
        await pilot.press("f2")
        await wait_for(
            pilot,
            lambda: isinstance(pilot.app.screen, ErrorDialog) and bool(pilot.app.screen.query("#close")),
            timeout=90,
        )

    assert snap_compare(compute_instance_terminal(), terminal_size=(80, 24), run_before=refused)


def test_snapshot_no_role(compute_instance_terminal, sandbox, snap_compare):
    sandbox.faults.arm("no-subscriptions")

    async def answered(pilot):
        await _answered(pilot)

    assert snap_compare(compute_instance_terminal(), terminal_size=(80, 24), run_before=answered)


async def test_an_az_session_that_is_gone_says_run_az_login_and_retry_signs_in_after_it(sandbox, monkeypatch, tmp_path):
    """Signed in with the real az CLI (as the sandbox's recipe does), then its sign-in is gone (what `az logout` or an
    expired refresh token leaves): the screen says to run `az login`; once it has run, F2 signs in."""
    from az_cli_helpers import require_az, signed_in

    az = require_az()
    config = tmp_path / "azure-config"
    az_env, _login = signed_in(sandbox, az, config)
    for stored in ("service_principal_entries.json", "msal_token_cache.json"):  # what `az logout` removes
        (config / stored).unlink(missing_ok=True)
    _clean(monkeypatch)
    for key in (
        "PATH",
        "AZURE_CONFIG_DIR",
        "ARM_CLOUD_METADATA_URL",
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "AZURE_CORE_COLLECT_TELEMETRY",
        "AZURE_CORE_SURVEY_MESSAGE",
        "AZURE_CORE_NO_COLOR",
    ):
        if key in az_env:
            monkeypatch.setenv(key, az_env[key])
    app = RdeployApp(WizardState.start(ConnectionOptions()))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await _answered(pilot)
            assert _text(app, "#who") == "Not signed in."
            assert _text(app, "#sign-in-error").startswith("The Azure CLI is not signed in")
            assert "Run `az login` again" in _text(app, "#sign-in-next")
            signed_in(sandbox, az, config)  # the next step, done
            await pilot.press("f2")
            await wait_for(pilot, lambda: "Signed in as" in _text(app, "#who"), timeout=120)
            assert "via Azure CLI" in _text(app, "#who")
    finally:
        app.state.close()
