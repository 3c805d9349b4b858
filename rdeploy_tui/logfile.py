"""Where rdeploy-tui keeps its own files: logs, crash reports, state (platformdirs, overridable)."""

from __future__ import annotations

import os
import tempfile
import traceback
from pathlib import Path

import platformdirs

APP = "rdeploy-tui"


def state_dir() -> Path:
    """RDEPLOY_HOME overrides the platform default (tests and side-by-side installs use it)."""
    override = os.environ.get("RDEPLOY_HOME")
    return Path(override) if override else Path(platformdirs.user_state_dir(APP))


def cache_dir() -> Path:
    """Re-fetchable data (the price list): RDEPLOY_CACHE_DIR, else inside RDEPLOY_HOME when that is set
    (tests), else the platform's user cache dir."""
    override = os.environ.get("RDEPLOY_CACHE_DIR")
    if override:
        return Path(override)
    home = os.environ.get("RDEPLOY_HOME")
    return Path(home) / "cache" if home else Path(platformdirs.user_cache_dir(APP))


def log_dir() -> Path:
    return state_dir() / "logs"


def crash_log_path() -> Path:
    return log_dir() / "crash.log"


def save_crash(exc: BaseException) -> str:
    """Write an unexpected error's traceback to the crash log; return where, said for a message."""
    path = crash_log_path()
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
