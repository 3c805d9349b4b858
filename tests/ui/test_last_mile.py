"""Issue 14 part 3: the wizard's last mile at 80x24, each newcomer point checked here."""

from __future__ import annotations

import json

import pytest
from rich.cells import cell_len
from test_manage_snapshots import NOW, FixedSource
from textual.widgets import Footer
from textual.widgets._footer import FooterKey
from ui_helpers import RecordedRun, deploy_outcome, make_app, settle, toasts, wait_for

from rdeploy_tui.ui.screens.manage import ManageScreen
from rdeploy_tui.ui.screens.scoring import ScoringScreen

SMALL = (80, 24)


def review_text(screen) -> str:
    """What the review's viewer shows (its summary, on arrival)."""
    from rdeploy_tui.ui.widgets.code_view import CodeView

    return screen.query_one("#review-view", CodeView).text


def footer_cut_off(screen) -> list[str]:
    """The footer keys of `screen` that are not wholly visible (cut off at the right or under the palette hint)."""
    footer = screen.query_one(Footer)
    keys = list(footer.query(FooterKey))
    palette = [k for k in keys if k.has_class("-command-palette")]
    right = palette[0].region.x if palette else footer.region.right
    return [
        f"{k.key_display} {k.description}"
        for k in keys
        if k not in palette
        and (k.region.width < cell_len(f"{k.key_display} {k.description}") or k.region.right > right)
    ]


async def _manage(pilot, source=None):
    screen = ManageScreen(source or FixedSource(), clock=lambda: NOW)
    pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: bool(screen.infos))
    await settle(pilot)
    return screen


async def test_endpoints_list_footer_fits_80x24():
    app = make_app("score", screens={"score": ScoringScreen(autostart=False)})
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        screen = await _manage(pilot)
        assert footer_cut_off(screen) == []
        shown = {k.description for k in screen.query(FooterKey)}
        assert {"New deploy", "Quit"} <= shown


@pytest.mark.parametrize(
    "step", ["packages", "script", "endpoint", "review", "deploy", "score"]
)  # the others ask Azure
async def test_wizard_footers_fit_80x24(step):
    from rdeploy_tui.ui.screens.deploy import DeployScreen

    screens = {
        "score": ScoringScreen(autostart=False),
        "deploy": DeployScreen(run=RecordedRun([])),  # a deploy running: its footer has the most keys
    }
    app = make_app(step, screens=screens)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        assert footer_cut_off(app.screen) == []


async def test_failed_build_shows_the_failing_line_whole_and_the_log_across_the_width():
    from rdeploy_tui.pipeline.events import LogLines, StepFailed, StepStarted
    from rdeploy_tui.ui.screens.deploy import DeployScreen
    from rdeploy_tui.ui.widgets.log_panel import LogPanel

    key = "rdeploy: failed to install R packages: forcast, zoo-extra-package-with-a-long-name"
    events = [
        LogLines("build-image", "build", ("Step 4/6 : RUN R -e ...", key, "Removing intermediate container")),
        StepStarted("build-image", "Build image", 0.0),
        StepFailed(
            "build-image",
            "The image build failed.",
            "Read the build log.",
            f"Step 4/6\n{key}\nRemoving intermediate container",
            "BuildFailed",
            1.0,
        ),
    ]
    screen = DeployScreen(run=RecordedRun(events, deploy_outcome("failed")))
    app = make_app("review", screens={"deploy": screen})
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        await pilot.press("f2")  # Deploy
        await wait_for(pilot, lambda: app.step == "deploy" and screen.status == "failed")
        await settle(pilot)
        build, deploy = screen.query_one("#build-log", LogPanel), screen.query_one("#deploy-log", LogPanel)
        assert not deploy.display and build.size.width >= SMALL[0] - 4  # was 36 columns beside the other log
        line = screen.query_one("#failure-line")
        assert str(line.render()) == f"Failing line: {key}"  # whole: the Static wraps it
        assert line.size.height >= 2


