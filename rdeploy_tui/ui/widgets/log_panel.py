"""A titled Log fed in batches: lines come in bulk (a pipeline message can carry thousands); the panel writes them
in chunks of at most CHUNK lines per turn of the event loop, so a flood never stalls the screen.

Measured (design notes): one write_line per line from a thread took 180 s for 100,000 lines; batches of 1,000 took
~1 s with the UI stalling at most ~50 ms. Lines that would scroll out of max_lines before being seen are dropped
from the backlog instead of being written and evicted. The backlog keeps the batches as they come (no line is
touched when added), so a message carrying 50,000 lines costs the UI thread next to nothing until each chunk is
written. Call it on the UI thread only (screens get lines from workers as messages: ui/pipeline_events.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log, RichLog

CHUNK = 250
CHUNK_GAP_SECONDS = 0.001  # a timer between chunks, not call_later: the event loop (input, other timers) runs between


class LogPanel(Vertical):
    # The title sits in the log's border (a row of its own cost a line of log at 80x24).
    DEFAULT_CSS = """
    LogPanel { height: 1fr; }
    LogPanel > Log, LogPanel > RichLog { height: 1fr; border: round $panel-lighten-2; border-title-color: $text-muted; }
    LogPanel > Log:focus, LogPanel > RichLog:focus { border: round $accent; }
    """

    def __init__(self, title: str, *, max_lines: int = 10_000, wrap: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.max_lines = max_lines
        # wrap: long lines are folded at the panel's width instead of cut (a RichLog: slower per line, so for logs of
        # hundreds of lines, e.g. a rollout's, not a build's 100,000).
        self.wrap = wrap
        self._backlog: deque[Sequence[str]] = deque()  # batches as added; the first one from _first_line on
        self._first_line = 0
        self._pending = 0
        self._draining = False
        self.received = 0  # lines handed to add(), for the title and the benchmarks
        self._reveal: str | None = None  # a line to scroll to once everything added is written
        self._revealed: int | None = None  # the index of the line revealed, kept in view when the panel is resized

    def compose(self) -> ComposeResult:
        log: Log | RichLog = (
            # min_width: by default a RichLog folds at 78 columns at least, wider than it is at 80x24 beside a scrollbar
            RichLog(max_lines=self.max_lines, wrap=True, min_width=20, markup=False, highlight=False, auto_scroll=True)
            if self.wrap
            else Log(max_lines=self.max_lines, auto_scroll=True)
        )
        log.border_title = self.title
        yield log

    @property
    def shown_title(self) -> str:
        """The title as shown (with the count of lines once they are written)."""
        return str(self.lines_view.border_title or "")

    def reveal(self, text: str) -> None:
        """Scroll to the first line that contains `text` (a failure's cause: later lines repeat it as consequences),
        once the lines added so far are written; the panel stops following new lines there."""
        self._reveal = text
        if self.is_mounted and not self._draining:
            self._scroll_to_reveal()

    def _scroll_to_reveal(self) -> None:
        text, self._reveal = self._reveal, None
        if not text:
            return
        log = self.lines_view
        if not isinstance(log, Log):
            return
        for index, line in enumerate(log.lines):
            if text in line:
                log.auto_scroll = False
                self._revealed = index
                self._scroll_to_line(index)
                return

    def _scroll_to_line(self, index: int) -> None:
        """A few lines of what led to line `index` above it, the lines after it below."""
        log = self.lines_view
        log.scroll_to(y=max(0, index - max(1, log.scrollable_content_region.height // 3)), animate=False)

    def on_resize(self) -> None:
        # The panel shrinks as the failure above it is laid out (at 80x24 to a few rows): the revealed line stays in
        # view, not where it was put for the taller panel.
        if self._revealed is not None and not self.lines_view.auto_scroll:
            self.call_after_refresh(self._scroll_to_line, self._revealed)

    def on_mount(self) -> None:
        # Stay on the newest line when the panel is resized (a summary above it grows, a row below it
        # goes), not only when lines arrive; scrolling up releases it, back at the end restores it.
        self.lines_view.anchor()
        if self._backlog:
            self._start_draining()

    @property
    def lines_view(self) -> Log | RichLog:
        """The widget that shows the lines: a RichLog when they wrap, a Log (faster, one row a line) when not."""
        return self.query_one(RichLog) if self.wrap else self.query_one(Log)

    @property
    def pending(self) -> int:
        """Lines added but not written yet."""
        return self._pending

    def add(self, lines: Sequence[str]) -> None:
        """Queue a batch of lines; they are written over the next turns of the event loop."""
        if not lines:
            return
        self._backlog.append(lines)
        self._pending += len(lines)
        self.received += len(lines)
        # Lines past max_lines would scroll out unseen: drop whole batches, then the start of the first.
        while self._pending - (len(self._backlog[0]) - self._first_line) >= self.max_lines:
            self._pending -= len(self._backlog.popleft()) - self._first_line
            self._first_line = 0
        if self._pending > self.max_lines:
            self._first_line += self._pending - self.max_lines
            self._pending = self.max_lines
        if self.is_mounted:
            self._start_draining()

    def _start_draining(self) -> None:
        if not self._draining:
            self._draining = True
            self.set_timer(CHUNK_GAP_SECONDS, self._drain)

    def _take(self, count: int) -> list[str]:
        """Up to `count` lines from the front of the backlog."""
        taken: list[str] = []
        while self._backlog and len(taken) < count:
            batch, start = self._backlog[0], self._first_line
            end = min(len(batch), start + count - len(taken))
            taken.extend(batch[start:end])
            if end == len(batch):
                self._backlog.popleft()
                self._first_line = 0
            else:
                self._first_line = end
        self._pending -= len(taken)
        return taken

    def _drain(self) -> None:
        chunk = self._take(CHUNK)
        log = self.lines_view
        if chunk and isinstance(log, Log):
            log.write_lines(chunk)
        else:
            for line in chunk:
                log.write(line)
        if self._backlog:
            self.set_timer(CHUNK_GAP_SECONDS, self._drain)
            return
        self._draining = False
        self.lines_view.border_title = f"{self.title} ({self.received:,} lines)"
        if self._reveal is not None:
            self._scroll_to_reveal()

    def clear(self) -> None:
        self._backlog.clear()
        self._first_line = self._pending = self.received = 0
        view = self.lines_view
        view.clear()
        view.auto_scroll = True
        self._revealed = None
        view.border_title = self.title
