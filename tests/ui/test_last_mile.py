"""Issue 14 part 3: the wizard's last mile at 80x24, each newcomer point checked here."""
from __future__ import annotations

import json

import pytest
from rich.cells import cell_len
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from rdeploy_tui.ui.screens.manage import ManageScreen
from rdeploy_tui.ui.screens.scoring import ScoringScreen

from test_manage_snapshots import NOW, FixedSource
from ui_helpers import make_app, settle, wait_for

SMALL = (80, 24)


def footer_cut_off(screen) -> list[str]:
    """The footer keys of `screen` that are not wholly visible (cut off at the right or under the palette hint)."""
    footer = screen.query_one(Footer)
    keys = list(footer.query(FooterKey))
    palette = [k for k in keys if k.has_class("-command-palette")]
    right = palette[0].region.x if palette else footer.region.right
    return [f"{k.key_display} {k.description}" for k in keys
            if k not in palette and (k.region.width < cell_len(f"{k.key_display} {k.description}") or k.region.right > right)]


async def _manage(pilot):
    screen = ManageScreen(FixedSource(), clock=lambda: NOW)
    pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: bool(screen.infos))
    await settle(pilot)
    return screen


async def test_endpoints_list_footer_fits_80x24():
    app = make_app(8, screens={8: ScoringScreen(autostart=False)})
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        screen = await _manage(pilot)
        assert footer_cut_off(screen) == []
        shown = {k.description for k in screen.query(FooterKey)}
        assert {"New deploy", "Quit"} <= shown


@pytest.mark.parametrize("step", [3, 4, 5, 6, 7, 8])  # 1-2 ask Azure on arrival
async def test_wizard_footers_fit_80x24(step):
    screens = {8: ScoringScreen(autostart=False)} if step == 8 else {}
    if step == 7:
        from rdeploy_tui.ui.screens.deploy import DeployScreen

        screens = {7: DeployScreen(autostart=False)}
    app = make_app(step, screens=screens)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        assert footer_cut_off(app.screen) == []


async def test_failed_build_shows_the_failing_line_whole_and_the_log_across_the_width():
    from rdeploy_tui.pipeline.events import LogLines, StepFailed, StepStarted
    from rdeploy_tui.ui.screens.deploy import DeployScreen
    from rdeploy_tui.ui.widgets.log_panel import LogPanel

    key = "rdeploy: failed to install R packages: forcast, zoo-extra-package-with-a-long-name"
    screen = DeployScreen(autostart=False)
    app = make_app(6, screens={7: screen})
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        app.goto(7)
        await settle(pilot)
        screen.status = "running"
        screen.sink(LogLines("build-image", "build", ("Step 4/6 : RUN R -e ...", key, "Removing intermediate container")))
        screen.apply(StepStarted("build-image", "Build image", 0.0))
        screen.apply(StepFailed("build-image", "The image build failed.", "Read the build log.",
                                f"Step 4/6\n{key}\nRemoving intermediate container", "BuildFailed", 1.0))
        await settle(pilot)
        build, deploy = screen.query_one("#build-log", LogPanel), screen.query_one("#deploy-log", LogPanel)
        assert not deploy.display and build.size.width >= SMALL[0] - 4  # was 36 columns beside the other log
        line = screen.query_one("#failure-line")
        assert str(line.render()) == f"Failing line: {key}"  # whole: the Static wraps it
        assert line.size.height >= 2


async def test_review_file_viewer_gets_the_width_at_80x24():
    app = make_app(6, found={"endpoints": {}, "registry": "acr.azurecr.io"})
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        assert app.screen.query_one("#review-view").size.width >= SMALL[0] - 4  # was 44 beside the list


async def test_local_test_lines_wrap_at_80x24():
    from textual.widgets import RichLog

    app = make_app(4)
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

def _succeeded(spec):
    from rdeploy_tui.pipeline.runner import Outcome

    return Outcome("succeeded", "Endpoint is live.", spec.endpoint.name, spec.deployment.name,
                   scoring_uri=f"https://{spec.endpoint.name}.westeurope.inference.ml.azure.com/score")


def _cli_args(command_line: str):
    """The printed command, parsed by the real CLI parser (it must be a command the CLI accepts)."""
    import shlex

    from rdeploy_tui.cli import build_parser

    words = shlex.split(command_line.strip())
    assert words[0] == "rdeploy-tui"
    return build_parser().parse_args(words[1:])


async def test_finish_prints_endpoint_uri_deployment_how_to_score_and_delete():
    from rdeploy_tui.ui.app import closing_summary

    app = make_app(8, screens={8: ScoringScreen(autostart=False)}, sandbox=True)
    spec = app.session.spec
    spec.workspace.subscription_id = "5a4d1f3e-0000"
    app.session.found["deploy_outcome"] = _succeeded(spec)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        app.screen.action_next()  # Finish
        await wait_for(pilot, lambda: not app.is_running)
    text = closing_summary(app)
    assert f"endpoint {spec.endpoint.name} is live" in text
    assert f"https://{spec.endpoint.name}.westeurope.inference.ml.azure.com/score" in text
    assert f"{spec.deployment.name} (1 x {spec.deployment.instance_type}), 100% of the endpoint's traffic" in text
    assert "bills per instance-hour until you delete it" in text
    score = next(line for line in text.splitlines() if "rdeploy-tui endpoints score" in line).split("Score it:")[1]
    args = _cli_args(score)
    assert (args.action, args.name, args.sandbox, args.workspace) == ("score", spec.endpoint.name, True, spec.workspace.name)
    assert json.loads(args.data) == spec.scoring.sample_request
    delete = next(line for line in text.splitlines() if "rdeploy-tui endpoints delete" in line)
    args = _cli_args(delete)
    assert (args.action, args.name, args.resource_group, args.subscription) == (
        "delete", spec.endpoint.name, spec.workspace.resource_group, "5a4d1f3e-0000")


async def test_quit_during_a_deploy_prints_how_to_resume():
    from rdeploy_tui.ui.app import closing_summary
    from rdeploy_tui.ui.screens.deploy import DeployScreen

    screen = DeployScreen(autostart=False)
    app = make_app(6, screens={7: screen})
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        app.goto(7)
        await settle(pilot)
        screen.status = "running"
        await app.action_quit()
        await wait_for(pilot, lambda: app.screen.query("#yes"))
        await pilot.click("#yes")
        await wait_for(pilot, lambda: not app.is_running)
    assert screen.cancel_event.is_set()
    assert "was interrupted. Run rdeploy-tui again to resume it" in closing_summary(app)


async def test_quit_without_a_deploy_prints_nothing():
    from rdeploy_tui.ui.app import closing_summary

    app = make_app(5)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        await app.action_quit()
        await wait_for(pilot, lambda: not app.is_running)
    assert closing_summary(app) is None
