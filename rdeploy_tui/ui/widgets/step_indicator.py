"""Where am I: the wizard's steps on one line, the current one highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

# (short label, title) of each wizard step, in order.
STEPS: tuple[tuple[str, str], ...] = (
    ("Sign-in", "Sign-in and subscription"),
    ("Workspace", "Workspace and registry"),
    ("Model", "Model and version"),
    ("Packages", "R packages"),
    ("Script", "Scoring script"),
    ("Endpoint", "Endpoint and deployment"),
    ("Review", "Review"),
    ("Deploy", "Build and deploy"),
    ("Score", "Score"),
)


class StepIndicator(Widget):
    """`1 Sign-in › 2 Workspace › …` when it fits, else the numbers and the current title."""

    DEFAULT_CSS = """
    StepIndicator { height: 1; width: 1fr; }
    """

    def __init__(self, current: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.current = current  # 0-based index into STEPS

    def render(self) -> Text:
        width = self.size.width or 80
        full = self._line(labels=True)
        return full if full.cell_len <= width else self._line(labels=False)

    def _line(self, labels: bool) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, (label, _title) in enumerate(STEPS):
            if i:
                text.append("›" if labels else " ", style="dim")
            name = f" {i + 1} {label} " if labels else f" {i + 1} "
            if i == self.current:
                text.append(name, style="bold reverse")
            elif i < self.current:
                text.append(name, style="green")
            else:
                text.append(name, style="dim")
        if not labels:
            text.append("  " + STEPS[self.current][1], style="bold")
        return text
