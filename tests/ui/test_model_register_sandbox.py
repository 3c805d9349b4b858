"""Registering a model from the wizard against the sandbox, through the real SDK (ml_client.models
.create_or_update) after a real local test with R on the folder (issue 14 part 3)."""

from __future__ import annotations

import os
import shutil

import pytest
from sandbox_specs import connection_on
from textual.widgets import OptionList
from ui_helpers import make_app, settle, wait_for

from rdeploy_tui.deploy_folder.sample_model import sample_crate_path
from rdeploy_tui.ui.screens.model import REGISTER
from rdeploy_tui.ui.screens.packages import PackagesScreen
from rdeploy_tui.ui.widgets.field import Field

pytestmark = [pytest.mark.sandbox, pytest.mark.r]


async def test_register_a_new_model_from_a_folder_after_a_local_test(sandbox_server, tmp_path, rdeploy_home):
    from sandbox_specs import spec_on_sandbox

    from rdeploy_tui.azure import Workspace

    folder = tmp_path / "my-crate"
    folder.mkdir()
    shutil.copy(sample_crate_path(), folder / "crate.bin")
    name = f"wizard-model-{os.getpid() % 10000}"
    session = connection_on(sandbox_server)
    app = make_app("model", spec=spec_on_sandbox(sandbox_server, "unused-endpoint"), sandbox=True, azure=session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, first=True)
        screen = app.screen
        options = screen.query_one("#models", OptionList)
        await wait_for(pilot, lambda: options.option_count > 0 and options.has_focus)  # listed: the list has the focus
        while options.highlighted_option is None or options.highlighted_option.id != REGISTER:
            await pilot.press("down")  # to the last entry: register a new model
        await wait_for(pilot, lambda: not screen.query_one("#register-form").has_class("-hidden"))
        # never the highlighted model's name: registering a name again would add a version to that model
        assert screen.query_one("#register-name", Field).value == ""
        screen.query_one("#register-dir", Field).set_text(str(folder))
        screen.query_one("#register-name", Field).set_text(name)
        await settle(pilot)
        screen.query_one("#register").press()
        await wait_for(
            pilot,
            lambda: (
                "Registered " in str(screen.query_one("#register-status").render())
                or "Not registered" in str(screen.query_one("#register-status").render())
            ),
            timeout=180,
        )
        assert str(screen.query_one("#register-status").render()) == f"Registered a crate as model {name} version 1."
        # The new model is in the list, selected, with its version: Next may go on.
        await wait_for(pilot, lambda: not screen.query_one("#next").disabled)
        assert options.highlighted_option.id == name
        # Next: the packages step reads the crate where it was registered from (issue 13.4), nothing downloaded.
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, PackagesScreen))
        status = app.screen.query_one("#crate-result")
        await wait_for(pilot, lambda: str(status.render()).startswith(f"Model {name} version 1 (a crate)"), timeout=120)
        assert str(status.render()) == f"Model {name} version 1 (a crate) uses no packages beyond base R."
        assert not (rdeploy_home / "cache" / "models").exists()
        assert app.state.spec.model.name == name
    ws = Workspace.open(
        session, sandbox_server.subscription_id, sandbox_server.resource_group, sandbox_server.workspace_name
    )
    assert ws.list_model_versions(name) == ["1"]


def _keys(text: str) -> list[str]:
    """Pilot's key names for typed text."""
    return [{"-": "minus", ".": "full_stop", "/": "slash"}.get(char, char) for char in text]


async def test_the_register_form_prefills_a_model_folder_found_here_and_says_a_registered_name_adds_a_version(
    sandbox_server, tmp_path
):
    from sandbox_specs import spec_on_sandbox

    (tmp_path / "notes").mkdir()  # a folder without a model: passed over
    (tmp_path / "churn-model").mkdir()
    shutil.copy(sample_crate_path(), tmp_path / "churn-model" / "crate.bin")
    session = connection_on(sandbox_server)
    spec = spec_on_sandbox(sandbox_server, "unused-endpoint")
    app = make_app("model", spec=spec, sandbox=True, azure=session, base_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, first=True)
        screen = app.screen
        options = screen.query_one("#models", OptionList)
        await wait_for(pilot, lambda: options.option_count > 0 and options.has_focus)
        assert spec.model.name in screen.models  # the model highlighted when the form opens
        while options.highlighted_option is None or options.highlighted_option.id != REGISTER:
            await pilot.press("down")
        await pilot.press("enter")  # into the form: the folder field has the focus
        folder, name = screen.query_one("#register-dir", Field), screen.query_one("#register-name", Field)
        await wait_for(pilot, lambda: folder.input.has_focus)
        # what a new registration needs: the folder found here and its name, never the highlighted model's
        assert (folder.text, name.text) == ("churn-model", "churn-model")
        assert folder.error is None and name.error is None
        assert not str(name.query_one(".field-message").render())
        await pilot.press("tab")  # to the name, its text selected: typing replaces it
        await wait_for(pilot, lambda: name.input.has_focus)
        await pilot.press(*_keys(spec.model.name))
        await wait_for(pilot, lambda: name.text == spec.model.name)
        said = str(name.query_one(".field-message").render())
        latest = screen.models[spec.model.name].latest_version
        assert said == f"{spec.model.name} is registered (latest: version {latest}): this adds its next version", said
        assert name.error is None  # said, not refused: a next version is what the label offers


