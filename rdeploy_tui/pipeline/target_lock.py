"""One deploy per target at a time: two deploys of one endpoint/deployment would both build, one would report a
false "resuming", the other fail "endpoint busy" (issue 15). A filelock (OS lock, released by the kernel even on
SIGKILL) beside the target's state file; a small JSON note beside it says who holds it, for the one refused.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from pathlib import Path

import filelock

from rdeploy_tui import bounded_read
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
        note = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        tmp = None
        try:  # a new file put in place: whatever sat at the note's path (a FIFO would block a write) is replaced
            fd, tmp = tempfile.mkstemp(dir=self._note.parent, prefix=f".{self._note.name}.")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(note, fh)
            os.replace(tmp, self._note)
        except OSError:  # the lock holds without the note; only the refusal's detail is lost
            if tmp:
                Path(tmp).unlink(missing_ok=True)

    def release(self) -> None:
        if self._lock.is_locked:
            self._note.unlink(missing_ok=True)
            self._lock.release()

    def _busy(self) -> RdeployError:
        t = self._target
        return RdeployError(
            f"Another deploy of endpoint {t['endpoint']} / deployment {t['deployment']} is running "
            f"({holder_text(self._note)}).",
            "Wait for it to finish (or stop it), then run this deploy again: two deploys of one target would race "
            "each other.",
            code="TargetBusy",
        )

    def __enter__(self) -> TargetLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder_text(note: Path) -> str:
    """Who holds the lock, from its note: "process 12 on build-01, since 2026-11-26 10:00:00". The note is written by
    another process (or anyone): each field is checked and shown without control characters, and a note that is
    missing or unreadable is "another rdeploy-tui process", never an error of this deploy."""
    try:
        data = bounded_read.read_json(note, bounded_read.LOCK_NOTE)
    except (OSError, bounded_read.FileRefused):
        data = None
    if not isinstance(data, dict):
        return "another rdeploy-tui process"
    pid, host, since = data.get("pid"), data.get("host"), data.get("since")
    who = f"process {pid}" if isinstance(pid, int) and not isinstance(pid, bool) and 0 < pid < 2**31 else "a process"
    if isinstance(host, str) and host.strip():
        who += f" on {bounded_read.printable(host, 64)}"
    if isinstance(since, (int, float)) and not isinstance(since, bool):
        try:
            who += ", since " + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since))
        except (OverflowError, OSError, ValueError):  # not a time this machine can show (nan, 1e300, negative)
            pass
    return who
