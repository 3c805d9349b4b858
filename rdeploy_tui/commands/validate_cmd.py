"""`rdeploy-tui validate --spec FILE`: every problem, one per line; exit 1 if any is an error."""

from __future__ import annotations

import argparse
from pathlib import Path

from rdeploy_tui.commands.spec_args import (
    add_model_dir_option,
    add_spec_option,
    load_valid_spec,
    model_dir_problems,
    print_problems,
    read_model_dir,
)
from rdeploy_tui.spec import rules
from rdeploy_tui.spec.deploy_spec import DeploySpec, Problem


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("validate", help="check a deploy spec without touching Azure")
    add_spec_option(parser)
    add_model_dir_option(
        parser,
        "read it with local R: an error when model.kind/model.file do not match what it holds, a warning for each "
        "package it needs that image.r_packages lacks",
    )
    parser.set_defaults(run=run)


def placeholder_workspace(spec: DeploySpec) -> list[Problem]:
    """A warning when the spec still names the workspace `init` writes as a placeholder: Azure has no such
    workspace (deploy and rollout refuse it before connecting; the built-in sandbox creates it, saying so)."""
    if not spec.workspace.is_placeholder():
        return []
    return [
        Problem(
            "workspace",
            f"subscription {spec.workspace.subscription_id}, resource group {spec.workspace.resource_group} and "
            f"workspace {spec.workspace.name} are the placeholders `init` writes: set workspace.subscription_id, "
            "workspace.resource_group and workspace.name to your Azure ML workspace (`az ml workspace show`, or the "
            "studio's config.json); on the built-in sandbox (--sandbox) they are created for you",
            level="warning",
        )
    ]


def run(args: argparse.Namespace) -> int:
    spec, problems = load_valid_spec(Path(args.spec))
    if spec is not None:
        problems = problems + placeholder_workspace(spec)
    if spec is not None and args.model_dir:
        problems = problems + model_dir_problems(spec, read_model_dir(args.model_dir))
    print_problems(problems, args.spec)
    if spec is None or rules.errors(problems):
        return 1
    warned = f" ({len(problems)} warning(s))" if problems else ""
    if spec.workspace.is_placeholder():  # never a bare "ok": deploying it to Azure is refused until it is filled in
        print(f"{args.spec}: ok for the built-in sandbox only{warned}: fill in the workspace to deploy to Azure")
    else:
        print(f"{args.spec}: ok{warned}")
    return 0
