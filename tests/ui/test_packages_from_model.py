"""Issue 13.4 in the wizard: once the model is chosen, the packages step reads its crate.bin with R and prefills itself,
each package marked "used by the model". A registered model's files are downloaded first, with the real SDK from the
sandbox's blob storage, to the user's cache folder; without R it says so at the step and downloads nothing."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from sandbox_specs import connection_on
from textual.widgets import OptionList, Static
from ui_helpers import make_app, settle, wait_for

from rdeploy_tui.ui.screens.packages import PackagesScreen

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

# A crate as carrier::crate builds one: a function whose environment (child of base) holds its values.
MAKE_CRATE = r"""
env <- new.env(parent = baseenv())
env$encode <- function(x) jsonlite::toJSON(x)
f <- function(h) { series <- zoo::zoo(h); encode(stats::sd(series)) }
environment(f) <- env
out <- commandArgs(trailingOnly = TRUE)[[1]]
dir.create(file.path(out, "models"), recursive = TRUE)
saveRDS(serialize(f, NULL), file.path(out, "models", "crate.bin"))
"""


def _registered(sandbox, folder):
    """`folder` registered as a new model in the sandbox's workspace with the real SDK (as `az ml model create`
    does)."""
    from rdeploy_tui.azure import Workspace

    session = connection_on(sandbox)
    name = f"zoo-model-{uuid.uuid4().hex[:8]}"
    Workspace.open(session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name).register_model(
        folder, name
    )
    return session, name


def _status(screen) -> str:
    return str(screen.query_one("#crate-result", Static).render())


async def _on_packages_step(pilot, name: str) -> PackagesScreen:
    """From the model step: the registered model `name` (preselected from the spec) chosen, Next."""
    await settle(pilot, first=True)
    models = pilot.app.screen
    options = models.query_one("#models")
    await wait_for(
        pilot,
        lambda: (
            options.highlighted_option is not None
            and options.highlighted_option.id == name
            and not models.query_one("#next").disabled
        ),
        timeout=120,
    )
    await pilot.press("f2")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PackagesScreen))
    return pilot.app.screen


@pytest.mark.r
async def test_the_chosen_models_packages_prefill_the_step_marked(sandbox_server, tmp_path, rdeploy_home):
    from sandbox_specs import spec_on_sandbox

    folder = tmp_path / "zoo-model"
    made = subprocess.run(["Rscript", "-e", MAKE_CRATE, str(folder)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    session, name = _registered(sandbox_server, folder)
    spec = spec_on_sandbox(sandbox_server, "unused-endpoint")
    spec.model.name, spec.image.r_packages = name, ["forecast", "zoo"]  # the user's own list, from a last run
    app = make_app("model", spec=spec, sandbox=True, azure=session)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _on_packages_step(pilot, name)
        await wait_for(pilot, lambda: _status(screen).startswith(f"Model {name} version 1 (a crate) uses"), timeout=120)
        assert _status(screen) == f"Model {name} version 1 (a crate) uses jsonlite, zoo; added jsonlite."
        labels = [str(o.prompt) for o in screen.query_one("#package-list", OptionList).options]
        assert labels == [
            "plumber  (always included)",
            "carrier  (always included)",
            "forecast",
            "zoo  (used by the model)",
            "jsonlite  (used by the model)",
        ]
        await pilot.press("f2")  # the prefilled list is what the spec takes
        await wait_for(pilot, lambda: not isinstance(app.screen, PackagesScreen))
        assert app.state.spec.image.r_packages == ["forecast", "zoo", "jsonlite"]
    # Read from the registered version's own files, downloaded once to this user's cache folder
    downloaded = list((rdeploy_home / "cache" / "models").rglob("crate.bin"))
    assert [p.read_bytes() for p in downloaded] == [(folder / "models" / "crate.bin").read_bytes()]


async def test_without_r_the_step_says_so_and_downloads_nothing(sandbox_server, tmp_path, rdeploy_home, monkeypatch):
    from sandbox_specs import spec_on_sandbox

    folder = tmp_path / "model"
    (folder / "models").mkdir(parents=True)
    (folder / "models" / "crate.bin").write_bytes(b"a crate R would read")
    session, name = _registered(sandbox_server, folder)
    monkeypatch.setenv("RDEPLOY_RSCRIPT", "")  # no R on this machine
    spec = spec_on_sandbox(sandbox_server, "unused-endpoint")
    spec.model.name, spec.image.r_packages = name, ["forecast"]
    app = make_app("model", spec=spec, sandbox=True, azure=session)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _on_packages_step(pilot, name)
        await wait_for(pilot, lambda: _status(screen).startswith("Could not read"), timeout=60)
        assert _status(screen) == (
            f"Could not read the packages model {name} version 1 uses: R is not installed here "
            "(no Rscript). Add them by hand."
        )
        assert screen.packages == ["forecast"] and not screen.from_model  # never a guess
    assert not (rdeploy_home / "cache" / "models").exists()
