"""One row of the health view: a metric's name, a sparkline as wide as the terminal allows (a grain per cell, the
newest on the right, blank where Azure Monitor has no data) and its figures beside it: now, average, maximum."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from rdeploy_tui.health_text import Row, spark

NUMBER_WIDTH = 8


class MetricRow(Widget):
    DEFAULT_CSS = """
    MetricRow { height: auto; }  /* one line; two when the label is longer than its column */
    """

    def __init__(self, row: Row, label_width: int, *, warn: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.row = row
        self.label_width = label_width
        self.warn = warn  # errors: the sparkline and the figures in the warning colour when there are any

    def render(self) -> Text:
        r = self.row
        graph_width = max(8, self.size.width - self.label_width - 3 * (NUMBER_WIDTH + 1) - 2)
        label_style = "bold" if not self.warn else ""
        # A label longer than its column (an instance's name) goes whole on a line of its own, the graph under it.
        long = len(r.label) > self.label_width
        text = Text(f"{r.label}\n" if long else "", style=label_style)
        text.append(("" if long else r.label).ljust(self.label_width) + " ", style=label_style)
        style = "yellow" if self.warn and r.series.maximum else "cyan"
        text.append(spark(r.series.points, graph_width, r.top).ljust(graph_width), style=style)
        for figure in (r.now, r.average, r.maximum):
            text.append(" " + figure.rjust(NUMBER_WIDTH))
        return text
