"""A rollout's inputs, checked before anything is created or moved: its thresholds and the request bodies both
deployments are compared on (rollout.requests_file / --requests, else the sample request).

    bodies = check_rollout_inputs(spec, base_dir)   # RdeployError (code Usage) naming the file or the field

The CLI calls this before it connects; run_rollout calls it again (the wizard's path) before the run's first Azure
call. A bad input is a usage error: nothing exists yet that a rollback would have to undo.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.spec.deploy_spec import DeploySpec

MAX_REQUESTS_BYTES = 16 * 1024 * 1024  # our bound, not Azure's: the bodies are held in memory for the whole rollout
MAX_BODIES = 100  # every body goes to both deployments in every round of every stage
_EXAMPLE = '[{"forecast_horizon": [2]}, {"forecast_horizon": [7]}]'


def read_json_file(path: Path, *, limit: int) -> Any:
    """JSON from a regular file of at most `limit` bytes (UTF-8, a BOM allowed). Never blocks on a FIFO, never
    reads a device; ValueError saying what is wrong. (The one place a rollout input file is read: w3-files'
    bounded reader takes its place.)"""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ValueError(exc.strerror or str(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a device, pipe or socket"
            raise ValueError(f"it is {kind}, not a file")
        if info.st_size > limit:
            raise ValueError(f"it holds {info.st_size:,} bytes; at most {limit:,} are read")
        with os.fdopen(os.dup(fd), "rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise ValueError(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise ValueError(f"it holds more than {limit:,} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"it is not UTF-8 text (byte {exc.start})") from None

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(text, parse_constant=no_constant)
    except RecursionError:
        raise ValueError("it is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"it is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise ValueError(f"it is not JSON we can use ({exc})") from None


def requests_path(spec: DeploySpec, base_dir: Path | None) -> Path | None:
    """Where rollout.requests_file points (relative to the spec's folder), or None for the sample request."""
    name = spec.rollout.requests_file
    if not name:
        return None
    path = Path(name).expanduser()
    return path if path.is_absolute() or base_dir is None else base_dir / path


def load_requests(spec: DeploySpec, base_dir: Path | None) -> list[dict[str, Any]]:
    """The request bodies to compare on: the requests file (one body, or a list of them), else the sample request.
    RdeployError (code Usage) naming the file and what is wrong."""
    from rdeploy_tui.spec.rules import check_sample_request

    path = requests_path(spec, base_dir)
    if path is None:
        return [spec.scoring.sample_request]

    def bad(problem: str) -> RdeployError:
        return RdeployError(
            f"The rollout's requests file {path} cannot be used: {problem}.",
            f"Give --requests (or rollout.requests_file) a JSON file with one request body or a list of them, "
            f"e.g. {_EXAMPLE}.",
            code="Usage",
        )

    try:
        data = read_json_file(path, limit=MAX_REQUESTS_BYTES)
    except ValueError as exc:
        raise bad(str(exc)) from None
    bodies = data if isinstance(data, list) else [data]
    if not bodies:
        raise bad("its list is empty")
    if len(bodies) > MAX_BODIES:
        raise bad(f"it holds {len(bodies)} request bodies; at most {MAX_BODIES} are compared")
    for index, body in enumerate(bodies):
        if problem := check_sample_request(body):
            where = f"request {index + 1}" if isinstance(data, list) else "its body"
            raise bad(f"{where}: {problem.replace('sample request', 'a request body')}")
    return bodies


def check_rollout_inputs(spec: DeploySpec, base_dir: Path | None) -> list[dict[str, Any]]:
    """The rollout's thresholds (the spec's rollout section, after CLI options) and its request bodies; raises
    RdeployError (code Usage) on the first bad one. Pure but for reading the requests file."""
    from rdeploy_tui.spec.rules import validate

    bad = [p for p in validate(spec, base_dir=base_dir) if p.level == "error" and p.field.startswith("rollout.")]
    if bad:
        raise RdeployError(
            "; ".join(str(p) for p in bad), "Fix the option or the spec's rollout section.", code="Usage"
        )
    return load_requests(spec, base_dir)
