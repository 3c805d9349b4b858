"""A rollout's inputs, checked before anything is created or moved: its thresholds and the request bodies both
deployments are compared on (rollout.requests_file / --requests, else the sample request).

    bodies = check_rollout_inputs(spec, base_dir)   # RdeployError (code Usage) naming the file or the field

The CLI calls this before it connects; run_rollout calls it again (the wizard's path) before the run's first Azure
call. A bad input is a usage error: nothing exists yet that a rollback would have to undo.
"""

from __future__ import annotations

from pathlib import Path

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.spec.deploy_spec import DeploySpec


def load_requests(spec: DeploySpec, base_dir: Path | None) -> list[object]:
    """The request bodies to compare on: the requests file (spec/requests_file.py), else the sample request.
    RdeployError (code Usage) naming the file and what is wrong."""
    from rdeploy_tui.spec.requests_file import read_requests_file, requests_file_path
    from rdeploy_tui.spec.rules import check_sample_request

    if not spec.rollout.requests_file:
        return [spec.scoring.sample_request]
    path = requests_file_path(spec.rollout.requests_file, base_dir)
    return read_requests_file(path, lambda body: check_sample_request(body, spec.model.kind))


def check_rollout_inputs(spec: DeploySpec, base_dir: Path | None) -> list[object]:
    """The rollout's thresholds (the spec's rollout section, after CLI options) and its request bodies; raises
    RdeployError (code Usage) on the first bad one. Pure but for reading the requests file."""
    from rdeploy_tui.spec.rules import validate

    # The requests file says its own trouble (and what to do) when it is read below.
    bad = [
        p
        for p in validate(spec, base_dir=base_dir)
        if p.level == "error" and p.field.startswith("rollout.") and p.field != "rollout.requests_file"
    ]
    if bad:
        raise RdeployError(
            "; ".join(str(p) for p in bad), "Fix the option or the spec's rollout section.", code="Usage"
        )
    return load_requests(spec, base_dir)
