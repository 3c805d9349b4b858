"""A rollout's requests file (`rollout.requests_file`, `rollout --requests`): the request bodies both deployments
answer at every stage. Read whole, bounded (bounded_read.REQUESTS_FILE), and checked before anything is created or
moved: a missing file, a file that is not JSON, /dev/zero or a body the model cannot take is a usage error naming the
file, never a rollback of a healthy version."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rdeploy_tui import bounded_read
from rdeploy_tui.errors import RdeployError

MAX_BODIES = 100  # every body goes to both deployments in every round of every stage
_EXAMPLE = '[{"forecast_horizon": [2]}, {"forecast_horizon": [7]}]'


def requests_file_path(value: str, base_dir: Path | None) -> Path:
    """Where a requests file given in a spec is: relative paths are relative to the spec's folder."""
    path = Path(value).expanduser()
    return path if path.is_absolute() or base_dir is None else Path(base_dir) / path


def read_requests_file(path: Path, check_body: Callable[[object], str | None]) -> list[object]:
    """The request bodies in `path`: a JSON list of bodies, or one body, each one the model takes (`check_body`:
    rules.check_sample_request for the model's kind). RdeployError (code "Usage") naming the file and what to do when
    it cannot be used."""
    shown = bounded_read.printable(path, 200)

    def bad(problem: str) -> RdeployError:
        return RdeployError(
            f"The rollout's requests file {shown} cannot be used: {problem}.",
            "Give --requests (or rollout.requests_file, relative to the spec's folder) a JSON file with one request "
            f"body or a list of them, e.g. {_EXAMPLE}.",
            code="Usage",
        )

    try:
        data = bounded_read.read_json(path, bounded_read.REQUESTS_FILE)
    except FileNotFoundError:
        raise bad("it does not exist") from None
    except bounded_read.FileRefused as exc:
        raise RdeployError(f"The rollout's requests file {exc.what}.", exc.next_step, code="Usage") from None
    bodies = data if isinstance(data, list) else [data]
    if not bodies:
        raise bad("its list is empty")
    if len(bodies) > MAX_BODIES:
        raise bad(f"it holds {len(bodies)} request bodies; at most {MAX_BODIES} are compared")
    for index, body in enumerate(bodies):
        if problem := check_body(body):
            where = f"request {index + 1}" if isinstance(data, list) else "its body"
            raise bad(f"{where}: {problem.replace('sample request', 'a request body')}")
    return bodies
