"""One deploy per target at a time: two deploys of one endpoint/deployment would both build, one would report a
false "resuming", the other fail "endpoint busy" (issue 15). A filelock (OS lock, released by the kernel even on
SIGKILL) beside the target's state file; a small JSON note beside it says who holds it, for the one refused.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import filelock

from rdeploy_tui.errors import RdeployError


class TargetLock:
    def __init__(self, state_path: Path, target: dict[str, str]) -> None:
        self._lock = filelock.FileLock(str(state_path.with_suffix(".lock")), timeout=0, is_singleton=False)
        self._note = state_path.with_suffix(".holder")  # not *.json: the state folder lists those as targets
        self._target = target

    def acquire(self) -> None:
        """Take the lock, or raise RdeployError naming who holds it (pid, host, since)."""
        try:
            self._note.parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except filelock.Timeout:
            raise self._busy() from None
        except OSError as exc:
            raise RdeployError(
                f"Cannot create the deploy lock in {self._note.parent} ({exc.strerror}).",
                f"Make {self._note.parent} a writable folder (or set RDEPLOY_HOME to one), then run again.",
                code="StateFile",
            ) from None
        try:
            self._note.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}))
        except OSError:
            pass  # the lock holds without the note; only the refusal's detail is lost

    def release(self) -> None:
        if self._lock.is_locked:
            self._note.unlink(missing_ok=True)
            self._lock.release()

    def _busy(self) -> RdeployError:
        holder = _read(self._note)
        t = self._target
        if holder:
            since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(holder.get("since", 0))))
            who = f"process {holder.get('pid')} on {holder.get('host')}, since {since}"
        else:
            who = "another rdeploy-tui process"
        return RdeployError(
            f"Another deploy of endpoint {t['endpoint']} / deployment {t['deployment']} is running ({who}).",
            "Wait for it to finish (or stop it), then run this deploy again: two deploys of one target would race each other.",
            code="TargetBusy",
        )

    def __enter__(self) -> TargetLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
