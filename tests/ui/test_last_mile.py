"""Issue 14 part 3: the wizard's last mile at 80x24, each newcomer point checked here."""
from __future__ import annotations

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
