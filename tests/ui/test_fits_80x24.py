"""Every screen at 80x24 with its variable text made long (names, failure messages, summaries): judged by what is
visible, the action the user needs next is on screen without scrolling, and no text is cut without a way to scroll
to the rest. Screens are reached with keys; the deploy screen's failure is a real build failure on the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import DataTable, Static
from ui_helpers import NOT_LISTED, RecordedRun, deploy_outcome, make_app, settle, visible_lines, visible_text, wait_for

from rdeploy_tui.spec.deploy_spec import default_spec
from rdeploy_tui.ui.screens.deploy import DeployScreen
from rdeploy_tui.ui.screens.manage import ManageScreen
from rdeploy_tui.ui.screens.scoring import ScoringScreen

SMALL = (80, 24)
LONG_ENDPOINT = "r-endpoint-forecast-weekly-store"  # 32 characters: the longest name Azure takes
LONG_DEPLOYMENT = "green-candidate-2026-12"


# -- what is visible ------------------------------------------------------------------------------------------------
def _name(widget: Any) -> str:
    """Type#id of the widget and of its parents up to the first with an id, for the failure message."""
    path = []
    while isinstance(widget, Widget):
        path.append(f"{type(widget).__name__}#{widget.id}" if widget.id else type(widget).__name__)
        if widget.id:
            break
        widget = widget.parent
    return " in ".join(path)


def _scrolls(widget: Widget, vertically: bool) -> bool:
    overflow = widget.styles.overflow_y if vertically else widget.styles.overflow_x
    return overflow in ("auto", "scroll")


def _outside_unscrolled(widget: Widget, box: Region, vertically: bool) -> Widget | None:
    """The first container of `widget`, up to the first that scrolls that way, that does not hold all of `box`."""
    for parent in widget.ancestors:
        if not isinstance(parent, Widget) or _scrolls(parent, vertically):
            return None
        inner = parent.content_region
        if vertically and (box.bottom > inner.bottom or box.y < inner.y):
            return parent
        if not vertically and (box.right > inner.right or box.x < inner.x):
            return parent
    return None


def _text_box(widget: Widget, screen: Any) -> Region:
    """Where a leaf's text is: its content area, narrowed to the text's own width and height for a Static (the blank
    rest of a Static that is wider than its container is not cut text)."""
    box = widget.content_region
    if isinstance(widget, Static) and box.area:
        width = widget.get_content_width(box.size, screen.size)
        height = widget.get_content_height(box.size, screen.size, min(width, box.width) or 1)
        box = Region(box.x, box.y, min(box.width, width), min(box.height, height))
    return box


ELLIPSIS_CUT = "…"  # Textual's text-overflow: ellipsis, and Rich's truncation: the rest of the text is not shown


def cut_without_scroll(screen: Any) -> list[str]:
    """What of `screen` does not all show and no scrolling reaches: a Static given fewer rows than its wrapped text
    needs, a text widget (a leaf) or a scrolling container that reaches past a container that does not scroll that
    way, or a line cut off with an ellipsis."""
    cut: list[str] = []
    for widget in screen.walk_children(Widget):
        if not widget.display or not widget.visible or widget.region.area == 0:
            continue
        name = _name(widget)
        if isinstance(widget, Static) and widget.content_region.width > 0:
            # rows the text needs at the width it has, against the rows it got: a Static does not scroll
            needed = widget.get_content_height(widget.content_region.size, screen.size, widget.content_region.width)
            if needed > widget.content_region.height and not _scrolls(widget, vertically=True):
                cut.append(f"{name}: {needed} rows of text in {widget.content_region.height}")
        scroller = _scrolls(widget, vertically=True) or _scrolls(widget, vertically=False)
        if widget.children and not scroller:
            continue  # a container: its leaves are checked
        box = widget.region if scroller else _text_box(widget, screen)
        for vertically in (True, False):
            outside = _outside_unscrolled(widget, box, vertically)
            if outside is not None:
                where = "rows" if vertically else "columns"
                cut.append(
                    f"{name}: {where} of {box} outside {_name(outside)} ({outside.content_region}), which does not "
                    "scroll to them"
                )
    for row, line in enumerate(visible_lines(screen.app)):
        if ELLIPSIS_CUT in line:
            cut.append(f"row {row} cut with an ellipsis: {line.strip()}")
    return cut


