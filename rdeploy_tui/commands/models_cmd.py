"""`rdeploy-tui models register --path DIR --name N | list`: the registered model the how-to starts from
(`az ml model create --type custom_model --path DIR`), without the az CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rdeploy_tui.commands.azure_args import connect, open_workspace, workspace_actions
from rdeploy_tui.errors import RdeployError


def register(sub: argparse._SubParsersAction) -> None:
    action = workspace_actions(
        sub, "models", "register a model folder (holding crate.bin) or list registered models", run
    )

    p = action("register", "register a local folder holding crate.bin as the next version of a model")
    p.add_argument("--path", required=True, metavar="DIR", help="the folder holding crate.bin")
    p.add_argument("--name", required=True, help="the model's name (a new name starts at version 1)")
    p.add_argument("--description")
    action("list", "registered models and their latest versions")


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "action", None):
        args._parser.print_help()
        return 2
    from rdeploy_tui.spec import rules

    if args.action == "register":  # check the folder before connecting: a wrong path is a usage error
        from rdeploy_tui.local.model_folder import model_folder_problem

        folder = Path(args.path).expanduser()
        problem = model_folder_problem(folder)
        if problem:
            raise RdeployError(
                f"Cannot register {args.path}: {problem}.", "Give the folder holding crate.bin.", code="Usage"
            )
        name_problem = rules.check_model_name(args.name)
        if name_problem:
            raise RdeployError(f"{name_problem[0].upper()}{name_problem[1:]}.", "Choose another --name.", code="Usage")
    with connect(args) as session:
        ws = open_workspace(session, args)
        if args.action == "register":
            model = ws.register_model(folder.resolve(), args.name, description=args.description)
            data = {"name": model.name, "version": model.latest_version, "workspace": ws.name}
            text = (
                f"Registered {folder} as model {model.name} version {model.latest_version} in workspace {ws.name}.\n"
                f"Deploy it: in the wizard pick {model.name}, or set model.name: {model.name} in rdeploy.yaml."
            )
        else:
            models = ws.list_models()
            data = [{"name": m.name, "latest_version": m.latest_version} for m in models]
            text = (
                "\n".join(
                    [f"Registered models in workspace {ws.name}:"]
                    + [f"  {m.name} (latest version {m.latest_version or '-'})" for m in models]
                )
                if models
                else f"No registered models in workspace {ws.name}."
            )
    print(json.dumps(data, indent=2) if args.json else text)
    return 0
