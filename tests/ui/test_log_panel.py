"""The log panel and the pipeline event relay: lines from a runner's thread reach the panel through messages, in
order, a flood in a handful of messages, and only the lines the panel keeps are written."""

from __future__ import annotations

import threading

from textual.app import App, ComposeResult
from ui_helpers import wait_for

from rdeploy_tui.pipeline.events import LogLines, StepStarted
from rdeploy_tui.ui.pipeline_events import EventRelay, PipelineEvents
from rdeploy_tui.ui.widgets.log_panel import LogPanel


class PanelApp(App):
    def __init__(self, max_lines: int) -> None:
        super().__init__()
        self.max_lines = max_lines
        self.messages: list[PipelineEvents] = []

    def compose(self) -> ComposeResult:
        yield LogPanel("Build log", max_lines=self.max_lines)

    def on_pipeline_events(self, message: PipelineEvents) -> None:
        self.messages.append(message)
        for event in message.events:
            if isinstance(event, LogLines):
                self.query_one(LogPanel).add(event.lines)


async def test_a_flood_from_a_thread_arrives_in_order_in_few_messages_and_the_panel_keeps_the_last_lines():
    app = PanelApp(max_lines=1000)
    async with app.run_test(size=(80, 24)) as pilot:
        relay = EventRelay(app)
        batches = [tuple(f"line {b * 500 + i}" for i in range(500)) for b in range(40)]  # 20,000 lines

        def runner() -> None:
            relay(StepStarted("build-image", "Build image"))
            for lines in batches:
                relay(LogLines("build-image", "build", lines))
            relay.finish(_Done())

        threading.Thread(target=runner).start()
        await wait_for(pilot, lambda: app.messages and app.messages[-1].finished)
        panel = app.query_one(LogPanel)
        await wait_for(pilot, lambda: panel.pending == 0)
        events = [e for m in app.messages for e in m.events]
        assert [e.lines for e in events if isinstance(e, LogLines)] == batches  # all, in order
        assert isinstance(events[0], StepStarted)
        assert len(app.messages) <= 10  # coalesced: not one message per event
        assert panel.received == 20_000
        # only the kept ones written
        assert list(panel.lines_view.lines) == [f"line {n}" for n in range(19_000, 20_000)]
        assert panel.shown_title == "Build log (20,000 lines)"


async def test_lines_added_before_and_after_trimming_keep_their_order():
    app = PanelApp(max_lines=5)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(LogPanel)
        panel.add(("a1", "a2", "a3"))
        panel.add(("b1", "b2", "b3", "b4"))
        assert panel.pending == 5  # a1 and a2 would scroll out unseen: dropped before being written
        await wait_for(pilot, lambda: panel.pending == 0)
        assert list(panel.lines_view.lines) == ["a3", "b1", "b2", "b3", "b4"]
        panel.add(("c1",))
        await wait_for(pilot, lambda: panel.pending == 0)
        assert list(panel.lines_view.lines) == ["b1", "b2", "b3", "b4", "c1"]
        assert panel.received == 8


class _Done:
    status, summary = "succeeded", "done"