async def test_deploy_events_reach_the_deploy_step_as_one_kind_of_message():
    """The same message as the rollout's: every event of the run, in order, and the outcome in the last one."""
    from rdeploy_tui.pipeline.events import LogLines, PlanFinished, StepFinished, StepStarted
    from rdeploy_tui.ui.pipeline_events import PipelineEvents
    from rdeploy_tui.ui.screens.deploy import DeployScreen

    events = [
        StepStarted("build-image", "Build image"),
        *(LogLines("build-image", "build", (f"line {i}",)) for i in range(50)),
        StepFinished("build-image", "done", "image pushed"),
        PlanFinished("succeeded", "live"),
    ]
    outcome = deploy_outcome()
    seen: list[PipelineEvents] = []
    app = make_app("review", screens={"deploy": DeployScreen(run=RecordedRun(events, outcome))})

    def hook(message) -> None:
        if isinstance(message, PipelineEvents):
            seen.append(message)

    async with app.run_test(size=SMALL, message_hook=hook) as pilot:
        await settle(pilot, first=True)
        await pilot.press("f2")  # Deploy
        await wait_for(pilot, lambda: seen and seen[-1].outcome is not None)
        await wait_for(pilot, lambda: not app.screen.query_one("#next").disabled)  # Score, once it is live
    assert [e for m in seen for e in m.events] == events
    assert seen[-1].outcome is outcome and sum(m.log_lines for m in seen) == 50


async def test_review_file_viewer_gets_the_width_at_80x24():
    app = make_app("review", registry="acr.azurecr.io")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        assert app.screen.query_one("#review-view").size.width >= SMALL[0] - 4  # was 44 beside the list


async def test_local_test_lines_wrap_at_80x24():
    from textual.widgets import RichLog

    app = make_app("script")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        log = app.screen.query_one("#local-log", RichLog)
        log.remove_class("-hidden")
        long = "FAIL score: " + "the API answered HTTP 500: object 'forecast_horizon' not found " * 2
        log.write(long)
        await settle(pilot)
        assert log.size.width >= SMALL[0] - 4
        text = "".join(strip.text for strip in log.lines)
        assert text.replace(" ", "") == long.replace(" ", "")  # every character shown, on wrapped lines
        assert len(log.lines) >= 2


# --- the summary printed once the app has closed -------------------------------------------------------


def _cli_args(command_line: str):
    """The printed command, parsed by the real CLI parser (it must be a command the CLI accepts)."""
    import shlex

    from rdeploy_tui.cli import build_parser

    words = shlex.split(command_line.strip())
    assert words[0] == "rdeploy-tui"
    return build_parser().parse_args(words[1:])


async def test_finish_prints_endpoint_uri_deployment_how_to_score_and_delete():
    from rdeploy_tui.pipeline.events import StepFinished
    from rdeploy_tui.spec.deploy_spec import default_spec
    from rdeploy_tui.ui.app import closing_summary
    from rdeploy_tui.ui.screens.deploy import DeployScreen

    spec = default_spec()
    spec.workspace.subscription_id = "5a4d1f3e-0000-4000-8000-00000000a11e"
    uri = f"https://{spec.endpoint.name}.westeurope.inference.ml.azure.com/score"
    # The deploy as the runner reports it: its traffic step says the split Azure has now.
    run = RecordedRun([StepFinished("route-traffic", "done", "traffic: blue=100%")], deploy_outcome(scoring_uri=uri))
    screens = {"deploy": DeployScreen(run=run), "score": ScoringScreen(autostart=False)}
    app = make_app("review", spec=spec, screens=screens, sandbox=True)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        await pilot.press("f2")  # Deploy
        await wait_for(pilot, lambda: app.step == "deploy" and not app.screen.query_one("#next").disabled)
        await pilot.press("f2")  # Score
        await wait_for(pilot, lambda: app.step == "score" and not app.screen.query_one("#next").disabled)
        await pilot.press("f2")  # Finish
        await wait_for(pilot, lambda: not app.is_running)
    text = closing_summary(app)
    assert f"endpoint {spec.endpoint.name} is live" in text
    assert "Deployment:  blue (1 x Standard_DS3_v2), endpoint traffic: blue=100%" in text
    assert uri in text
    assert "bills per instance-hour until you delete it" in text
    score = next(line for line in text.splitlines() if "rdeploy-tui endpoints score" in line).split("Score it:")[1]
    args = _cli_args(score)
    assert (args.action, args.name, args.sandbox, args.workspace) == (
        "score",
        spec.endpoint.name,
        True,
        spec.workspace.name,
    )
    assert json.loads(args.data) == spec.scoring.sample_request
    delete = next(line for line in text.splitlines() if "rdeploy-tui endpoints delete" in line)
    args = _cli_args(delete)
    assert (args.action, args.name, args.resource_group, args.subscription) == (
        "delete",
        spec.endpoint.name,
        spec.workspace.resource_group,
        "5a4d1f3e-0000-4000-8000-00000000a11e",
    )


