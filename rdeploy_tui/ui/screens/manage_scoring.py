"""Scoring an endpoint picked in the management screen: the same panel the wizard ends on."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

from rdeploy_tui.ui.widgets.footer import KeysFooter
from rdeploy_tui.ui.widgets.scoring_panel import ScoringPanel


class ManageScoringScreen(Screen):
    DEFAULT_CSS = """
    ManageScoringScreen { layout: vertical; }
    ManageScoringScreen #manage-score-title { height: 1; padding: 0 1; background: $panel; text-style: bold;
                                              text-overflow: ellipsis; text-wrap: nowrap; }
    ManageScoringScreen ScoringPanel { padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Endpoints", id="scoring.close"),
        Binding("ctrl+s,f9", "send", "Send", priority=True, id="send"),
    ]

    def __init__(self, source: Any, info: Any) -> None:
        super().__init__()
        self.source = source
        self.info = info

    def compose(self) -> ComposeResult:
        info = self.info
        yield Static(f"Score {info.name} ({info.auth_mode})", id="manage-score-title", markup=False)
        yield ScoringPanel(
            info.name,
            lambda: self.source.target(info.name),
            deployments=[d.name for d in info.deployments],
            sample=self.source.sample_for(info.name),
            score_route=self.source.score_route(info.name),
            id="scoring-panel",
        )
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(ScoringPanel).editor.focus()

    def action_send(self) -> None:
        self.query_one(ScoringPanel).action_send()

    def action_close(self) -> None:
        self.app.pop_screen()