def assert_fits(app: Any, *needed: str) -> str:
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
            assert build.received > 0 and build.lines_view.line_count > 0
            # the cause is in the visible part of the build log, under the failure
            log_rows = build.lines_view.region
            shown = visible_lines(app)[log_rows.y : log_rows.bottom]
            assert any("carrier" in row for row in shown), "\n".join(shown)


# -- the script step's local test (F8): its result on screen, whatever was in view when F8 was pressed ---------------
@pytest.mark.r
async def test_f8_shows_the_local_tests_result_without_scrolling():
    app = make_app("script")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        assert "Local test" not in visible_text(app)
        await pilot.press("f8")  # from the top of the step, the result's place below the fold
        result = app.screen.query_one("#local-result", Static)
        await wait_for(pilot, lambda: str(result.render()).startswith("Local test"), timeout=180)
        await settle(pilot)
        text = assert_fits(app, "Local test passed", "HTTP 200.", "F2 Next")
        assert "ok   precision" in text  # the checks' log under the result, in view too


# -- the wizard's steps, on the sandbox, with long names -------------------------------------------------------------
def _long_names_spec(sandbox):
    from sandbox_specs import spec_on_sandbox

    spec = spec_on_sandbox(sandbox, LONG_ENDPOINT)
    spec.deployment.name = LONG_DEPLOYMENT
    spec.image.r_packages = [*spec.image.r_packages, "forecast", "data.table", "tidymodels", "randomForest"]
    return spec


STEP_SHOWS = {  # what each step shows once it has read what it needs, and its next action
    "signin": ("Signed in", "F2 Next"),
    "workspace": ("rdeploy-sandbox-ws", "F2 Next"),
    "model": ("forecast-model", "F2 Next"),
    "packages": ("randomForest", "F2 Next"),
    "script": ("Preview of src/plumber.R", "F8 Test locally", "F2 Next"),
    "endpoint": (LONG_ENDPOINT, "F2 Next"),
    "review": (LONG_ENDPOINT, "Deploy"),
}


@pytest.mark.sandbox
@pytest.mark.parametrize("step", list(STEP_SHOWS))
async def test_each_wizard_step_fits_with_long_names(sandbox, step):
    from sandbox_specs import connection_on

    with connection_on(sandbox) as session:
        app = make_app(step, spec=_long_names_spec(sandbox), sandbox=True, azure=session, endpoints=NOT_LISTED)
        async with app.run_test(size=SMALL) as pilot:
            await settle(pilot, first=True)
            shows = STEP_SHOWS[step]
            try:
                await wait_for(pilot, lambda: all(s in visible_text(app) for s in shows), timeout=60)
            except AssertionError:
                raise AssertionError(f"{step} does not show {shows}:\n{visible_text(app)}") from None
            await settle(pilot)
            assert_fits(app, *shows)


# -- the endpoints list and what opens from it, on a real sandbox deployment with long names -------------------------
FILLERS = 14