def test_the_closing_summary_without_a_traffic_report_says_the_share_asked_for():
    from rdeploy_tui.connection_options import ConnectionOptions
    from rdeploy_tui.spec.deploy_spec import default_spec
    from rdeploy_tui.ui.exit_summary import exit_summary

    spec = default_spec()
    text = exit_summary(spec, ConnectionOptions(sandbox=True), deploy_outcome(spec=spec))
    assert f"{spec.deployment.name} (1 x {spec.deployment.instance_type}), 100% of the endpoint's traffic" in text


async def test_quit_during_a_deploy_prints_how_to_resume():
    from rdeploy_tui.ui.app import closing_summary
    from rdeploy_tui.ui.screens.deploy import DeployScreen

    run = RecordedRun([])  # still running when the user quits
    app = make_app("review", screens={"deploy": DeployScreen(run=run)})
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        await pilot.press("f2")  # Deploy
        await wait_for(pilot, run.started.is_set)
        await pilot.press("f10")
        await wait_for(pilot, lambda: app.screen.query("#yes"))
        assert "A deploy is running. Quit anyway?" in str(app.screen.query_one(".dialog-text").render())
        app.screen.query_one("#yes").press()  # press(): a click can miss a dialog not laid out yet
        await wait_for(pilot, lambda: not app.is_running)
    assert "was interrupted. Run rdeploy-tui again to resume it" in closing_summary(app)


async def test_quit_after_a_failed_deploy_says_what_is_left_and_exits_1():
    from rdeploy_tui.ui.app import closing_summary, exit_code
    from rdeploy_tui.ui.screens.deploy import DeployScreen

    failed = deploy_outcome(
        "failed", summary="Deploy failed: the image build failed. Left behind: endpoint e exists, Succeeded."
    )
    run = RecordedRun([], failed)
    app = make_app("review", screens={"deploy": DeployScreen(run=run)})
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        await pilot.press("f2")  # Deploy
        await wait_for(pilot, lambda: app.step == "deploy" and app.screen.status == "failed")
        await pilot.press("f10")
        await wait_for(pilot, lambda: not app.is_running)
    assert "rdeploy-tui: deploy failed. Deploy failed: the image build failed. Left behind" in closing_summary(app)
    assert exit_code(app) == 1


async def test_quit_from_the_endpoints_list_says_what_still_bills():
    from test_manage_snapshots import NOW, FixedSource

    from rdeploy_tui.ui.app import closing_summary, exit_code
    from rdeploy_tui.ui.screens.manage import ManageScreen

    app = make_app("signin", sandbox=True)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        screen = ManageScreen(FixedSource(), clock=lambda: NOW)
        app.push_screen(screen)
        await wait_for(pilot, lambda: screen.bills)  # the list read, with what each endpoint bills
        await pilot.press("f10")
        await wait_for(pilot, lambda: not app.is_running)
    text = closing_summary(app)
    lines = text.splitlines()
    assert lines[0] == "rdeploy-tui: 2 endpoints in workspace ws-ml bill per instance-hour until deleted:"
    assert lines[1].split() == ["r-endpoint-forecast", "0.88", "USD/hour"]
    assert lines[2].split() == ["churn-ep", "0.19", "USD/hour"]
    delete = _cli_args(lines[3].split("Delete one:")[1].replace("NAME", "churn-ep"))
    assert (delete.action, delete.name, delete.sandbox) == ("delete", "churn-ep", True)
    assert "empty-ep" not in text  # no deployments: no bill
    assert exit_code(app) == 0


