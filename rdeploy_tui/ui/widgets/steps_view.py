"""The deploy plan's steps: status, title, elapsed time and the latest progress line of each."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.widget import Widget

ICONS = {
    "pending": ("·", "dim"),
    "running": ("▶", "bold yellow"),
    "done": ("✓", "bold green"),
    "skipped": ("↷", "green"),
    "failed": ("✗", "bold red"),
    "cancelled": ("■", "yellow"),
}


def elapsed_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@dataclass
class StepRow:
    id: str
    title: str
    status: str = "pending"
    started: float | None = None
    finished: float | None = None
    message: str = ""


class StepsView(Widget):
    DEFAULT_CSS = """
    StepsView { height: auto; }
    """

    def __init__(self, rows: list[StepRow], *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows = {r.id: r for r in rows}
        self.clock = clock  # tests pin it so snapshots show fixed times

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        if any(r.status == "running" for r in self.rows.values()):
            self.refresh()

    def update_step(self, step_id: str, **changes: object) -> None:
        row = self.rows.get(step_id)
        if row is None:  # a step the plan did not list (e.g. a resume check): show it anyway
            row = self.rows[step_id] = StepRow(step_id, step_id)
        for key, value in changes.items():
            setattr(row, key, value)
        self.refresh(layout=True)

    def render(self) -> Table:
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(width=1)
        table.add_column(ratio=1)
        table.add_column(justify="right", width=6)
        now = self.clock()
        for row in self.rows.values():
            icon, style = ICONS.get(row.status, ("?", ""))
            if row.started is None:
                elapsed = ""
            else:
                elapsed = elapsed_text((row.finished if row.finished is not None else now) - row.started)
            title = Text(row.title, style="dim" if row.status == "pending" else "")
            # The title is never cut (it wraps: names are long); the latest message follows it while the step runs,
            # and once it ended only where it fits on the same line (a failure is said whole below the steps).
            message = f"  {row.message}" if row.message else ""
            room = self.size.width - 10  # the icon's and the elapsed time's columns and the padding between
            if message and (row.status == "running" or len(row.title) % max(1, room) + len(message) <= room):
                title.append(message, style="italic dim" if row.status != "failed" else "red")
            table.add_row(Text(icon, style=style), title, elapsed)
        return table
