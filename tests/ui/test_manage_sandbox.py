"""The management screens against the sandbox through the real Azure layer: the list with its billing
mark, traffic editing, deleting a deployment (refused while it takes traffic), deleting an endpoint
only after its name is typed back, container logs, and opening on the endpoints when reopened."""

from __future__ import annotations

import os

import pytest
from textual.widgets import Button, DataTable, Input, Static
from ui_helpers import deployed_on_sandbox, make_app, toasts, wait_for

from rdeploy_tui.ui.screens.manage import BILL_MARK, ManageScreen
from rdeploy_tui.ui.screens.manage_dialogs import TrafficDialog, TypeNameDialog
from rdeploy_tui.ui.screens.manage_logs import ManageLogsScreen
from rdeploy_tui.ui.screens.scoring import ScoringScreen
from rdeploy_tui.ui.widgets.field import Field
from rdeploy_tui.ui.widgets.log_panel import LogPanel

pytestmark = [pytest.mark.sandbox, pytest.mark.r]


@pytest.fixture(scope="module")
def two_deployments(sandbox_server, tmp_path_factory):
    """An endpoint with blue (100 %) and green (0 %), deployed by the real pipeline."""
    from rdeploy_tui.azure import Endpoints, Workspace
    from rdeploy_tui.errors import RdeployError
    from rdeploy_tui.pipeline.runner import run_deploy

    name = f"ui-manage-{os.getpid() % 1000}"
    with deployed_on_sandbox(sandbox_server, tmp_path_factory.mktemp("manage-home"), name) as (spec, session):
        green = spec.copy()
        green.deployment.name, green.deployment.traffic = "green", 0
        assert run_deploy(green, session=session, sink=lambda e: None).status == "succeeded"
        endpoints = Endpoints(
            Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)
        )
        yield spec, session, endpoints
        try:
            endpoints.delete(spec.endpoint.name)
        except RdeployError:
            pass  # the delete test removed it


def manage_app(two_deployments, *, from_last_run: bool = False, step: str = "score"):
    spec, session, _ = two_deployments
    app = make_app(
        step, spec=spec.copy(), screens={"score": ScoringScreen(autostart=False)}, sandbox=True, azure=session
    )
    app.state.from_last_run = from_last_run
    return app


async def open_manage(pilot, app, name: str) -> ManageScreen:
    screen = ManageScreen()
    app.push_screen(screen)
    await wait_for(pilot, lambda: name in screen.infos)
    table = screen.query_one("#endpoints", DataTable)
    table.move_cursor(row=table.get_row_index(name))
    table.focus()
    await pilot.pause()
    return screen


async def test_lists_endpoints_with_billing_mark_and_details(two_deployments):
    spec, _, _ = two_deployments
    name = spec.endpoint.name
    app = manage_app(two_deployments)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_manage(pilot, app, name)
        table = screen.query_one("#endpoints", DataTable)
        assert str(table.get_cell(name, "bill")) == BILL_MARK and table.get_cell(name, "name") == name
        assert table.get_cell(name, "state") == "Succeeded"
        assert str(table.get_cell(name, "traffic")) == f"blue 100% green 0% {BILL_MARK}idle"  # green bills, idle
        assert str(screen.query_one("#details-uri", Static).render()).endswith(f"/endpoints/{name}/score")
        deployments = screen.query_one("#deployments", DataTable)
        assert deployments.row_count == 2 and str(deployments.get_row("green")[2]) == f"0% {BILL_MARK}idle"
        assert deployments.get_row("blue")[3] == deployments.get_row("green")[3] == "DS3_v2 x1"
        # the image each one runs (repository:tag), read through its environment, not the environment's id
        repository, _, tag = deployments.get_row("blue")[5].partition(":")
        assert repository == spec.image.repository and len(tag) == 16, deployments.get_row("blue")


async def test_logs_of_each_container(two_deployments):
    spec, _, _ = two_deployments
    app = manage_app(two_deployments)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_manage(pilot, app, spec.endpoint.name)
        await pilot.press("l")
        logs = app.screen
        assert isinstance(logs, ManageLogsScreen)
        log = logs.query_one(LogPanel).lines_view
        await wait_for(pilot, lambda: any("Running plumber API" in line for line in log.lines))
        logs.query_one("#logs-container").value = "storage-initializer"
        await wait_for(pilot, lambda: log.lines and not any("Running plumber API" in line for line in log.lines))
        await pilot.press("f")
        assert logs.following and "following" in str(logs.query_one("#logs-status", Static).render())
        await pilot.press("f")
        assert not logs.following
        await pilot.press("escape")
        assert isinstance(app.screen, ManageScreen)


async def test_traffic_editing_and_deleting_a_deployment(two_deployments):
    spec, _, endpoints = two_deployments
    name = spec.endpoint.name
    app = manage_app(two_deployments)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_manage(pilot, app, name)

        # blue still takes all the traffic: deleting it is refused before anything is sent
        screen.query_one("#deployments", DataTable).move_cursor(row=0)
        await pilot.press("d")
        await wait_for(pilot, lambda: "still takes 100 %" in toasts(app))
        assert app.screen is screen

        await pilot.press("t")
        dialog = app.screen
        assert isinstance(dialog, TrafficDialog)
        blue, green = dialog.query(Field)
        blue.input.focus()
        blue.set_text("70")
        await pilot.pause()
        # the message at the field being edited
        assert blue.error == "the shares add up to 70 %, not 100 % (or all 0 %)"
        assert dialog.query_one("#save", Button).disabled
        green.input.focus()
        green.set_text("30")
        await pilot.pause()
        assert blue.error is None and green.error is None
        assert not dialog.query_one("#save", Button).disabled
        await pilot.click("#save")
        await wait_for(pilot, lambda: screen.infos[name].traffic == {"blue": 70, "green": 30} and not screen.loading)
        assert endpoints.show(name).traffic == {"blue": 70, "green": 30}

        # green back to 0 %, then it may go
        await pilot.press("t")
        blue, green = app.screen.query(Field)
        green.input.focus()
        green.set_text("0")
        blue.input.focus()
        blue.set_text("100")
        await pilot.pause()
        await pilot.click("#save")
        await wait_for(pilot, lambda: screen.infos[name].traffic.get("green", 0) == 0 and not screen.loading)
        screen.query_one("#deployments", DataTable).move_cursor(row=1)
        await pilot.press("d")
        await pilot.click("#yes")
        await wait_for(pilot, lambda: [d.name for d in screen.infos[name].deployments] == ["blue"], timeout=90)
        assert [d.name for d in endpoints.show(name).deployments] == ["blue"]


async def test_reopening_opens_on_the_endpoints_and_deleting_needs_the_name(two_deployments):
    spec, _, endpoints = two_deployments
    name = spec.endpoint.name
    app = manage_app(two_deployments, from_last_run=True, step="signin")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ManageScreen) and name in app.screen.infos)
        screen = app.screen
        table = screen.query_one("#endpoints", DataTable)
        table.move_cursor(row=table.get_row_index(name))
        table.focus()
        await pilot.press("x")
        dialog = app.screen
        assert isinstance(dialog, TypeNameDialog)
        dialog.query_one("#confirm-name", Input).value = name[:-1]
        await pilot.click("#delete")
        await pilot.pause()
        assert app.screen is dialog  # refused: the dialog stays, with the message at the field
        assert "exactly" in str(dialog.query_one("#confirm-message", Static).render())
        assert endpoints.find(name) is not None

        dialog.query_one("#confirm-name", Input).value = name
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: app.screen is screen and name not in screen.infos and not screen.loading, timeout=90
        )
        assert endpoints.find(name) is None
