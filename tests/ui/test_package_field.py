"""Issue 13.5 in the wizard: a likely typo of a CRAN name is flagged at the packages field (a warning: the shipped
list of names is partial, so it never blocks)."""
from __future__ import annotations

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