async def test_quit_without_a_deploy_prints_nothing():
    from rdeploy_tui.ui.app import closing_summary

    app = make_app("endpoint")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        await pilot.press("f10")
        await wait_for(pilot, lambda: not app.is_running)
    assert closing_summary(app) is None


# --- stale state ---------------------------------------------------------------------------------------


async def test_workspace_list_has_no_selectable_looking_for_entry(monkeypatch):
    from textual.widgets import Select

    from rdeploy_tui.azure.discovery import WorkspaceInfo
    from rdeploy_tui.ui.screens.workspace import WorkspacesFound

    # The workers (Azure) are replaced: their answer is posted below, as they post it.
    monkeypatch.setattr("rdeploy_tui.ui.screens.workspace.WorkspaceScreen.find_workspaces", lambda self, sub: None)
    monkeypatch.setattr("rdeploy_tui.ui.screens.workspace.WorkspaceScreen.check_registry", lambda self, key: None)
    app = make_app("workspace")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        select = app.screen.query_one("#workspace", Select)
        assert select.disabled and select.prompt == "(looking for workspaces)"  # a status, not a choice
        app.screen.post_message(
            WorkspacesFound("sub", [WorkspaceInfo("sub", "rg", "ws", "westeurope", "id", None)], [])
        )
        await wait_for(pilot, lambda: not select.disabled)
        assert "looking" not in select.prompt


async def test_not_yet_toast_goes_once_the_problem_is_fixed():
    app = make_app("endpoint")
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await settle(pilot, first=True)
        screen = app.screen
        screen.query_one("#endpoint-name-input").value = "9lives"
        await settle(pilot)
        await pilot.press("f2")
        await wait_for(pilot, lambda: "Not yet" in toasts(app))
        screen.query_one("#endpoint-name-input").value = "nine-lives"
        await wait_for(pilot, lambda: "Not yet" not in toasts(app))


def _report(passed: bool):
    from rdeploy_tui.local.checks import Check, LocalReport

    check = (
        Check("score", "ok", "HTTP 200")
        if passed
        else Check("score", "fail", "HTTP 500: object 'h' not found", "fix the script")
    )
    return LocalReport(score_status=200 if passed else 500, checks=[check])


async def _script_tested(pilot, passed: bool, monkeypatch):
    """The script step with a local test that ran (its R part is tests/r's business) and finished: F8 starts it,
    and the worker's answer is posted as the worker posts it."""
    from rdeploy_tui.ui.screens.script import LocalTestProgress, ScriptScreen

    monkeypatch.setattr(ScriptScreen, "run_local_test", lambda self, spec, model_dir: None)
    screen = pilot.app.screen
    result = screen.query_one("#local-result")
    await pilot.press("f8")
    await wait_for(pilot, lambda: str(result.render()) == "Starting the API with R ...")
    screen.post_message(LocalTestProgress(report=_report(passed)))
    await wait_for(pilot, lambda: str(result.render()).startswith("Local test"))
    await settle(pilot)
    return screen


async def test_local_test_result_marked_stale_when_the_request_changes(monkeypatch):
    from textual.widgets import TextArea

    app = make_app("script")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        screen = await _script_tested(pilot, True, monkeypatch)
        result = screen.query_one("#local-result")
        assert str(result.render()).startswith("Local test passed")
        editor = screen.query_one("#sample-request", TextArea)
        tested = editor.text
        editor.load_text('{"forecast_horizon": [5]}')
        await wait_for(pilot, lambda: result.has_class("-stale"))
        assert "for an earlier request" in str(result.render()) and "again" in str(result.render())
        editor.load_text(tested)  # back to what was tested: the result holds again
        await wait_for(pilot, lambda: not result.has_class("-stale"))
        assert str(result.render()).startswith("Local test passed")


