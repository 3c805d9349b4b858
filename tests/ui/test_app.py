"""App behaviour around the steps: resume after a crash, worker errors as dialogs, no-command CLI."""

from __future__ import annotations

import sys

import pytest
from ui_helpers import FIXTURES, NOT_LISTED, RecordedRun, make_app, wait_for

from rdeploy_tui.connection_options import ConnectionOptions
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.pipeline.events import PlanFinished, RunStarted, StepFailed, StepStarted
from rdeploy_tui.pipeline.state import ResumeStore, fold, initial, target_key
from rdeploy_tui.spec.deploy_spec import default_spec
from rdeploy_tui.ui.app import RdeployApp
from rdeploy_tui.ui.screens.deploy import DeployScreen
from rdeploy_tui.ui.widgets.dialogs import ConfirmDialog, ErrorDialog
from rdeploy_tui.ui.wizard_state import WizardState


async def wait_for_dialog(pilot, seconds: float = 60.0) -> None:
    """Until the error dialog is up (a deadline, not a fixed time: the machine may be busy)."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ErrorDialog), seconds)


@pytest.mark.parametrize("status", ["running", "cancelled"], ids=["crashed", "quit-during-deploy"])
async def test_reopening_after_an_interrupted_deploy_offers_to_resume(monkeypatch, status):
    """A crash leaves the state "running"; quitting during a deploy cancels it, which the runner records
    as "cancelled" (issue 14: no offer was made then)."""
    spec = default_spec()
    session = WizardState(connection=ConnectionOptions(), spec=spec, base_dir=FIXTURES, from_last_run=True)
    session.save_last_run()
    w = spec.workspace
    target = target_key(w.subscription_id, w.resource_group, w.name, spec.endpoint.name, spec.deployment.name)
    events = [RunStarted("deploy", target), StepStarted("build-image", "Build image")]  # a crash leaves it so
    if status == "cancelled":
        events += [StepFailed("build-image", "Stopped.", code="Cancelled"), PlanFinished("cancelled", "Cancelled.")]
    ResumeStore().save(fold(events, initial("deploy", target)))
    # The sign-in and deploy workers would ask Azure; this test is about the offer only.
    monkeypatch.setattr("rdeploy_tui.ui.screens.signin.SignInScreen.sign_in", lambda self: None)
    resumed = RecordedRun([])  # the deploy step's run: it would ask Azure
    app = RdeployApp(WizardState.start(ConnectionOptions(), base_dir=FIXTURES))
    app.install_screen(DeployScreen(run=resumed), "step-deploy")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen.query("#yes"))
        dialog = app.screen
        assert "build-image" in dialog.question and "Resume it now?" in dialog.question
        await wait_for(pilot, lambda: app.focused is dialog.query_one("#yes"))  # the likely answer has the focus
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.step == "deploy")  # Resume opens the deploy step, which resumes
        await wait_for(pilot, resumed.started.is_set)
        assert resumed.specs[0].endpoint.name == spec.endpoint.name


async def test_reopening_after_an_interrupted_rollout_offers_to_resume_it(monkeypatch):
    """Quitting during a rollout stops it (the runner records it cancelled); reopened, the wizard offers it as it
    offers a deploy, and Enter goes straight to the live rollout with the spec the rollout ran with."""
    from rdeploy_tui.pipeline.engine import PREPARE
    from rdeploy_tui.pipeline.events import RolloutPlanned
    from rdeploy_tui.pipeline.rollout import rollout_store, rollout_target

    update = default_spec()
    update.deployment.name, update.image.r_packages = "green", ["zoo"]
    state = WizardState(connection=ConnectionOptions(), spec=default_spec(), base_dir=FIXTURES, from_last_run=True)
    state.save_last_run()
    state.save_last_update(update)
    target = rollout_target(update)
    events = [
        RunStarted("rollout", target),
        RolloutPlanned(PREPARE, "blue", "green"),
        StepStarted("stage-10", "Shift 10 %"),
        StepFailed("stage-10", "Stopped.", code="Cancelled"),
        PlanFinished("cancelled", "Rollout stopped."),
    ]
    rollout_store().save(fold(events, initial("rollout", target)))
    monkeypatch.setattr("rdeploy_tui.ui.screens.signin.SignInScreen.sign_in", lambda self: None)
    monkeypatch.setattr("rdeploy_tui.ui.screens.manage.open_if_endpoints", lambda app: None)
    resumed = RecordedRun([])
    monkeypatch.setattr("rdeploy_tui.ui.screens.rollout.run_rollout", resumed)
    app = RdeployApp(WizardState.start(ConnectionOptions(), base_dir=FIXTURES))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen.query("#yes"))
        question = app.screen.question
        assert "The rollout of green beside blue on endpoint r-endpoint-forecast" in question
        assert "Resume it now?" in question
        await wait_for(pilot, lambda: app.focused is app.screen.query_one("#yes"))
        await pilot.press("enter")
        await wait_for(pilot, resumed.started.is_set)
        assert app.step == "rollout" and app.state.update is not None
        assert resumed.specs[0].deployment.name == "green" and resumed.specs[0].image.r_packages == ["zoo"]


async def test_a_failed_deploy_is_not_offered_for_resume(monkeypatch):
    spec = default_spec()
    session = WizardState(connection=ConnectionOptions(), spec=spec, base_dir=FIXTURES, from_last_run=True)
    session.save_last_run()
    w = spec.workspace
    target = target_key(w.subscription_id, w.resource_group, w.name, spec.endpoint.name, spec.deployment.name)
    events = [RunStarted("deploy", target), PlanFinished("failed", "Deploy failed: a cause.")]
    ResumeStore().save(fold(events, initial("deploy", target)))
    monkeypatch.setattr("rdeploy_tui.ui.screens.signin.SignInScreen.sign_in", lambda self: None)
    monkeypatch.setattr("rdeploy_tui.ui.screens.manage.open_if_endpoints", lambda app: None)
    app = RdeployApp(WizardState.start(ConnectionOptions(), base_dir=FIXTURES))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.settled)
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)


async def test_no_offer_without_an_unfinished_deploy(monkeypatch):
    monkeypatch.setattr("rdeploy_tui.ui.screens.signin.SignInScreen.sign_in", lambda self: None)
    app = make_app("signin")
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(200):  # the offer would come with the complete first screen
            if app.settled:
                break
            await pilot.pause(0.05)
        await pilot.pause()
        assert app.settled and not isinstance(app.screen, ConfirmDialog)


async def test_a_failing_worker_becomes_an_error_dialog_with_the_next_action(monkeypatch):
    def fail(self):
        raise RdeployError(
            "Azure refused: no permission on workspace ws-ml.", "Ask for the AzureML Data Scientist role."
        )

    monkeypatch.setattr("rdeploy_tui.ui.wizard_state.WizardState.workspace", fail)
    app = make_app("endpoint", endpoints=NOT_LISTED)  # no endpoints known: the endpoint screen lists them in a worker
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_dialog(pilot)
        dialog = app.screen
        assert isinstance(dialog, ErrorDialog)
        assert dialog.what.startswith("Azure refused") and dialog.next_step.startswith("Ask for")
        await pilot.press("escape")
        assert not isinstance(app.screen, ErrorDialog)


async def test_an_unexpected_worker_error_is_explained_and_logged(monkeypatch, rdeploy_home):
    def boom(self):
        raise KeyError("surprise")

    monkeypatch.setattr("rdeploy_tui.ui.wizard_state.WizardState.workspace", boom)
    app = make_app("endpoint", endpoints=NOT_LISTED)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_dialog(pilot)
        assert isinstance(app.screen, ErrorDialog)
        assert "Unexpected error: KeyError" in app.screen.what
    assert "KeyError" in (rdeploy_home / "logs" / "crash.log").read_text()


def test_no_command_does_not_import_every_command_module():
    """The wizard path parses its options without importing the command modules (first-paint budget)."""
    import subprocess

    code = (
        "import sys, rdeploy_tui.cli as c; a = c._wizard_args(['--sandbox']); "
        "print(a.sandbox, sorted(m for m in sys.modules if m.startswith('rdeploy_tui.commands.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True []"
