"""rdeploy-tui's own logging: the traceback of an unexpected error, kept for a bug report (never shown to the user).
Where every file lives: rdeploy_tui.locations."""

from __future__ import annotations

import traceback

from rdeploy_tui.locations import crash_log


def save_crash(exc: BaseException) -> str:
    """Write an unexpected error's traceback to the crash log; return where, said for a message."""
    path = crash_log()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    except OSError:
        return "no details could be saved"
    return f"details were saved to {path}"
