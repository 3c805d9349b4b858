"""A rollout's requests file (`rollout.requests_file`, `rollout --requests`): the request bodies both deployments
answer at every stage. Read whole, bounded (bounded_read.REQUESTS_FILE), and checked before anything is created or
moved: a missing file, a file that is not JSON or /dev/zero is a usage error naming the file, never a rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rdeploy_tui import bounded_read
from rdeploy_tui.errors import RdeployError


def requests_file_path(value: str, base_dir: Path | None) -> Path:
    """Where a requests file given in a spec is: relative paths are relative to the spec's folder."""
    path = Path(value)
    return path if path.is_absolute() or base_dir is None else Path(base_dir) / path


def read_requests_file(path: Path) -> list[Any]:
    """The request bodies in `path`: a JSON list of bodies (objects or lists), or one body. RdeployError (code
    "Usage") naming the file and what to do when it cannot be used."""
    try:
        data = bounded_read.read_json(path, bounded_read.REQUESTS_FILE)
    except FileNotFoundError:
        raise RdeployError(
            f"The rollout's requests file {bounded_read.printable(path, 200)} does not exist.",
            "Fix rollout.requests_file in the spec (relative to the spec's folder), or --requests.",
            code="Usage",
        ) from None
    except bounded_read.FileRefused as exc:
        raise RdeployError(f"The rollout's requests file {exc.what}.", exc.next_step, code="Usage") from None
    # A list of objects or lists is a list of bodies; anything else (a scalar list, an object) is one body.
    if isinstance(data, list) and data and not isinstance(data[0], (int, float, str, bool)) and data[0] is not None:
        return data
    return [data]
