"""Shared by the commands that talk to Azure: connecting, choosing the workspace, confirming."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    from rdeploy_tui.azure.clients import AzureConnection
    from rdeploy_tui.azure.workspace import Workspace
    from rdeploy_tui.launch import Playground
    from rdeploy_tui.spec.deploy_spec import WorkspaceRef


def add_workspace_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "workspace (default: from --spec, ./rdeploy.yaml, a compute instance or config.json)"
    )
    group.add_argument("--spec", metavar="FILE", help="take the workspace from this deploy spec")
    group.add_argument("--subscription", metavar="ID")
    group.add_argument("--resource-group", "-g", metavar="NAME")
    group.add_argument("--workspace", "-w", metavar="NAME")


def workspace_actions(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help: str,
    run: Callable[[argparse.Namespace], int],
) -> Callable[[str, str], argparse.ArgumentParser]:
    """`rdeploy-tui NAME ACTION ...` for a command whose actions each read one workspace: returns the function that
    adds an action with the workspace and connection options and --json."""
    from rdeploy_tui.connection_options import add_connection_options

    parser = sub.add_parser(name, help=help)
    actions = parser.add_subparsers(title="actions", metavar="ACTION", dest="action")
    parser.set_defaults(run=run, _parser=parser)

    def action(action_name: str, action_help: str) -> argparse.ArgumentParser:
        p = actions.add_parser(action_name, help=action_help)
        add_workspace_options(p)
        add_connection_options(p)
        p.add_argument("--json", action="store_true", help="print JSON")
        return p

    return action


def connect(args: argparse.Namespace, *, playground: Playground | None = None) -> AzureConnection:
    """The connection the flags name (rdeploy_tui.launch). On the built-in sandbox, the workspace these flags name
    (or `playground`: a deploy spec's workspace and model) is made to exist first, and said so."""
    from rdeploy_tui import launch
    from rdeploy_tui.connection_options import ConnectionOptions

    options = ConnectionOptions.from_args(args)
    if options.sandbox and playground is None and hasattr(args, "workspace"):
        sub, rg, ws = workspace_names(args, sandbox=True)
        playground = launch.Playground(sub, rg, ws)
    elif hasattr(args, "workspace"):
        workspace_names(args)  # no workspace, or init's placeholder: said before signing in or reaching Azure
    return launch.connect(options, playground=playground)


def refuse_placeholder_workspace(args: argparse.Namespace, workspace: WorkspaceRef) -> None:
    """`init`'s placeholder workspace names nothing in Azure: refused before anything is asked or sent (Azure would
    answer SubscriptionNotFound, or a workspace of that name elsewhere). The built-in sandbox creates it, saying so."""
    if getattr(args, "sandbox", False) or not workspace.is_placeholder():
        return
    raise RdeployError(
        f"The workspace is still the placeholder `init` writes (subscription {workspace.subscription_id}, resource "
        f"group {workspace.resource_group}, workspace {workspace.name}): fill it in first.",
        "Set workspace.subscription_id, workspace.resource_group and workspace.name in the spec to your Azure ML "
        "workspace (`az ml workspace show`, or the studio's config.json)"
        + (", or pass --subscription, --resource-group and --workspace" if hasattr(args, "workspace") else "")
        + "; to try it without Azure, add --sandbox.",
        code="Usage",
    )


def workspace_names(args: argparse.Namespace, *, sandbox: bool = False) -> tuple[str, str, str]:
    """(subscription, resource group, workspace) named by flags, else the spec, else the environment's hints, else
    (on the built-in sandbox) its default workspace. Raises RdeployError (usage) when none is found."""
    from rdeploy_tui import azure
    from rdeploy_tui.spec import SPEC_FILENAME

    sub, rg, ws = args.subscription, args.resource_group, args.workspace
    spec_path = Path(args.spec) if args.spec else (Path(SPEC_FILENAME) if Path(SPEC_FILENAME).is_file() else None)
    if spec_path is not None and not (sub and rg and ws):
        from rdeploy_tui.spec.deploy_spec import load_spec  # the YAML parser only when there is a spec to read

        spec, problems = load_spec(spec_path)
        if spec is None:
            raise RdeployError(
                f"Cannot read {spec_path}: {problems[0] if problems else 'unknown problem'}",
                "Fix the file or pass --workspace/--resource-group.",
                code="Usage",
            )
        sub, rg, ws = (
            sub or spec.workspace.subscription_id,
            rg or spec.workspace.resource_group,
            ws or spec.workspace.name,
        )
    if not (sub and rg and ws):
        for hint in azure.workspace_hints():
            if hint.name and hint.resource_group:
                sub, rg, ws = (
                    sub or hint.subscription_id or azure.default_subscription_id(),
                    rg or hint.resource_group,
                    ws or hint.name,
                )
                break
    if not (sub and rg and ws) and sandbox:
        from rdeploy_tui.launch import sandbox_default_workspace

        default_sub, default_rg, default_ws = sandbox_default_workspace()
        sub, rg, ws = sub or default_sub, rg or default_rg, ws or default_ws
    sub = sub or azure.default_subscription_id()
    if not (sub and rg and ws):
        raise RdeployError(
            "Which workspace? None was given and none was found (no spec, compute instance or config.json).",
            "Pass --spec FILE, or --subscription ID --resource-group NAME --workspace NAME.",
            code="Usage",
        )
    if not sandbox:
        from rdeploy_tui.spec.deploy_spec import WorkspaceRef

        refuse_placeholder_workspace(args, WorkspaceRef(sub, rg, ws))
    return sub, rg, ws


def open_workspace(connection: AzureConnection, args: argparse.Namespace, *, light: bool = False) -> Workspace:
    """The workspace named by flags, else the spec, else the environment's hints, else the sandbox's default.
    light: read without azure.ai.ml (Workspace.open)."""
    from rdeploy_tui import azure

    sandbox = bool(getattr(args, "sandbox", False))
    sub, rg, ws = workspace_names(args, sandbox=sandbox)
    return azure.Workspace.open(connection, sub, rg, ws, light=light)


def confirm(question: str, args: argparse.Namespace) -> bool:
    """--yes, or a y answer on a terminal. Without a terminal and without --yes: refuse (CI has no stdin)."""
    if getattr(args, "yes", False):
        return True
    if not sys.stdin.isatty():
        raise RdeployError(
            "This command changes Azure resources and needs a confirmation, but there is no terminal to ask on.",
            "Run it again with --yes.",
            code="Usage",  # a command line that cannot work unattended: exit 2
        )
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
