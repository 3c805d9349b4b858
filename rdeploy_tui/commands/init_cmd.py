"""`rdeploy-tui init --out DIR`: write the deploy folder (and a default spec when there is none)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rdeploy_tui.commands.spec_args import add_spec_option, load_valid_spec, print_problems
from rdeploy_tui.deploy_folder.render import render, write_folder
from rdeploy_tui.spec.deploy_spec import SpecError, default_spec, save_spec


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "init",
        help="write the deploy folder (Dockerfile, start_plumber.R, plumber.R, endpoint.yml, deployment.yml)",
        description="Render the deploy folder from a spec. Creates the spec with defaults if it does not exist.",
    )
    add_spec_option(parser)
    parser.add_argument("--out", metavar="DIR", required=True, help="folder to write (created if missing)")
    parser.add_argument("--registry", metavar="LOGIN_SERVER", help="ACR login server, e.g. myacr.azurecr.io")
    parser.add_argument("--force", action="store_true", help="overwrite files in DIR that you have edited")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    spec_path = Path(args.spec)
    new_spec = not spec_path.exists()
    if new_spec:
        spec, problems = default_spec(), []
    else:
        spec, problems = load_valid_spec(spec_path)
        print_problems(problems, spec_path)
        if spec is None:
            return 1
    try:
        rendered = render(spec, base_dir=spec_path.parent, registry=args.registry)
    except SpecError as exc:
        print_problems(exc.problems, spec_path)
        return 1

    out = Path(args.out)
    if not args.force:
        edited = [rel for rel, content in rendered.files.items() if (out / rel).is_file() and (out / rel).read_bytes() != content]
        if edited:
            for rel in edited:
                print(f"{out / rel}: differs from what would be generated (edited by hand?)", file=sys.stderr)
            print("Nothing written. Use --force to overwrite, or --out another folder.", file=sys.stderr)
            return 1
    if new_spec:
        save_spec(spec, spec_path)
        print(f"wrote {spec_path} (defaults: edit it, then run init again)")
    for path in write_folder(rendered, out):
        print(f"wrote {path}")
    print(f"image: {rendered.image}")
    return 0