async def test_next_after_a_failed_local_test_asks_first(monkeypatch):
    from rdeploy_tui.ui.widgets.dialogs import ConfirmDialog

    app = make_app("script")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        screen = await _script_tested(pilot, False, monkeypatch)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen.query("#no"))
        assert "local test" in str(app.screen.query_one(".dialog-text").render())
        await pilot.press("enter")  # the safe answer has the focus: stay
        await wait_for(pilot, lambda: app.screen is screen)
        assert app.step == "script"
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen.query("#yes"))
        app.screen.query_one("#yes").press()  # press(): a click can miss a dialog not laid out yet
        await wait_for(pilot, lambda: app.step == "endpoint")
        await settle(pilot)


async def test_old_answer_not_shown_as_current_under_a_json_error():
    from rdeploy_tui.scoring.result import ScoreResult

    app = make_app("score", screens={"score": ScoringScreen(autostart=False)})
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        screen = app.screen
        screen.show_result(ScoreResult(200, 42.0, {"azureml-model-deployment": "blue"}, b"[1]"))
        await settle(pilot)
        screen.panel.editor.load_text('{"forecast_horizon": [2]')  # the closing brace is missing
        screen.panel.action_send()
        await settle(pilot)
        status = " ".join(str(w.render()) for w in screen.panel.query("Static"))
        assert "Not sent: the request is not JSON. The answer below is from request #1." in status


async def test_review_rechecks_an_endpoint_a_failed_first_run_created(monkeypatch):
    from rdeploy_tui.azure.online import EndpointInfo
    from rdeploy_tui.ui.screens.base import EndpointsListed
    from rdeploy_tui.ui.screens.deploy import DeployScreen
    from rdeploy_tui.ui.widgets.code_view import CodeView

    def listed(self):  # the listing worker: what Azure says after the failed run (the endpoint exists, no traffic)
        spec = self.app.state.spec
        info = EndpointInfo(spec.endpoint.name, "Succeeded", "aml_token", "https://x/score", {})
        self.post_message(EndpointsListed({spec.endpoint.name: info}))

    monkeypatch.setattr("rdeploy_tui.ui.screens.review.ReviewScreen.list_endpoints", listed)
    deploy = DeployScreen(run=RecordedRun([], deploy_outcome("failed")))
    app = make_app("review", screens={"deploy": deploy})
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        view = app.screen.query_one("#review-view", CodeView)
        assert " - new, created while the image builds" in view.text
        await pilot.press("f2")  # Deploy: it fails
        await wait_for(pilot, lambda: deploy.status == "failed")
        await pilot.press("escape")  # Back to the review
        await wait_for(pilot, lambda: app.step == "review" and " - exists, reused" in view.text)


# --- traffic ---------------------------------------------------------------------------------------------


async def test_a_sole_deployment_at_10_percent_is_told_before_the_deploy():
    app = make_app("endpoint")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        screen = app.screen
        screen.query_one("#traffic-input").value = "10"
        await settle(pilot)
        message = str(screen.query_one("#traffic .field-message").render())
        assert message == "no other deployment takes traffic: blue will get 100 %, not 10 %"
        await pilot.press("f2")  # a note, not a refusal
        await wait_for(pilot, lambda: app.step == "review")
        summary = review_text(app.screen)
        assert "4. Traffic after the deploy: blue 100%" in summary and "not 10 %" in summary


async def test_review_shows_every_deployments_share():
    from rdeploy_tui.azure.online import DeploymentInfo, EndpointInfo
    from rdeploy_tui.spec.deploy_spec import default_spec

    spec = default_spec()
    spec.deployment.name, spec.deployment.traffic = "green", 10
    existing = EndpointInfo(
        spec.endpoint.name,
        "Succeeded",
        "aml_token",
        "https://x/score",
        {"blue": 100},
        deployments=(
            DeploymentInfo("blue", "Succeeded", "Standard_DS3_v2", 1, None, None),
            DeploymentInfo("old", "Succeeded", "Standard_DS3_v2", 1, None, None),
        ),
    )
    app = make_app("review", spec=spec, endpoints={spec.endpoint.name: existing})
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        summary = review_text(app.screen)
        assert "4. Traffic after the deploy: green 10%, blue 90%, old 0%" in summary
        assert "at 0 %, still billing: old" in summary


