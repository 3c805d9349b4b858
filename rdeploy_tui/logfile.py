"""rdeploy-tui's own logging: the traceback of an unexpected error, kept for a bug report (never shown to the user).
Where every file lives: rdeploy_tui.locations."""

from __future__ import annotations

import os
import tempfile
import traceback
from pathlib import Path

from rdeploy_tui.locations import crash_log


def save_crash(exc: BaseException) -> str:
    """Write an unexpected error's traceback to the crash log; return where, said for a message."""
    path = crash_log()
    tmp = None
    try:
        # A new file put in place of the old: whatever sits at the path (a FIFO would block a plain write, a
        # symlink would send the traceback elsewhere) is replaced, never opened.
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".crash.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        os.replace(tmp, path)
    except OSError:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        return "no details could be saved"
    return f"details were saved to {path}"
