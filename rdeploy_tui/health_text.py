"""An endpoint's health as text (azure/monitor.py's Health): sparklines and the rows of figures that
`rdeploy-tui endpoints metrics` prints and the wizard's health screen shows. Pure: no Azure call, no Textual."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rdeploy_tui.azure.monitor import Health, Series

BARS = "▁▂▃▄▅▆▇█"


def spark(points: tuple[float | None, ...] | list[float | None], width: int = 24, top: float | None = None) -> str:
    """A sparkline of the last `width` grains' points (averaged down when there are more); blank without data."""
    if not points:
        return ""
    chunk = max(1, -(-len(points) // width))
    cells: list[float | None] = []
    for i in range(0, len(points), chunk):
        part = [p for p in points[i : i + chunk] if p is not None]
        cells.append(sum(part) / len(part) if part else None)
    peak = top if top is not None else max((c for c in cells if c is not None), default=0.0)
    out = []
    for c in cells[-width:]:
        if c is None:
            out.append(" ")
        else:
            out.append(BARS[min(len(BARS) - 1, int(c / peak * (len(BARS) - 1) + 0.5))] if peak > 0 else BARS[0])
    return "".join(out)


@dataclass(frozen=True)
class Row:
    """One line of the health table: a label, the series it plots, and its figures as text."""

    label: str
    series: Series
    now: str
    average: str
    maximum: str
    top: float | None = None  # the sparkline's full height (100 for percentages); None: the series' own peak


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _figures(series: Series, digits: int = 0) -> tuple[str, str, str]:
    return _num(series.last, digits), _num(series.average, digits), _num(series.maximum, digits)


def gone(series: Series, recent: int = 2) -> bool:
    """An instance with no sample in the last `recent` grains: removed (scale in) or restarted since."""
    return all(p is None for p in series.points[-recent:])


def health_rows(health: Health) -> list[Row]:
    """The rows of the health table, in the order the CLI prints them and the wizard shows them."""
    rows = [Row("requests/min", health.requests, *_figures(health.requests))]
    for status_class in ("4xx", "5xx"):
        series = health.errors(status_class)
        rate = health.error_rate(status_class)
        now, _, top = _figures(series)
        rows.append(Row(f"errors {status_class}/min", series, now, "-" if rate is None else f"{rate:.1%}", top))
    for name, series in health.latency.items():
        rows.append(Row(f"latency {name.lower()} ms", series, *_figures(series)))
    for kind, per_instance in (("CPU", health.cpu), ("memory", health.memory)):
        for instance, series in per_instance.items():
            label = f"{kind} % {instance}" + (" (gone)" if gone(series) else "")
            rows.append(Row(label, series, *_figures(series, 1), top=100.0))
    if health.instances is not None:
        s = health.instances
        rows.append(Row("instances", s, _num(s.last), _num(s.average, 1), _num(s.maximum), max(1.0, s.maximum or 1.0)))
    return rows
