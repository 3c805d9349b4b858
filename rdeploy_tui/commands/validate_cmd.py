"""`rdeploy-tui validate --spec FILE`: every problem, one per line; exit 1 if any is an error."""

from __future__ import annotations

import argparse
from pathlib import Path

from rdeploy_tui.commands.spec_args import (
    add_model_dir_option,
    add_spec_option,
    crate_package_problems,
    load_valid_spec,
    print_problems,
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("validate", help="check a deploy spec without touching Azure")
    add_spec_option(parser)
    add_model_dir_option(parser, "warn about each package its crate uses that image.r_packages lacks (needs R)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    spec, problems = load_valid_spec(Path(args.spec))
    if spec is not None and args.model_dir:
        problems = problems + crate_package_problems(spec, args.model_dir)
    print_problems(problems, args.spec)
    if spec is None:
        return 1
    print(f"{args.spec}: ok" + (f" ({len(problems)} warning(s))" if problems else ""))
    return 0