@pytest.fixture(scope="module")
def long_named_endpoint(sandbox_server, tmp_path_factory):
    """LONG_ENDPOINT with LONG_DEPLOYMENT (100 %, expiring in 8 h), deployed by the real pipeline."""
    from sandbox_specs import connection_on, spec_on_sandbox

    from rdeploy_tui.errors import RdeployError
    from rdeploy_tui.pipeline.runner import run_deploy

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RDEPLOY_HOME", str(tmp_path_factory.mktemp("fit-home")))
        with connection_on(sandbox_server) as session:
            spec = spec_on_sandbox(sandbox_server, LONG_ENDPOINT)
            spec.deployment.name, spec.deployment.expires_after = LONG_DEPLOYMENT, "8h"
            outcome = run_deploy(spec, session=session, sink=lambda event: None)
            assert outcome.status == "succeeded", outcome.summary
            # More endpoints than the list has rows at 80x24, listed before it: the user scrolls to it (CI's shared
            # sandbox holds other tests' endpoints too; this makes the scroll happen whichever tests ran first).
            endpoints = session_endpoints(spec, session)
            fillers = [f"a-filler-{i:02d}" for i in range(FILLERS)]
            for name in fillers:
                endpoints.create_or_update_endpoint(name, "key")
            yield spec, session
            for name in [spec.endpoint.name, *fillers]:
                try:
                    endpoints.delete(name)
                except RdeployError:
                    pass


def session_endpoints(spec, session):
    from rdeploy_tui.azure import Endpoints, Workspace

    ws = spec.workspace
    return Endpoints(Workspace.open(session, ws.subscription_id, ws.resource_group, ws.name))


async def _endpoints_list(pilot, app) -> ManageScreen:
    """The list as the wizard opens it, its prices read (by its worker) and the long-named endpoint selected."""
    screen = ManageScreen()
    app.push_screen(screen)
    await wait_for(pilot, lambda: LONG_ENDPOINT in screen.infos and LONG_ENDPOINT in screen.bills, timeout=120)
    table = screen.query_one("#endpoints", DataTable)
    table.focus()
    # as a user reaches it: the session's sandbox holds the endpoints of earlier tests too, so it may be far down
    for _ in range(table.row_count):
        if screen.selected_name() == LONG_ENDPOINT:
            break
        await pilot.press("down")
    await settle(pilot)
    assert screen.selected_name() == LONG_ENDPOINT
    return screen


def endpoint_row(text: str) -> str:
    """The list's row of LONG_ENDPOINT (not the details below it: its name and a colon, the scoring URI)."""
    rows = [line for line in text.splitlines() if f" {LONG_ENDPOINT} " in line]
    assert rows, f"{LONG_ENDPOINT} is not in view in the list:\n{text}"
    return rows[0]


OPENED_BY = {  # a key on the list, and what the screen or dialog it opens must show: its next action
    "s": ("Send", "esc Endpoints"),
    "l": ("Logs of", "esc Endpoints"),
    "h": ("esc Back", "w Window"),
    "t": ("Save", "Cancel"),
    "x": ("Type the endpoint's name", "Delete endpoint", "Keep"),
    "f1": ("Esc closes",),
}


@pytest.mark.sandbox
@pytest.mark.r
@pytest.mark.parametrize("key", [None, *OPENED_BY])
async def test_the_endpoints_list_and_what_it_opens_fit(long_named_endpoint, key):
    spec, session = long_named_endpoint
    app = make_app("score", spec=spec.copy(), screens={"score": ScoringScreen(autostart=False)}, azure=session)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        screen = await _endpoints_list(pilot, app)
        if key is None:
            text = assert_fits(app, "s Score", "n New deploy", "Quit")
            row = endpoint_row(text)
            assert "USD" in row or "$" in row, row  # what it bills per hour, in its row
            assert "7h" in row or "8h" in row, row  # and when it expires
            uri = screen.infos[LONG_ENDPOINT].scoring_uri
            assert uri.replace("/", "") in text.replace("\n", "").replace(" ", "").replace("/", ""), text
            # read again (r): the selected endpoint stays selected, and in view
            read = screen.infos
            await pilot.press("r")
            await wait_for(pilot, lambda: screen.infos is not read and not screen.loading)
            await settle(pilot)
            assert screen.selected_name() == LONG_ENDPOINT
            endpoint_row(visible_text(app))
            return
        await pilot.press(key)
        shows = OPENED_BY[key]
        try:
            await wait_for(pilot, lambda: app.screen is not screen and all(s in visible_text(app) for s in shows))
        except AssertionError:
            raise AssertionError(f"{key} shows not {shows}:\n{visible_text(app)}") from None
        await settle(pilot)
        assert_fits(app, *shows)


