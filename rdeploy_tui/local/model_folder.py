"""What a model folder must hold before it is registered: the carrier crate the scoring script loads."""

from __future__ import annotations

from pathlib import Path

from rdeploy_tui.deploy_folder.sample_model import CRATE_FILENAME


def model_folder_problem(folder: Path) -> str | None:
    """Why `folder` cannot be registered as the model, or None."""
    if not folder.exists():
        return f"{folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is not a folder: give the folder holding {CRATE_FILENAME}"
    crates = list(folder.rglob(CRATE_FILENAME))
    if not crates:
        return (
            f"{folder} holds no {CRATE_FILENAME}: save the model with carrier "
            f'(saveRDS(carrier::crate(...), "{CRATE_FILENAME}")) into it'
        )
    # R and the upload would wait forever on a FIFO and never end on a device: only regular files are read.
    if odd := next((c for c in crates if not c.is_file()), None):
        return f"{odd} is not a regular file (a pipe, device or socket): save the model into it with R"
    return None
