"""Pipeline events to a screen as one Textual message, posted from the sink the pipeline calls.

Deploy and rollout runs call their sink from their own threads, at any rate (a build log can be thousands of lines a
second). The relay here is that sink: it never blocks the run and never touches a widget. The first event after a
quiet spell is posted at once; while events keep coming they are posted together, in order, at most every
FLUSH_SECONDS: a flood of 100,000 log lines (the runner sends them in batches of LogLines) reaches the screen as a
handful of messages (benchmarks/bench_ui_log.py). Tests can watch them with `run_test(message_hook=...)`.
The run's outcome comes in the last message, after every event the run emitted.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING

from textual.message import Message
from textual.message_pump import MessagePump

from rdeploy_tui.pipeline.events import LogLines

if TYPE_CHECKING:
    from rdeploy_tui.pipeline.engine import Outcome
    from rdeploy_tui.pipeline.events import Event, StageMeasured

    PipelineEvent = Event | StageMeasured

FLUSH_SECONDS = 0.1  # at most ten messages a second per run: the UI stays responsive under a flood


class PipelineEvents(Message, bubble=False):
    """Events of one run, in the order emitted; `outcome` is set on the run's last message (`finished`)."""

    def __init__(self, events: tuple[PipelineEvent, ...], outcome: Outcome | None = None) -> None:
        super().__init__()
        self.events = events
        self.outcome = outcome

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    @property
    def log_lines(self) -> int:
        return sum(len(e.lines) for e in self.events if isinstance(e, LogLines))


class EventRelay:
    """The sink of one run, posting to `target`. Create it on the UI thread (it keeps that thread's event loop);
    call it, and `finish`, from any thread."""

    def __init__(self, target: MessagePump, *, interval: float = FLUSH_SECONDS) -> None:
        self.target = target
        self.interval = interval
        self._loop = asyncio.get_running_loop()
        self._lock = threading.Lock()
        self._pending: list[PipelineEvent] = []
        self._scheduled = False
        self._last_post = 0.0
        self.posted = 0  # messages posted, for the benchmark

    def __call__(self, event: PipelineEvent) -> None:
        with self._lock:
            self._pending.append(event)
            if self._scheduled:
                return
            self._scheduled = True
        self._on_loop(self._schedule)

    def finish(self, outcome: Outcome) -> None:
        """The run returned: post what is still pending together with its outcome (one message, the last)."""
        self._on_loop(self._post, outcome)

    def _on_loop(self, callback, *args) -> None:  # type: ignore[no-untyped-def]
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: the app has exited, nobody is listening
            pass

    def _schedule(self) -> None:
        wait = self._last_post + self.interval - time.monotonic()
        if wait <= 0:
            self._post()
        else:
            self._loop.call_later(wait, self._post)

    def _post(self, outcome: Outcome | None = None) -> None:
        with self._lock:
            events, self._pending, self._scheduled = self._pending, [], False
        if not events and outcome is None:
            return
        self._last_post = time.monotonic()
        self.posted += 1
        self.target.post_message(PipelineEvents(tuple(events), outcome))
