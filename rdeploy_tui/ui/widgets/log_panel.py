"""A titled Log fed in batches: lines come in bulk (a pipeline message can carry thousands); the panel writes them
in chunks of at most CHUNK lines per turn of the event loop, so a flood never stalls the screen.

Measured (design notes): one write_line per line from a thread took 180 s for 100,000 lines; batches of 1,000 took
~1 s with the UI stalling at most ~50 ms. Lines that would scroll out of max_lines before being seen are dropped
from the backlog instead of being written and evicted. Call it on the UI thread only (screens get lines from workers
as messages: ui/pipeline_events.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Log

CHUNK = 250
CHUNK_GAP_SECONDS = 0.001  # a timer between chunks, not call_later: the event loop (input, other timers) runs between


class LogPanel(Vertical):
    DEFAULT_CSS = """
    LogPanel { height: 1fr; }
    LogPanel > .log-title { height: 1; color: $text-muted; }
    LogPanel > Log { height: 1fr; border: round $panel-lighten-2; }
    LogPanel > Log:focus { border: round $accent; }
    """

    def __init__(self, title: str, *, max_lines: int = 10_000, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.max_lines = max_lines
        self._backlog: deque[str] = deque()
        self._draining = False
        self.received = 0  # lines handed to add(), for the title and the benchmarks

    def compose(self) -> ComposeResult:
        yield Label(self.title, classes="log-title")
        yield Log(max_lines=self.max_lines, auto_scroll=True)

    def on_mount(self) -> None:
        # Stay on the newest line when the panel is resized (a summary above it grows, a row below it
        # goes), not only when lines arrive; scrolling up releases it, back at the end restores it.
        self.log.anchor()
        if self._backlog:
            self._start_draining()

    @property
    def log(self) -> Log:
        return self.query_one(Log)

    @property
    def pending(self) -> int:
        """Lines added but not written yet."""
        return len(self._backlog)

    def add(self, lines: Iterable[str]) -> None:
        """Queue lines; they are written over the next turns of the event loop."""
        before = len(self._backlog)
        self._backlog.extend(lines)
        self.received += len(self._backlog) - before
        for _ in range(max(0, len(self._backlog) - self.max_lines)):
            self._backlog.popleft()
        if self._backlog and self.is_mounted:
            self._start_draining()

    def _start_draining(self) -> None:
        if not self._draining:
            self._draining = True
            self.set_timer(CHUNK_GAP_SECONDS, self._drain)

    def _drain(self) -> None:
        chunk = [self._backlog.popleft() for _ in range(min(CHUNK, len(self._backlog)))]
        if chunk:
            self.log.write_lines(chunk)
        if self._backlog:
            self.set_timer(CHUNK_GAP_SECONDS, self._drain)
            return
        self._draining = False
        self.query_one(".log-title", Label).update(f"{self.title} ({self.received:,} lines)")

    def clear(self) -> None:
        self._backlog.clear()
        self.received = 0
        self.log.clear()
        self.query_one(".log-title", Label).update(self.title)
