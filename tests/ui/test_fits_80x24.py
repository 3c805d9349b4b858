"""Every screen at 80x24 with its variable text made long (names, failure messages, summaries): judged by what is
visible, the action the user needs next is on screen without scrolling, and no text is cut without a way to scroll
to the rest. Screens are reached with keys; the deploy screen's failure is a real build failure on the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from textual.containers import ScrollableContainer
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static
from ui_helpers import RecordedRun, deploy_outcome, make_app, settle, visible_lines, visible_text, wait_for

from rdeploy_tui.spec.deploy_spec import default_spec
from rdeploy_tui.ui.screens.deploy import DeployScreen

SMALL = (80, 24)
LONG_ENDPOINT = "r-endpoint-forecast-weekly-store"  # 32 characters: the longest name Azure takes
LONG_DEPLOYMENT = "green-candidate-2026-12"


# -- what is visible ------------------------------------------------------------------------------------------------
def _scrolls_vertically(widget: Widget) -> bool:
    return widget.styles.overflow_y in ("auto", "scroll") and widget.allow_vertical_scroll


def _scrolls_horizontally(widget: Widget) -> bool:
    return widget.styles.overflow_x in ("auto", "scroll") and widget.allow_horizontal_scroll


def _name(widget: Any) -> str:
    """Type#id of the widget and of its parents up to the first with an id, for the failure message."""
    path = []
    while isinstance(widget, Widget):
        path.append(f"{type(widget).__name__}#{widget.id}" if widget.id else type(widget).__name__)
        if widget.id:
            break
        widget = widget.parent
    return " in ".join(path)


def cut_without_scroll(screen: Any) -> list[str]:
    """The text widgets of `screen` whose text does not all show and that no scrolling reaches: a Static given fewer
    rows than its wrapped text needs, or a widget outside its container's visible area where that container does not
    scroll (in that direction) to it."""
    cut: list[str] = []
    for widget in screen.walk_children(Widget):
        if not widget.display or not widget.visible or widget.region.area == 0:
            continue
        name = _name(widget)
        if isinstance(widget, Static) and widget.display and widget.content_region.width > 0:
            # rows the text needs at the width it has, against the rows it got: a Static does not scroll
            needed = widget.get_content_height(widget.content_region.size, screen.size, widget.content_region.width)
            if needed > widget.content_region.height and not _scrolls_vertically(widget):
                cut.append(f"{name}: {needed} rows of text in {widget.content_region.height}")
        parent = widget.parent
        if not isinstance(parent, Widget) or widget.region.area == 0:
            continue
        # cut by its container: below or right of what the container shows, and the container does not scroll there
        inner = parent.scrollable_content_region if isinstance(parent, ScrollableContainer) else parent.content_region
        own = widget.region
        if own.bottom > inner.bottom and not _scrolls_vertically(parent):
            cut.append(f"{name}: {own.bottom - inner.bottom} rows below its container, which does not scroll")
        if own.right > inner.right and not _scrolls_horizontally(parent):
            cut.append(f"{name}: {own.right - inner.right} columns right of its container, which does not scroll")
        if not Region(0, 0, *SMALL).contains_region(own) and parent is screen:
            cut.append(f"{name}: outside the terminal")
    return cut


def assert_fits(app: Any, *needed: str) -> str:
    import os

    if os.environ.get("FIT_SHOW"):
        print(visible_text(app))
    """The screen shows every text in `needed` (the next action's key or button) and cuts nothing without a scroll."""
    lines = visible_lines(app)
    text = "\n".join(lines)
    assert len(lines) <= SMALL[1]
    for words in needed:
        assert words in text, f"{words!r} is not visible at 80x24:\n{text}"
    assert cut_without_scroll(app.screen) == [], text
    return text


def footer_line(app: Any) -> str:
    """The last row: the key bar."""
    return visible_lines(app)[-1]


