"""Reading the --spec file for a command: every problem printed, exit 1, nothing else done."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rdeploy_tui.spec import rules
from rdeploy_tui.spec.deploy_spec import SPEC_FILENAME, DeploySpec, Problem, load_spec

if TYPE_CHECKING:  # the reader starts R: imported only by the commands that read a model
    from rdeploy_tui.local.model_reader import ModelReading


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
    parser.add_argument(
        "--model-dir", metavar="DIR", help=f"the model's folder (crate.bin, an .rds or a pins board): {what}"
    )


def read_model_dir(model_dir: str) -> ModelReading:
    """What the model folder holds, read with local R (local/model_reader.py): never a guess."""
    from rdeploy_tui.local.model_reader import read_model

    return read_model(Path(model_dir))


def model_dir_problems(spec: DeploySpec, reading: ModelReading) -> list[Problem]:
    """An error when the spec's model.kind/model.file do not match what the folder holds (the generated API would not
    load it); a warning for each package the model needs that image.r_packages lacks, or one saying the list is
    unread."""
    from rdeploy_tui.deploy_folder.render import always_installed

    if not reading.ok:
        return [
            Problem("image.r_packages", f"the packages the model uses could not be read: {reading.error}", "warning")
        ]
    problems = []
    if (spec.model.kind, spec.model.file) != (reading.kind, reading.file):
        problems.append(
            Problem(
                "model.kind",
                f"the spec says model.kind {spec.model.kind}, model.file {spec.model.file}, but the folder holds "
                f"{reading.summary()}: set model.kind: {reading.kind} and model.file: {reading.file}",
            )
        )
    listed = {p.lower() for p in spec.image.r_packages} | {p.lower() for p in always_installed(reading.kind or "")}
    problems += [
        Problem(
            "image.r_packages",
            f"the model uses R package {p!r} (read from {reading.file}), which image.r_packages lacks",
            "warning",
        )
        for p in reading.packages
        if p.lower() not in listed
    ]
    if not reading.packages_complete:
        problems += [Problem("image.r_packages", note, "warning") for note in reading.notes]
    return problems
