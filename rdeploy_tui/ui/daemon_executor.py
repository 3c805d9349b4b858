"""The executor the app's thread workers run on: one daemon thread per call, never waited for at exit.

Textual runs `@work(thread=True)` workers with `loop.run_in_executor(None, ...)`, and `asyncio.run` waits for the
default executor's threads when the app ends (concurrent.futures also joins them at interpreter exit). A worker stuck
in a slow network call (a compute instance's token endpoint that takes a minute, an unreachable ARM) would then keep
the terminal after the user quit. Here a quit is a quit: the app's workers own no state that a sudden end can corrupt
(the deploy state is written atomically and resumes after a kill).
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any


class DaemonThreadExecutor(concurrent.futures.ThreadPoolExecutor):
    """A ThreadPoolExecutor only by type (asyncio's set_default_executor insists): its pool is never used."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the awaiting worker, as ThreadPoolExecutor does
                future.set_exception(exc)
            else:
                future.set_result(result)

        threading.Thread(target=run, name="rdeploy-worker", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to wait for: daemon threads end with the process."""
