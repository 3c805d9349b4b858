"""`rdeploy-tui models register --path DIR --name N | list`: the registered model the how-to starts from
(`az ml model create --type custom_model --path DIR`), without the az CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdeploy_tui.commands.azure_args import connect, open_workspace, workspace_actions
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.local.model_folder import MODEL_FILES

if TYPE_CHECKING:
    from rdeploy_tui.local.model_reader import ModelReading


def register(sub: argparse._SubParsersAction) -> None:
    action = workspace_actions(
        sub, "models", "register a model folder (crate.bin, an .rds or a vetiver pins board) or list models", run
    )

    p = action(
        "register",
        "register a local model folder as the next version of a model, after reading it with R "
        "(a crate saved either way, a fitted model's .rds, or a vetiver model pinned to a board folder)",
    )
    p.add_argument("--path", required=True, metavar="DIR", help=f"the folder holding the model ({MODEL_FILES})")
    p.add_argument(
        "--name",
        required=True,
        help="the model's name: a new name starts at version 1; a registered one is refused unless --new-version",
    )
    p.add_argument(
        "--new-version",
        action="store_true",
        help="when --name is already registered, add this folder as its next version (without it, nothing is "
        "registered: a second run of the same command never makes a version by accident)",
    )
    p.add_argument("--description")
    p.add_argument(
        "--no-check",
        action="store_true",
        help="register without reading the folder with R first (when this machine has no R)",
    )
    action("list", "registered models and their latest versions")


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "action", None):
        args._parser.print_help()
        return 2
    from rdeploy_tui.spec import rules

    reading = None
    data: object  # the --json answer
    if args.action == "register":  # check the folder before connecting: a wrong path is a usage error
        folder = Path(args.path).expanduser()
        name_problem = rules.check_model_name(args.name)
        if name_problem:
            raise RdeployError(f"{name_problem[0].upper()}{name_problem[1:]}.", "Choose another --name.", code="Usage")
        _check_path(folder, args)
    with connect(args) as session:
        ws = open_workspace(session, args)
        if args.action == "register":
            # A registered name gets a new version only when asked (--new-version): a second run of the same
            # command, or a name that happens to be taken, never makes a version silently.
            before = next((m.latest_version for m in ws.list_models() if m.name == args.name), None)
            if before is not None and not args.new_version:
                raise RdeployError(
                    f"Not registered: model {args.name} already exists in workspace {ws.name} (latest version "
                    f"{before}).",
                    f"Add --new-version to register {args.path} as its next version, or choose another --name.",
                    code="Usage",
                )
            reading = _read_folder(folder, args)
            model = ws.register_model(folder.resolve(), args.name, description=args.description)
            data = {
                "name": model.name,
                "version": model.latest_version,
                "workspace": ws.name,
                "new_model": before is None,
                "previous_version": before,
                **_reading_data(reading),
            }
            added = f" (its previous version: {before})" if before is not None else " (a new model)"
            text = (
                f"Registered {folder} as model {model.name} version {model.latest_version} in workspace "
                f"{ws.name}{added}.\n"
                f"Deploy it: in the wizard pick {model.name}, or set model.name: {model.name} in rdeploy.yaml"
                + (f" (and run rdeploy-tui init --model-dir {folder} to record what it holds)." if reading else ".")
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


def _check_path(folder: Path, args: argparse.Namespace) -> None:
    """A folder that holds no model file is a usage error, said before connecting."""
    from rdeploy_tui.local.model_folder import model_folder_problem

    problem = model_folder_problem(folder)
    if problem:
        raise RdeployError(
            f"Cannot register {args.path}: {problem}.", "Give the folder holding the model.", code="Usage"
        )


def _read_folder(folder: Path, args: argparse.Namespace) -> ModelReading | None:
    """Read the folder with R before anything is uploaded, and say what it holds; a folder R cannot read as a model is
    refused. None with --no-check."""
    if args.no_check:
        return None
    from rdeploy_tui.local.model_reader import NO_R, read_model
    from rdeploy_tui.local.plumber import R_INSTALL_COMMAND

    reading = read_model(folder)
    if reading.error == NO_R:
        raise RdeployError(
            f"Cannot check {args.path} before registering it: {NO_R}.",
            f"Install R ({R_INSTALL_COMMAND}), or register it unchecked with --no-check.",
        )
    if not reading.ok:
        raise RdeployError(
            f"Not registered: {args.path} does not hold a model R can load: {reading.error}.",
            f"{reading.next_step[:1].upper()}{reading.next_step[1:]}." if reading.next_step else "Check the folder.",
            code="Usage",
        )
    if not args.json:
        print(f"Read {folder} with R: {reading.summary()}.")
        print(f"It takes {reading.input_text()}.")
        if reading.packages:
            print(f"It needs the R packages {', '.join(reading.packages)}.")
        for note in reading.notes:
            print(f"Note: {note}.")
    return reading


def _reading_data(reading: ModelReading | None) -> dict[str, Any]:
    if reading is None:
        return {"checked": False}
    return {
        "checked": True,
        "kind": reading.kind,
        "file": reading.file,
        "form": reading.form,
        "packages": reading.packages,
    }