async def test_a_crate_that_fails_the_local_test_is_not_registered(sandbox_server, tmp_path):
    from sandbox_specs import spec_on_sandbox

    from rdeploy_tui.azure import Workspace

    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "crate.bin").write_bytes(b"not an R object")
    name = f"broken-model-{os.getpid() % 10000}"
    session = connection_on(sandbox_server)
    app = make_app("model", spec=spec_on_sandbox(sandbox_server, "unused-endpoint"), sandbox=True, azure=session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, first=True)
        screen = app.screen
        options = screen.query_one("#models", OptionList)
        await wait_for(pilot, lambda: options.option_count > 0 and options.has_focus)  # listed: the list has the focus
        while options.highlighted_option is None or options.highlighted_option.id != REGISTER:
            await pilot.press("down")
        screen.query_one("#register-dir", Field).set_text(str(folder))
        screen.query_one("#register-name", Field).set_text(name)
        await settle(pilot)
        screen.query_one("#register").press()
        await wait_for(
            pilot, lambda: "Not registered" in str(screen.query_one("#register-status").render()), timeout=180
        )
        said = str(screen.query_one("#register-status").render())
        assert "crate.bin is not an R object saved with saveRDS (R says: unknown input format)" in said
        assert 'Next: save a crate with saveRDS(serialize(crate, NULL), "crate.bin")' in said
    ws = Workspace.open(
        session, sandbox_server.subscription_id, sandbox_server.resource_group, sandbox_server.workspace_name
    )
    assert name not in [m.name for m in ws.list_models()]


async def test_a_vetiver_model_registered_under_a_known_name_says_it_adds_a_version(sandbox_server, tmp_path):
    from r_models import build
    from sandbox_specs import spec_on_sandbox

    from rdeploy_tui.azure import Workspace

    session = connection_on(sandbox_server)
    ws = Workspace.open(
        session, sandbox_server.subscription_id, sandbox_server.resource_group, sandbox_server.workspace_name
    )
    name = f"cars-lm-{os.getpid() % 10000}"
    first = tmp_path / "first"
    first.mkdir()
    shutil.copy(sample_crate_path(), first / "crate.bin")
    ws.register_model(first, name)  # version 1, registered elsewhere
    board = build("vetiver-lm", tmp_path / "board")
    app = make_app("model", spec=spec_on_sandbox(sandbox_server, "unused-endpoint"), sandbox=True, azure=session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, first=True)
        screen = app.screen
        await wait_for(pilot, lambda: not screen.busy and name in screen.models)
        options = screen.query_one("#models", OptionList)
        options.highlighted = options.get_option_index(REGISTER)
        screen.query_one("#register-dir", Field).set_text(str(board))
        screen.query_one("#register-name", Field).set_text(name)
        await settle(pilot)
        field_said = str(screen.query_one("#register-name", Field).query_one(".field-message").render())
        assert field_said == f"{name} is registered (latest: version 1): this adds its next version"  # before it does
        screen.query_one("#register").press()
        status = screen.query_one("#register-status")
        await wait_for(pilot, lambda: "egistered" in str(status.render()), timeout=180)
        assert str(status.render()) == (
            f"Registered a vetiver lm model as model {name} version 2 "
            f"({name} already had version 1: registering a name again adds a version)."
        )
        await wait_for(pilot, lambda: screen.versions_for == name and not screen.problems())
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, PackagesScreen))
        result = app.screen.query_one("#crate-result")
        await wait_for(pilot, lambda: " uses " in str(result.render()), timeout=120)
        assert str(result.render()) == f"Model {name} version 2 (a vetiver lm model) uses no packages beyond base R."
    assert (app.state.spec.model.kind, app.state.spec.model.file) == (
        "vetiver",
        "20261127T101500Z-1a2b3/cars-lm.rds",
    )
