"""A titled Log fed in batches: lines may arrive from any thread at any rate; the UI writes them
in chunks of at most CHUNK lines per turn of the event loop, so a flood never stalls the screen.

Measured (design notes): one write_line per line from a thread took 180 s for 100,000 lines; batches
of 1,000 took ~1 s with the UI stalling at most ~50 ms. Lines that would scroll out of max_lines
before being seen are dropped from the backlog instead of being written and evicted.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Log

CHUNK = 250
FLUSH_SECONDS = 0.1


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
        self._lock = threading.Lock()
        self._draining = False
        self.received = 0  # lines handed to add(), for the title and the benchmarks

    def compose(self) -> ComposeResult:
        yield Label(self.title, classes="log-title")
        yield Log(max_lines=self.max_lines, auto_scroll=True)

    def on_mount(self) -> None:
        self.set_interval(FLUSH_SECONDS, self.flush)
        # Stay on the newest line when the panel is resized (a summary above it grows, a row below it
        # goes), not only when lines arrive; scrolling up releases it, back at the end restores it.
        self.log.anchor()

    @property
    def log(self) -> Log:
        return self.query_one(Log)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._backlog)

    def add(self, lines: Iterable[str]) -> None:
        """Queue lines; safe from any thread (the UI thread writes them on its next flush)."""
        with self._lock:
            before = len(self._backlog)
            self._backlog.extend(lines)
            self.received += len(self._backlog) - before
            excess = len(self._backlog) - self.max_lines
            for _ in range(max(0, excess)):
                self._backlog.popleft()

    def flush(self) -> None:
        """Write one chunk; if more is waiting, continue after the event loop had its turn."""
        with self._lock:
            if not self._backlog:
                self._draining = False
                return
            chunk = [self._backlog.popleft() for _ in range(min(CHUNK, len(self._backlog)))]
            more = bool(self._backlog)
        self.log.write_lines(chunk)
        if more and not self._draining:
            # A timer, not call_later: timers let the event loop (input, other timers) run in between.
            self._draining = True
            self.set_timer(0.001, self._continue)
        elif not more:
            self._draining = False
            self.query_one(".log-title", Label).update(f"{self.title} ({self.received:,} lines)")

    def _continue(self) -> None:
        self._draining = False
        self.flush()

    def clear(self) -> None:
        with self._lock:
            self._backlog.clear()
            self.received = 0
        self.log.clear()
        self.query_one(".log-title", Label).update(self.title)
