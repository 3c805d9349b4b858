"""On open, expired endpoints (deploy --expires-after) come first and one key (e, then y) deletes them."""

from __future__ import annotations

from textual.widgets import DataTable, Static
from ui_helpers import make_app, wait_for

from rdeploy_tui.azure.online import DeploymentInfo, EndpointInfo
from rdeploy_tui.pipeline.expiry import TAG
from rdeploy_tui.ui.screens.manage import ManageScreen
from rdeploy_tui.ui.screens.scoring import ScoringScreen

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


class Source:
    label = "workspace ws-ml (rg-ml)"

    def __init__(self) -> None:
        dep = DeploymentInfo("blue", "Succeeded", "Standard_DS3_v2", 1, None, None)
        self.found = [
            EndpointInfo(
                "a-live",
                "Succeeded",
                "key",
                None,
                {"blue": 100},
                "westeurope",
                (dep,),
                tags={TAG: "2023-11-15T06:00:00Z"},
            ),
            EndpointInfo("b-plain", "Succeeded", "key", None, {"blue": 100}, "westeurope", (dep,)),
            EndpointInfo(
                "z-old",
                "Succeeded",
                "key",
                None,
                {"blue": 100},
                "westeurope",
                (dep,),
                tags={TAG: "2023-11-14T20:00:00Z"},
            ),
        ]
        self.deleted: list[str] = []

    def endpoints(self):
        return [e for e in self.found if e.name not in self.deleted]

    def delete_endpoint(self, name):
        self.deleted.append(name)


async def test_expired_endpoints_come_first_and_e_deletes_them():
    source = Source()
    app = make_app("score", screens={"score": ScoringScreen(autostart=False)})
    async with app.run_test(size=(120, 40)) as pilot:
        screen = ManageScreen(source, clock=lambda: NOW)
        app.push_screen(screen)
        await wait_for(pilot, lambda: bool(screen.infos), 10)
        table = screen.query_one("#endpoints", DataTable)
        assert [str(table.coordinate_to_cell_key((row, 0)).row_key.value) for row in range(table.row_count)] == [
            "z-old",
            "a-live",
            "b-plain",
        ]
        assert "1 expired (listed first): e deletes them." in str(screen.query_one("#manage-status", Static).render())
        table.focus()
        await pilot.press("e")
        await pilot.press("y")
        await wait_for(pilot, lambda: source.deleted == ["z-old"] and "z-old" not in screen.infos, 10)
        assert not screen.expired
