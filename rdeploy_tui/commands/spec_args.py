"""Reading the --spec file for a command: every problem printed, exit 1, nothing else done."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rdeploy_tui.spec import rules
from rdeploy_tui.spec.deploy_spec import SPEC_FILENAME, DeploySpec, Problem, load_spec


def add_spec_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spec", metavar="FILE", default=SPEC_FILENAME, help=f"deploy spec (default: {SPEC_FILENAME})")


def print_problems(problems: list[Problem], spec_path: Path | str) -> None:
    for problem in problems:
        print(f"{spec_path}: {problem}", file=sys.stderr)


def load_valid_spec(path: Path) -> tuple[DeploySpec | None, list[Problem]]:
    """The spec and all its problems; the spec is None when any problem is an error."""
    spec, problems = load_spec(path)
    if spec is not None:
        problems = problems + rules.validate(spec, base_dir=Path(path).parent)
    if spec is None or rules.errors(problems):
        return None, problems
    return spec, problems
