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


def add_model_dir_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--model-dir", metavar="DIR", help=f"the model's folder (with crate.bin): {what}")


def crate_packages(model_dir: str) -> tuple[list[str], str | None]:
    """The packages crate.bin under `model_dir` uses, read with local R; (packages, why not) -- never a guess."""
    from rdeploy_tui.local.crate_packages import read_model_dir

    result = read_model_dir(Path(model_dir))
    return result.packages, result.error


def crate_package_problems(spec: DeploySpec, model_dir: str) -> list[Problem]:
    """A warning for each package the crate uses that image.r_packages lacks (or one saying the list is unread)."""
    packages, error = crate_packages(model_dir)
    if error:
        return [Problem("image.r_packages", f"the packages the model uses could not be read: {error}", "warning")]
    listed = {p.lower() for p in spec.image.r_packages} | {"plumber", "carrier"}
    return [
        Problem(
            "image.r_packages",
            f"the model uses R package {p!r} (read from its crate.bin), which image.r_packages lacks",
            "warning",
        )
        for p in packages
        if p.lower() not in listed
    ]
