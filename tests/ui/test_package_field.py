"""Issue 13.5 in the wizard: a likely typo of a CRAN name is flagged at the packages field (a warning: the shipped
list of names is partial, so it never blocks)."""
from __future__ import annotations

import pytest

from test_forms import field_message, next_blocked, set_field
from ui_helpers import make_app, started

from rdeploy_tui.spec.deploy_spec import default_spec
from rdeploy_tui.ui.screens.packages import PackagesScreen


async def test_a_likely_typo_is_flagged_but_not_blocked():
    app = make_app(3, spec=default_spec())
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = app.screen
        assert isinstance(screen, PackagesScreen)
        await set_field(pilot, screen, "package", "forcast")
        assert "did you mean forecast" in field_message(screen, "package")
        assert not next_blocked(screen)
        await set_field(pilot, screen, "package", "notapkg123")  # the partial list cannot tell: nothing said
        assert field_message(screen, "package") == ""


@pytest.mark.r
async def test_the_packages_a_crate_uses_are_read_and_marked(tmp_path):
    import subprocess

    from textual.widgets import Input, OptionList, Static

    from ui_helpers import wait_for

    make = ("env <- new.env(parent = baseenv()); f <- function(h) zoo::zoo(h); environment(f) <- env; "
            f"dir.create('{tmp_path}/models'); saveRDS(serialize(f, NULL), '{tmp_path}/models/crate.bin')")
    assert subprocess.run(["Rscript", "-e", make], capture_output=True, timeout=60).returncode == 0
    spec = default_spec()
    spec.image.r_packages = ["forecast"]
    app = make_app(3, spec=spec)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = app.screen
        screen.query_one("#crate-dir", Input).value = str(tmp_path)
        await pilot.click("#read-crate")
        await wait_for(pilot, lambda: "The model uses" in str(screen.query_one("#crate-result", Static).render()))
        assert screen.packages == ["forecast", "zoo"]
        labels = [str(o.prompt) for o in screen.query_one("#package-list", OptionList).options]
        assert "zoo  (used by the model)" in labels
