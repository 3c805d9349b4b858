"""Going back to change a step after writing the folder: the review renders the files anew, says the folder holds
them as they were, and writing again puts on disk exactly what it then says it wrote (image tag included)."""

from __future__ import annotations

import re

from textual.widgets import Button, Input, OptionList
from ui_helpers import make_app, settle, wait_for

from rdeploy_tui.spec.deploy_spec import default_spec
from rdeploy_tui.ui.widgets.code_view import CodeView


def _said(app) -> str:
    return str(app.screen.query_one("#write-result").render())


async def _write(pilot, folder) -> None:
    screen = pilot.app.screen
    screen.query_one("#out-dir-input", Input).value = str(folder)  # a long value: set, not typed
    screen.query_one("#write", Button).focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: _said(pilot.app).startswith("Wrote "))


async def _show_file(pilot, name: str) -> str:
    files = pilot.app.screen.query_one("#review-files", OptionList)
    files.focus()
    while files.highlighted_option is None or files.highlighted_option.id != name:
        await pilot.press("down")
    view = pilot.app.screen.query_one("#review-view", CodeView)
    await wait_for(pilot, lambda: view.text == pilot.app.screen.rendered.text(name))
    return view.text


async def test_a_package_added_after_writing_shows_in_the_review_and_on_disk_once_written_again(tmp_path):
    spec = default_spec()
    spec.image.r_packages = ["forecast"]
    out = tmp_path / "r-deploy-azureml"
    app = make_app("review", spec=spec, registry="acr.azurecr.io")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, first=True)
        await _write(pilot, out)
        first = re.search(r"\(image (r-forecast:\w+)\)", _said(app)).group(1)
        assert _said(app).startswith(f"Wrote 9 files to {out} (image {first}).")
        assert first in (out / "deployment.yml").read_text()

        for step in ("endpoint", "script", "packages"):  # Back, three times
            await pilot.press("escape")
            await wait_for(pilot, lambda step=step: app.step == step)
        await settle(pilot)
        await pilot.press(*"zoo", "enter")  # the package field has the focus
        await wait_for(pilot, lambda: "zoo" in app.screen.packages)
        for step in ("script", "endpoint", "review"):  # Next, three times
            await pilot.press("f2")
            await wait_for(pilot, lambda step=step: app.step == step)
        await settle(pilot)

        # The review shows the files as they are now; the folder still holds the old ones, and it says so.
        assert "zoo" in await _show_file(pilot, "docker-context/install_packages.R")
        second = app.screen.rendered.image_name
        assert second != first
        assert _said(app) == (
            f"{out} holds the files as written before your changes (image {first}); the files are now image "
            f"{second}: Write folder again."
        )
        assert "zoo" not in (out / "docker-context" / "install_packages.R").read_text()

        await _write(pilot, out)
        assert _said(app).startswith(f"Wrote 9 files to {out} (image {second}).")
    # What it says it wrote is what is on disk.
    assert "zoo" in (out / "docker-context" / "install_packages.R").read_text()
    assert second in (out / "deployment.yml").read_text() and first not in (out / "deployment.yml").read_text()
    assert "zoo" in (out / "rdeploy.yaml").read_text()
