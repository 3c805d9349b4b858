"""100,000 log lines into a deploy log panel, sent from a thread in batches as the runner does: LogLines events to
the sink the deploy screen gives the runner (ui/pipeline_events.py), which posts them to the screen as PipelineEvents
messages; the screen hands their lines to the panel, as the deploy step does.
Targets: all lines handled within 1 s, no UI stall over 50 ms (measured by a 10 ms heartbeat timer).

    .venv/bin/python benchmarks/bench_ui_log.py [--lines 100000] [--batch 1000] [--max-lines 10000]

`--max-lines 0` keeps every line (no trimming of the backlog) to show the cost of writing them all.
"""

from __future__ import annotations

import argparse
import threading
import time

from textual.app import App, ComposeResult

from rdeploy_tui.pipeline.events import LogLines
from rdeploy_tui.ui.pipeline_events import EventRelay, PipelineEvents
from rdeploy_tui.ui.widgets.log_panel import LogPanel


class Bench(App):
    def __init__(self, lines: int, batch: int, max_lines: int | None) -> None:
        super().__init__()
        self.total, self.batch, self.max_lines = lines, batch, max_lines
        self.gaps: list[float] = []
        self.done_at: float | None = None
        self.started: float = 0.0
        self.relay: EventRelay | None = None

    def compose(self) -> ComposeResult:
        yield LogPanel("Build log", max_lines=self.max_lines or 10**9, id="panel")

    def on_mount(self) -> None:
        self.last = time.perf_counter()
        self.set_interval(0.01, self.heartbeat)

    def heartbeat(self) -> None:
        now = time.perf_counter()
        if not self.started:  # the flood starts once the app has drawn its first frame
            self.started = self.last = now
            self.relay = EventRelay(self)
            threading.Thread(target=self.produce, args=(self.relay,), daemon=True).start()
            return
        self.gaps.append(now - self.last)
        self.last = now
        panel = self.query_one(LogPanel)
        if self.done_at is None and panel.received == self.total and panel.pending == 0:
            self.done_at = now
            self.exit()

    def produce(self, relay: EventRelay) -> None:
        for start in range(0, self.total, self.batch):
            lines = tuple(
                f"Step {i % 7}/6 : line {i} of the build output, some text to make it realistic"
                for i in range(start, min(start + self.batch, self.total))
            )
            relay(LogLines("build-image", "build", lines))

    def on_pipeline_events(self, message: PipelineEvents) -> None:
        panel = self.query_one(LogPanel)
        for event in message.events:
            if isinstance(event, LogLines):
                panel.add(event.lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--max-lines", type=int, default=10_000)
    args = parser.parse_args()
    app = Bench(args.lines, args.batch, args.max_lines or None)

    async def run() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            while app.done_at is None:
                await pilot.pause(0.05)

    import asyncio

    asyncio.run(run())
    took = app.done_at - app.started
    stall = max(app.gaps) - 0.01
    print(
        "largest gaps (ms):",
        [round(g * 1000) for g in sorted(app.gaps)[-5:]],
        "of",
        len(app.gaps),
        "first:",
        [round(g * 1000) for g in app.gaps[:3]],
    )
    print(
        f"{args.lines:,} lines in batches of {args.batch:,} (max_lines {args.max_lines or 'unlimited'}): "
        f"{took:.2f} s until all shown (target <= 1 s); longest UI stall {stall * 1000:.0f} ms (target <= 50 ms); "
        f"{app.relay.posted if app.relay else 0} messages"
    )
    return 0 if took <= 1.0 and stall <= 0.05 else 1


if __name__ == "__main__":
    raise SystemExit(main())
