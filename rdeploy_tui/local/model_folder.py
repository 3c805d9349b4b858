"""A first look at a model folder, without R (fast enough to run as a field is typed): it must exist and hold a
model file the reader can look at. What the file holds is said by R (model_reader.py) before anything is uploaded."""

from __future__ import annotations

import os
from itertools import islice
from pathlib import Path

from rdeploy_tui.spec.model_files import CRATE_FILENAME, SAVE_CRATE, SAVE_FITTED

MODEL_FILES = f"{CRATE_FILENAME}, an .rds file or a pins board"


# The field is checked as it is typed: "/" or "~" on the way to the folder must not walk a whole disk. A pins board
# keeps its files at board/NAME/VERSION/, so a few levels deep is enough.
MAX_DEPTH = 4
MAX_ENTRIES = 20_000


def is_model_file_name(name: str) -> bool:
    """crate.bin or an .rds file (any case): what the reader and the upload look for."""
    lowered = name.lower()
    return lowered == CRATE_FILENAME or lowered.endswith(".rds")


def _model_files(folder: Path) -> tuple[list[Path], bool]:
    """The model files under `folder` (crate.bin, *.rds) at most MAX_DEPTH levels down, and whether the walk saw
    everything (False: it stopped at MAX_ENTRIES). Folders that cannot be read, or vanish as they are read, are
    skipped."""
    found: list[Path] = []
    seen = 0
    for root, dirs, files in os.walk(folder, onerror=lambda error: None):
        depth = len(Path(root).relative_to(folder).parts)
        if depth >= MAX_DEPTH:
            dirs.clear()
        seen += len(dirs) + len(files)
        found += [Path(root, f) for f in files if is_model_file_name(f)]
        if seen > MAX_ENTRIES:
            return found, False
    return found, True


def model_folder_problem(folder: Path) -> str | None:
    """Why `folder` cannot be a model's folder, or None."""
    if not folder.exists():
        return f"{folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is not a folder: give the folder holding the model ({MODEL_FILES})"
    models, complete = _model_files(folder)
    if not models and not complete:
        return f"{folder} holds more than {MAX_ENTRIES:,} files: give the folder holding the model ({MODEL_FILES})"
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
            return any(is_model_file_name(p.name) and p.is_file() for p in islice(folder.iterdir(), limit))
        except OSError:  # unreadable: not the one
            return False

    if holds_model(base):
        return base
    try:
        folders = sorted(p for p in islice(base.iterdir(), limit) if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return None
    return next((folder for folder in folders if holds_model(folder)), None)