# -- the deploy step: running, failed (a real build failure on the sandbox), succeeded -----------------------------
LONG_SUMMARY = (
    f"Endpoint {LONG_ENDPOINT} is live at https://{LONG_ENDPOINT}.westeurope.inference.ml.azure.com/score. "
    f"The deployment {LONG_DEPLOYMENT} (3 x Standard_DS3_v2, 0.88 USD an hour) bills per instance-hour until you "
    f"delete it: rdeploy-tui --sandbox endpoints delete {LONG_ENDPOINT}. Score it: rdeploy-tui --sandbox score "
    f"{LONG_ENDPOINT} --request sample-request.json. Its logs: rdeploy-tui --sandbox logs {LONG_ENDPOINT} -d "
    f"{LONG_DEPLOYMENT}. Traffic: {LONG_DEPLOYMENT} 100%."
)


def _long_spec():
    spec = default_spec()
    spec.endpoint.name, spec.deployment.name = LONG_ENDPOINT, LONG_DEPLOYMENT
    return spec


async def _deploy(pilot, screen: DeployScreen, status: str) -> None:
    await settle(pilot, first=True)
    await pilot.press("f2")  # Deploy, from the review
    try:
        await wait_for(pilot, lambda: pilot.app.step == "deploy" and screen.status == status)
    except AssertionError:
        raise AssertionError(f"no {status} deploy step; the screen shows:\n{visible_text(pilot.app)}") from None
    await settle(pilot)


async def test_a_running_deploy_shows_its_steps_and_the_cancel_key():
    screen = DeployScreen(run=RecordedRun([]))
    app = make_app("review", spec=_long_spec(), screens={"deploy": screen})
    async with app.run_test(size=SMALL) as pilot:
        await _deploy(pilot, screen, "running")
        assert_fits(app, "Cancel deploy", "^x")


async def test_a_long_deploy_summary_scrolls_in_its_box_and_the_next_key_stays_visible():
    spec = _long_spec()
    screen = DeployScreen(run=RecordedRun([], deploy_outcome("succeeded", spec, summary=LONG_SUMMARY)))
    app = make_app("review", spec=spec, screens={"deploy": screen})
    async with app.run_test(size=SMALL) as pilot:
        await _deploy(pilot, screen, "succeeded")
        text = assert_fits(app, "F2 scores", "F2 Score")
        assert f"Endpoint {LONG_ENDPOINT} is live" in text  # the summary starts on screen
        outcome = screen.query_one("#outcome")
        assert outcome.max_scroll_y > 0  # the rest is a scroll away, in its box
        outcome.focus()
        await pilot.press("end")
        await settle(pilot)
        assert "Traffic:" in visible_text(app) and "F2 Score" in footer_line(app)


@pytest.mark.sandbox
async def test_a_real_build_failure_shows_its_cause_the_build_log_and_resume_not_score(sandbox, tmp_path):
    from sandbox_specs import connection_on, spec_on_sandbox

    from rdeploy_tui.ui.widgets.log_panel import LogPanel

    sandbox.faults.arm("build-fail", count=1)
    with connection_on(sandbox) as session:
        spec = spec_on_sandbox(sandbox, "fit-build-fails-with-a-long-endpoint-name"[:32])
        spec.image.tag = f"fit-{tmp_path.name[-12:]}"  # never built before: the build runs (and fails)
        screen = DeployScreen()
        app = make_app("review", spec=spec, screens={"deploy": screen}, sandbox=True, azure=session)
        async with app.run_test(size=SMALL) as pilot:
            await settle(pilot, first=True)
            await pilot.press("f2")
            await wait_for(pilot, lambda: app.step == "deploy" and screen.status == "failed", timeout=240)
            await settle(pilot)
            text = assert_fits(app, "Failing line: Failed to build source package carrier", "F2 Resume")
            assert "Run ID:" not in text.split("Failing line:")[1].splitlines()[0]
            assert "Score" not in footer_line(app)  # there is no deployment to score
            build = screen.query_one("#build-log", LogPanel)
            assert build.received > 0 and build.log.line_count > 0
            # the cause is in the visible part of the build log, under the failure
            log_rows = build.log.region
            shown = visible_lines(app)[log_rows.y : log_rows.bottom]
            assert any("carrier" in row for row in shown), "\n".join(shown)
