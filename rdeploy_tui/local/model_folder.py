"""A first look at a model folder, without R (fast enough to run as a field is typed): it must exist and hold a
model file the reader can look at. What the file holds is said by R (model_reader.py) before anything is uploaded."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from rdeploy_tui.spec.model_files import CRATE_FILENAME, SAVE_CRATE, SAVE_FITTED

MODEL_FILES = f"{CRATE_FILENAME}, an .rds file or a pins board"


def model_folder_problem(folder: Path) -> str | None:
    """Why `folder` cannot be a model's folder, or None."""
    if not folder.exists():
        return f"{folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is not a folder: give the folder holding the model ({MODEL_FILES})"
    models = [p for p in folder.rglob("*") if p.name.lower() == CRATE_FILENAME or p.name.lower().endswith(".rds")]
    if not models:
        return f"{folder} holds no {MODEL_FILES}: {SAVE_CRATE} into it, or {SAVE_FITTED}"
    # R and the upload would wait forever on a FIFO and never end on a device: only regular files are read.
    if odd := next((m for m in models if not m.is_file()), None):
        return f"{odd} is not a regular file (a pipe, device or socket): save the model into it with R"
    return None


def nearby_model_folder(base: Path, limit: int = 500) -> Path | None:
    """The folder a new registration most likely means: `base` itself, else the first of its folders (by name, not
    hidden) that holds crate.bin or an .rds file directly; None when none does. At most `limit` entries of each folder
    are looked at, so a large working folder costs no more than a glance."""

    def holds_model(folder: Path) -> bool:
        try:
            return any(
                (p.name.lower() == CRATE_FILENAME or p.name.lower().endswith(".rds")) and p.is_file()
                for p in islice(folder.iterdir(), limit)
            )
        except OSError:  # unreadable: not the one
            return False

    if holds_model(base):
        return base
    try:
        folders = sorted(p for p in islice(base.iterdir(), limit) if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return None
    return next((folder for folder in folders if holds_model(folder)), None)
