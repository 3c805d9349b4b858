"""`rdeploy-tui init --out DIR`: write the deploy folder (and a default spec when there is none)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rdeploy_tui.commands.spec_args import (
    add_model_dir_option,
    add_spec_option,
    crate_packages,
    load_valid_spec,
    print_problems,
)
from rdeploy_tui.deploy_folder.render import render, write_folder
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.spec import base_images
from rdeploy_tui.spec.deploy_spec import DeploySpec, SpecError, default_spec, save_spec


def _refresh(spec: DeploySpec) -> list[str]:
    """Move the base image and the package snapshot forward; returns what changed, as lines to print."""
    changes = []
    base = base_images.newest(spec.image.base)
    if base != spec.image.base:
        changes.append(f"image.base: {spec.image.base} -> {base}")
        spec.image.base = base
    elif base_images.lookup(base) is None:
        changes.append(f"image.base: {base} is not in rdeploy-tui's table of base images; left as it is")
    snapshot = base_images.snapshot_today()
    if spec.image.package_snapshot not in ("none", snapshot):
        changes.append(f"image.package_snapshot: {spec.image.package_snapshot} -> {snapshot}")
        spec.image.package_snapshot = snapshot
    return [c for c in changes if "->" in c] + [c for c in changes if "->" not in c]


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
    add_model_dir_option(parser, "a new spec lists the R packages its crate uses (read with local R)")
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="move image.base to its newest version tag and image.package_snapshot to yesterday's date "
        "(this changes the image and its auto tag), and save the spec",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    spec_path = Path(args.spec)
    new_spec = not spec_path.exists()
    if new_spec:
        spec, problems = default_spec(), []
        # a new spec pins what "now" means: the base image's version tag and a dated package snapshot
        spec.image.base = base_images.pinned(spec.image.base)
        spec.image.package_snapshot = base_images.snapshot_today()
        if args.model_dir:
            packages, error = crate_packages(args.model_dir)
            if error:
                print(
                    f"image.r_packages left empty: the packages the model uses could not be read: {error}",
                    file=sys.stderr,
                )
            else:
                spec.image.r_packages = [p for p in packages if p not in ("plumber", "carrier")]
                print(f"image.r_packages from the crate: {', '.join(spec.image.r_packages) or '(none beyond base R)'}")
    else:
        spec, problems = load_valid_spec(spec_path)
        print_problems(problems, spec_path)
        if spec is None:
            return 1
    changes = _refresh(spec) if args.refresh else []
    try:
        rendered = render(spec, base_dir=spec_path.parent, registry=args.registry)
    except SpecError as exc:
        print_problems(exc.problems, spec_path)
        return 1

    out = Path(args.out)
    if not args.force:
        edited = [
            rel
            for rel, content in rendered.files.items()
            if (out / rel).is_file() and (out / rel).read_bytes() != content
        ]
        if edited:
            for rel in edited:
                print(f"{out / rel}: differs from what would be generated (edited by hand?)", file=sys.stderr)
            print("Nothing written. Use --force to overwrite, or --out another folder.", file=sys.stderr)
            return 1
    try:
        if new_spec:
            save_spec(spec, spec_path)
            print(f"wrote {spec_path} (defaults: edit it, then run init again)")
        elif args.refresh:
            for change in changes or ["nothing to move: base image and package snapshot are current"]:
                print(change)
            if changes:
                save_spec(spec, spec_path)
                print(f"wrote {spec_path}")
        for path in write_folder(rendered, out):
            print(f"wrote {path}")
    except OSError as exc:  # --out is a file, under a file, read-only, the disk is full ...
        where = exc.filename or out
        raise RdeployError(
            f"Cannot write {where}: {exc.strerror or exc}.",
            f"Choose a folder you can write for --out (it is created if missing; {out} must not be a file).",
        ) from None
    print(f"image: {rendered.image}")
    return 0