async def test_enter_saves_the_traffic_dialog():
    from rdeploy_tui.ui.screens.manage_dialogs import TrafficDialog

    app = make_app("score", screens={"score": ScoringScreen(autostart=False)})
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        saved = []
        app.push_screen(TrafficDialog("ep", ["blue", "green"], {"blue": 90, "green": 10}), saved.append)
        await wait_for(pilot, lambda: isinstance(app.screen, TrafficDialog) and app.screen.query("#save"))
        dialog = app.screen
        dialog.fields()[0].set_text("70")
        await pilot.pause()
        await pilot.press("enter")  # 70 + 10 does not add up: stays, says why
        await settle(pilot)
        assert app.screen is dialog and saved == []
        dialog.fields()[1].input.focus()
        dialog.fields()[1].set_text("30")
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: saved == [{"blue": 70, "green": 30}])


async def test_d_acts_on_the_selected_deployment_also_after_a_refresh():
    from textual.widgets import DataTable

    from rdeploy_tui.ui.widgets.dialogs import ConfirmDialog

    app = make_app("score", screens={"score": ScoringScreen(autostart=False)})
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        screen = await _manage(pilot, TwoOnChurn())
        endpoints = screen.query_one("#endpoints", DataTable)
        endpoints.move_cursor(row=endpoints.get_row_index("churn-ep"))
        await settle(pilot)
        deps = screen.query_one("#deployments", DataTable)
        deps.focus()
        await pilot.press("down")  # select "spare"
        await settle(pilot)
        assert screen.selected_deployment() == "spare"
        screen.action_refresh()  # read again (as after any change): the selection must stay
        await wait_for(pilot, lambda: not screen.loading)
        await settle(pilot)
        assert screen.selected_deployment() == "spare"
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "Delete deployment spare of endpoint churn-ep?" in app.screen.question


class TwoOnChurn(FixedSource):
    def endpoints(self):
        return [_with_idle(i) for i in super().endpoints()]


def _with_idle(info):
    from dataclasses import replace

    from rdeploy_tui.azure.online import DeploymentInfo

    if info.name != "churn-ep" or len(info.deployments) > 1:
        return info
    return replace(
        info,
        traffic={"main": 100, "spare": 0},
        deployments=(*info.deployments, DeploymentInfo("spare", "Succeeded", "Standard_F4s_v2", 1, None, None)),
    )


async def test_a_deployment_at_0_percent_that_bills_is_flagged():
    from textual.widgets import DataTable

    app = make_app("score", screens={"score": ScoringScreen(autostart=False)})
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        screen = await _manage(pilot)
        endpoints = screen.query_one("#endpoints", DataTable)
        cell = endpoints.get_cell("churn-ep", "traffic")  # its only deployment, main, takes 0 %
        assert "main 0% $idle" in str(cell)
        assert "$idle: at 0 % traffic, billing for nothing: churn-ep/main." in str(
            screen.query_one("#manage-status").render()
        )
        assert "idle" not in str(endpoints.get_cell("r-endpoint-forecast", "traffic"))
        assert "idle" not in str(endpoints.get_cell("empty-ep", "traffic"))


# --- registering a model from the wizard ---------------------------------------------------------------


async def test_a_workspace_without_models_offers_to_register_one(monkeypatch):
    from rdeploy_tui.ui.screens.model import ModelsLoaded

    # The worker (Azure) is replaced: its answer is posted below, as it posts it.
    monkeypatch.setattr("rdeploy_tui.ui.screens.model.ModelScreen.load_models", lambda self: None)
    app = make_app("model")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        screen = app.screen
        screen.post_message(ModelsLoaded(("s", "rg", "ws"), []))
        status = screen.query_one("#model-status")
        await wait_for(pilot, lambda: "register your crate.bin below" in str(status.render()))
        await settle(pilot)
        assert not screen.query_one("#register-form").has_class("-hidden")
        assert screen.query_one("#version").has_class("-hidden")
        nav = str(screen.query_one("#nav-status").render())
        assert nav == "register the model first, or pick a registered one"
