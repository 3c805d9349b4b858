"""Where am I: the current flow's steps on one line (ui/flow.py), the current one highlighted."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from rdeploy_tui.ui.flow import DEPLOY_FLOW, FLOWS, Flow


class StepIndicator(Widget):
    """`1 Sign-in › 2 Workspace › …` when it fits, else the numbers and the current title."""

    DEFAULT_CSS = """
    StepIndicator { height: 1; width: 1fr; }
    """

    def __init__(self, current: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.current = current  # the step's name in the flow table

    def on_mount(self) -> None:
        # The same screen serves the deploy flow and the update flow: its line follows the app's flow.
        if hasattr(self.app, "flow"):
            self.watch(self.app, "flow", self._flow_changed, init=False)

    def _flow_changed(self, _flow: Flow) -> None:
        self.refresh()

    @property
    def flow(self) -> Flow:
        """The app's flow, or the one that has this step when the app's does not (a screen shown on its own)."""
        flow = getattr(self.app, "flow", DEPLOY_FLOW)
        return flow if self.current in flow else next(f for f in FLOWS if self.current in f)

    def render(self) -> Text:
        width = self.size.width or 80
        full = self._line(labels=True)
        return full if full.cell_len <= width else self._line(labels=False)

    def _line(self, labels: bool) -> Text:
        flow = self.flow
        current = flow.index(self.current)
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, step in enumerate(flow.steps):
            if i:
                text.append("›" if labels else " ", style="dim")
            name = f" {i + 1} {step.label} " if labels else f" {i + 1} "
            if i == current:
                text.append(name, style="bold reverse")
            elif i < current:
                text.append(name, style="green")
            else:
                text.append(name, style="dim")
        if not labels:
            text.append("  " + flow.steps[current].title, style="bold")
        return text