# -- an update from the list: the rollout screen running, its roll-back question, its outcome ------------------------
async def _press_until(pilot, key: str, shown: str, timeout: float = 120) -> None:
    """Press `key` (F2 on each update step) and wait until `shown` is on screen."""
    await pilot.press(key)
    try:
        await wait_for(pilot, lambda: shown in visible_text(pilot.app), timeout=timeout)
    except AssertionError:
        raise AssertionError(f"after {key}, not {shown!r}:\n{visible_text(pilot.app)}") from None
    await settle(pilot)


@pytest.mark.sandbox
@pytest.mark.r
async def test_a_rollout_its_roll_back_question_and_its_outcome_fit(long_named_endpoint):
    spec, session = long_named_endpoint
    app = make_app("score", spec=spec.copy(), screens={"score": ScoringScreen(autostart=False)}, azure=session)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        await _endpoints_list(pilot, app)
        await _press_until(pilot, "u", "1 Model")  # the update flow: model, packages, script, size, review
        await _press_until(pilot, "f2", "always included")
        await _press_until(pilot, "f2", "Preview of src/plumber.R")
        await _press_until(pilot, "f2", "New deployment's name")
        assert_fits(app, "F2 Next")
        await _press_until(pilot, "f2", "Roll out")
        assert_fits(app, "Roll out")
        await _press_until(pilot, "f2", "stage-", timeout=300)  # the rollout running
        assert_fits(app, "b Roll back", "h Hold", "Stop / endpoints")
        await pilot.press("b")  # asks first, unless the rollout's own checks rolled it back already (a slow machine)
        await wait_for(pilot, lambda: any(s in visible_text(app) for s in ("Keep rolling out", "rolled-back")))
        if "Keep rolling out" in visible_text(app):
            await settle(pilot)
            assert_fits(app, "Roll back now?", "Keep rolling out")
            await pilot.press("y")
        await wait_for(pilot, lambda: "rolled-back" in visible_text(app), timeout=120)
        await settle(pilot)
        text = assert_fits(app, "rolled-back. Esc: back", "esc")
        assert "bills" in text  # the outcome says what still bills, on screen


# -- dialogs ---------------------------------------------------------------------------------------------------------
@pytest.mark.sandbox
@pytest.mark.r
async def test_an_azure_refusal_fits_its_dialog_with_close_on_screen(long_named_endpoint, sandbox):
    """A 403 (its message, the role to ask for and the az command that grants it) when saving the traffic."""
    spec, session = long_named_endpoint
    app = make_app("score", spec=spec.copy(), screens={"score": ScoringScreen(autostart=False)}, azure=session)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, first=True)
        await _endpoints_list(pilot, app)
        await _press_until(pilot, "t", "Save")
        sandbox.faults.arm("authorization-failed", count=1, match=r"(PUT|PATCH) .*/onlineEndpoints/")
        await _press_until(pilot, "enter", "You do not have permission")
        text = assert_fits(app, "Close")
        assert "MachineLearningServices/workspaces/" in text and "(Workspace step)s" not in text  # Azure's words


async def test_the_cancel_and_quit_questions_of_a_running_deploy_fit():
    screen = DeployScreen(run=RecordedRun([]))
    app = make_app("review", spec=_long_spec(), screens={"deploy": screen})
    async with app.run_test(size=SMALL) as pilot:
        await _deploy(pilot, screen, "running")
        await _press_until(pilot, "ctrl+x", "Keep deploying")
        assert_fits(app, "Cancel the deployment?", "Cancel deploy", "Keep deploying")
        await pilot.press("escape")  # keeps deploying
        await wait_for(pilot, lambda: app.screen is screen)
        await _press_until(pilot, "f10", "Quit anyway?")
        assert_fits(app, "Quit anyway?")


