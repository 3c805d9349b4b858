"""Issue 13.5 in the wizard: a likely typo of a CRAN name is flagged at the packages field (a warning: the shipped
list of names is partial, so it never blocks)."""

from __future__ import annotations

import pytest
from test_forms import field_message, next_blocked, set_field
from ui_helpers import make_app, started

from rdeploy_tui.spec.deploy_spec import default_spec
from rdeploy_tui.ui.screens.packages import PackagesScreen


async def test_a_likely_typo_is_flagged_but_not_blocked():
    app = make_app("packages", spec=default_spec())
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = app.screen
        assert isinstance(screen, PackagesScreen)
        await set_field(pilot, screen, "package", "forcast")
        assert "did you mean forecast" in field_message(screen, "package")
        assert not next_blocked(screen)
        await set_field(pilot, screen, "package", "notapkg123")  # the partial list cannot tell: nothing said
        assert field_message(screen, "package") == ""


async def test_ctrl_d_removes_the_package_just_added_from_the_add_field_that_keeps_the_focus():
    app = make_app("packages", spec=default_spec())
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = app.screen
        field = screen.query_one("#package-input")
        assert field.has_focus  # where the step opens, and where typing a name then Enter leaves it
        await pilot.press("z", "o", "o", "enter")
        assert screen.packages == ["zoo"] and field.has_focus
        await pilot.press("ctrl+d")  # as the Remove (ctrl+d) button says
        assert screen.packages == [] and field.has_focus


@pytest.mark.r
async def test_the_packages_a_crate_uses_are_read_and_marked(tmp_path):
    import subprocess

    from textual.widgets import Input, OptionList, Static
    from ui_helpers import wait_for

    make = (
        "env <- new.env(parent = baseenv()); f <- function(h) zoo::zoo(h); environment(f) <- env; "
        f"dir.create('{tmp_path}/models'); saveRDS(serialize(f, NULL), '{tmp_path}/models/crate.bin')"
    )
    assert subprocess.run(["Rscript", "-e", make], capture_output=True, timeout=60).returncode == 0
    spec = default_spec()
    spec.image.r_packages = ["forecast"]
    app = make_app("packages", spec=spec)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = app.screen
        screen.query_one("#crate-dir", Input).value = str(tmp_path)
        await pilot.click("#read-crate")
        await wait_for(pilot, lambda: " uses " in str(screen.query_one("#crate-result", Static).render()))
        assert (
            str(screen.query_one("#crate-result", Static).render())
            == f"The model under {tmp_path} (a crate) uses zoo; added zoo."
        )
        assert screen.packages == ["forecast", "zoo"]
        labels = [str(o.prompt) for o in screen.query_one("#package-list", OptionList).options]
        assert "zoo  (used by the model)" in labels


@pytest.mark.r
async def test_a_vetiver_model_read_here_records_its_kind_and_lists_what_its_kind_installs(tmp_path):
    """Issue 27: any model a user has. Reading a vetiver pin makes the spec's model a vetiver one (what the generated
    API serves), lists its required packages marked, and its kind's own packages (plumber, yaml) as always included."""
    from r_models import build
    from textual.widgets import Input, OptionList, Static
    from ui_helpers import wait_for

    board = build("vetiver-ranger", tmp_path / "board")
    spec = default_spec()
    app = make_app("packages", spec=spec)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = app.screen
        screen.query_one("#crate-dir", Input).value = str(board)
        await pilot.click("#read-crate")
        await wait_for(pilot, lambda: " uses " in str(screen.query_one("#crate-result", Static).render()))
        assert (
            str(screen.query_one("#crate-result", Static).render())
            == f"The model under {board} (a vetiver ranger model) uses ranger; added ranger."
        )
        labels = [str(o.prompt) for o in screen.query_one("#package-list", OptionList).options]
        assert labels == ["plumber  (always included)", "yaml  (always included)", "ranger  (used by the model)"]
        assert "generated API itself uses are always included" in str(screen.query_one("#packages-hint").render())
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.screen is not screen)
    model = app.state.spec.model
    assert (model.kind, model.file) == ("vetiver", "cars-rf.rds")
    assert app.state.spec.scoring.sample_request == [{"speed": 0}]
    assert app.state.spec.image.r_packages == ["ranger"]


async def test_a_read_that_ends_after_the_step_was_left_reaches_the_spec_and_says_so(monkeypatch):
    """The crate is read in a worker: Next is never held for it. When its answer comes after the user moved on, the
    spec still gets the packages (typed ones kept), and a notification says what was added."""
    from ui_helpers import toasts, wait_for

    from rdeploy_tui.local.model_reader import ModelReading
    from rdeploy_tui.ui.screens.packages import CrateRead
    from rdeploy_tui.ui.wizard_state import ChosenModel

    # The worker (R, or a download first) is replaced: its answer is posted below, as the worker posts it.
    monkeypatch.setattr(PackagesScreen, "read_packages", lambda self, source: None)
    spec = default_spec()
    spec.image.r_packages = ["forecast"]
    chosen = ChosenModel(("sub", "rg", "ws"), "forecast-model", "2")
    app = make_app("packages", spec=spec, chosen_model=chosen)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await started(pilot)
        screen = app.screen
        status = screen.query_one("#crate-result")
        await wait_for(
            pilot, lambda: "Reading the packages model forecast-model version 2 uses" in str(status.render())
        )
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.step == "script")
        screen.post_message(CrateRead(chosen, ModelReading(["zoo"])))
        await wait_for(pilot, lambda: app.state.spec.image.r_packages == ["forecast", "zoo"])
        await wait_for(pilot, lambda: "Model forecast-model version 2 uses zoo; added zoo." in toasts(app))


async def test_read_reads_the_chosen_model_again_or_the_folder_typed_beside_it(monkeypatch):
    from textual.widgets import Input
    from ui_helpers import FIXTURES, wait_for

    from rdeploy_tui.ui.wizard_state import ChosenModel

    asked = []  # what the worker was asked to read (it would start R)
    monkeypatch.setattr(PackagesScreen, "read_packages", lambda self, source: asked.append(source))
    chosen = ChosenModel(("sub", "rg", "ws"), "forecast-model", "2")
    app = make_app("packages", spec=default_spec(), chosen_model=chosen)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = app.screen
        await wait_for(pilot, lambda: asked == [chosen])  # read as the step opened
        screen.query_one("#crate-dir", Input).focus()
        await pilot.press("enter")  # Read, nothing typed: the chosen model again
        await wait_for(pilot, lambda: asked == [chosen, chosen])
        await pilot.press(*"my-model", "enter")  # a folder typed: that folder, relative to the wizard's folder
        await wait_for(pilot, lambda: asked == [chosen, chosen, FIXTURES / "my-model"])
