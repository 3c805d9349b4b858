"""Memory (RSS) of the wizard process after a full deploy against the built-in sandbox, driven
through every screen with Pilot (80x24), ending on the scoring screen with one scored request.

    .venv/bin/python benchmarks/bench_ui_memory.py
"""

from __future__ import annotations

import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def drive(tmp: Path) -> dict[str, float]:
    from textual.widgets import Button

    from rdeploy_tui.connection_options import ConnectionOptions
    from rdeploy_tui.ui.app import RdeployApp
    from rdeploy_tui.ui.wizard_state import WizardState

    marks = {"before app": rss_mib()}
    state = WizardState.start(ConnectionOptions(sandbox=True), base_dir=tmp)
    app = RdeployApp(state)
    try:
        async with app.run_test(size=(80, 24)) as pilot:

            async def until(cond, timeout=240.0):
                end = time.monotonic() + timeout
                while not cond():
                    if time.monotonic() > end:
                        raise SystemExit(f"stuck on {app.screen!r}: {app.screen.problems()}")
                    await pilot.pause(0.1)

            await until(lambda: app.settled)  # nav bar and footer are in, sign-in has started
            marks["first screen"] = rss_mib()
            for step in ("workspace", "model", "packages", "script", "endpoint", "review", "deploy"):
                await until(lambda: not app.screen.query_one("#next", Button).disabled)
                if app.step == "endpoint":
                    app.screen.query_one("#endpoint-name-input").value = f"bench-mem-{os.getpid()}"
                await pilot.press("f2")
                await until(lambda step=step: app.step == step)
            marks["after the forms (azure.ai.ml loaded)"] = rss_mib()
            await until(lambda: app.screen.status in ("succeeded", "failed", "cancelled"))
            marks[f"after the deploy ({app.screen.status})"] = rss_mib()
            await pilot.press("f2")
            await until(lambda: getattr(app.screen, "result", None) is not None, timeout=60)
            marks["after one scored request"] = rss_mib()
    finally:
        state.close()
    return marks


def main() -> int:
    os.environ.setdefault("RDEPLOY_SANDBOX_TIME_SCALE", "0.003")
    with tempfile.TemporaryDirectory(prefix="rdeploy-bench-") as tmp:
        os.environ["RDEPLOY_HOME"] = str(Path(tmp) / "home")
        marks = asyncio.run(drive(Path(tmp)))
    for what, mib in marks.items():
        print(f"RSS {what}: {mib:.0f} MiB")
    print(
        f"peak RSS (ru_maxrss): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB "
        "(this process also hosts the sandbox server; R runs in child processes)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