async def test_a_long_failure_keeps_its_cause_and_the_resume_key_in_view():
    """Azure's longest failures (a quota message naming the family, the region and the portal page) above the cause:
    the failing line and F2 Resume stay visible, the rest a scroll away in the failure's box."""
    from rdeploy_tui.pipeline.events import LogLines, StepFailed, StepStarted

    cause = "ERROR: compilation failed for package ‘data.table’ (gcc: fatal error: Killed signal terminated cc1plus)"
    what = (
        f"The deployment {LONG_DEPLOYMENT} of endpoint {LONG_ENDPOINT} failed: the image build in "
        "acrrdeploysandboxws0123456789.azurecr.io ended with status Failed after 14m 32s, while the endpoint was "
        "created beside it; the build's agent ran out of memory compiling a package from source. " * 2
    )
    log = [f"Step 5/9 : RUN Rscript install_packages.R (line {i})" for i in range(200)] + [cause, "Execution halted"]
    events = [
        LogLines("build-image", "build", tuple(log)),
        StepStarted("build-image", "Build image", 0.0),
        StepFailed("build-image", what, "Read the build log. " * 6, "\n".join(log[-20:]), "BuildFailed", 1.0, cause),
    ]
    spec = _long_spec()
    left = (
        f"Deploy failed. Left behind: endpoint {LONG_ENDPOINT} exists (an endpoint without deployments does not bill "
        f"compute); rdeploy-tui --sandbox endpoints delete {LONG_ENDPOINT} deletes it."
    )
    screen = DeployScreen(run=RecordedRun(events, deploy_outcome("failed", spec, summary=left)))
    app = make_app("review", spec=spec, screens={"deploy": screen})
    async with app.run_test(size=SMALL) as pilot:
        await _deploy(pilot, screen, "failed")
        text = assert_fits(app, "Failing line: ERROR: compilation failed for package", "F2 Resume")
        assert "Score" not in footer_line(app)
        assert sum(cause[:40] in line for line in text.splitlines()) >= 1


# -- the model step's "Test locally, then register": its outcome in view ---------------------------------------------
@pytest.mark.sandbox
@pytest.mark.r
async def test_registering_a_model_shows_its_outcome_without_scrolling(sandbox, tmp_path):
    import shutil

    from sandbox_specs import connection_on, spec_on_sandbox
    from textual.widgets import OptionList

    from rdeploy_tui.deploy_folder.sample_model import sample_crate_path
    from rdeploy_tui.ui.screens.model import REGISTER

    folder = tmp_path / "weekly-demand-per-store-forecast-model-folder"
    folder.mkdir()
    shutil.copy(sample_crate_path(), folder / "crate.bin")
    with connection_on(sandbox) as session:
        spec = spec_on_sandbox(sandbox, LONG_ENDPOINT)  # its packages are here: the local test can pass
        app = make_app("model", spec=spec, sandbox=True, azure=session)
        async with app.run_test(size=SMALL) as pilot:
            await settle(pilot, first=True)
            options = app.screen.query_one("#models", OptionList)
            await wait_for(pilot, lambda: options.option_count > 0 and options.has_focus)
            while options.highlighted_option is None or options.highlighted_option.id != REGISTER:
                await pilot.press("down")  # the last entry: register a new model
            await _press_until(pilot, "tab", "Model folder")
            name = f"weekly-demand-{tmp_path.name[-6:]}"
            await pilot.press(*str(folder))
            await pilot.press("tab")
            await pilot.press(*name)
            await pilot.press("tab")  # to "Test locally, then register"
            await pilot.press("enter")
            # registered: the new model is in the list, selected (the form and its status give way to it)
            await wait_for(pilot, lambda: f"{name}  (latest: version 1)" in visible_text(app), timeout=180)
            await settle(pilot)
            assert_fits(app, f"{name}  (latest: version 1)", "F2 Next")
