"""`rdeploy-tui init --out DIR`: write the deploy folder (and a default spec when there is none)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rdeploy_tui.commands.spec_args import (
    add_model_dir_option,
    add_spec_option,
    load_valid_spec,
    print_problems,
    read_model_dir,
)
from rdeploy_tui.deploy_folder.render import always_installed, render, write_folder
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.spec import base_images
from rdeploy_tui.spec.deploy_spec import DeploySpec, Problem, SpecError, default_spec, save_spec


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


def _read_model(spec: DeploySpec, model_dir: str) -> list[str]:
    """Record in the spec what the model folder holds, read with R; prints what was found and each change."""
    from rdeploy_tui.local.model_reader import apply_reading

    reading = read_model_dir(model_dir)
    if not reading.ok:
        print(
            f"{model_dir}: the model could not be read ({reading.error}); model.kind and image.r_packages left as "
            "they are" + (f". Next: {reading.next_step}" if reading.next_step else ""),
            file=sys.stderr,
        )
        return []
    print(f"model: {reading.summary()}")
    print(f"it takes {reading.input_text()}")
    changes = apply_reading(spec, reading)
    fixed = {p.lower() for p in always_installed(spec.model.kind)}
    have = {p.lower() for p in spec.image.r_packages}
    added = [p for p in reading.packages if p.lower() not in fixed | have]
    spec.image.r_packages = [p for p in spec.image.r_packages if p.lower() not in fixed] + added
    if added:
        changes.append(f"image.r_packages: added {', '.join(added)} (needed by the model)")
    elif not reading.packages:
        print(
            "the model needs no R packages beyond base R" + ("" if reading.packages_complete else " that R could read")
        )
    for line in [*changes, *reading.notes]:
        print(line)
    if reading.kind != "crate" and reading.sample_request is None:
        print(
            "no sample request could be made from the model: set scoring.sample_request to one row it takes",
            file=sys.stderr,
        )
    return changes


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
    add_model_dir_option(
        parser,
        "read with local R: the spec records what kind of model it is (model.kind, model.file), a sample request "
        "where the model has one, and lists the R packages it needs",
    )
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
    problems: list[Problem] = []
    if new_spec:
        spec = default_spec()
        # a new spec pins what "now" means: the base image's version tag and a dated package snapshot
        spec.image.base = base_images.pinned(spec.image.base)
        spec.image.package_snapshot = base_images.snapshot_today()
    else:
        loaded, problems = load_valid_spec(spec_path)
        print_problems(problems, spec_path)
        if loaded is None:
            return 1
        spec = loaded
    model_changes = _read_model(spec, args.model_dir) if args.model_dir else []
    changes = _refresh(spec) if args.refresh else []
    try:
        rendered = render(spec, base_dir=spec_path.parent, registry=args.registry)
    except SpecError as exc:
        print_problems(exc.problems, spec_path)
        if model_changes:  # what was read is kept: the spec is saved for the user to finish
            save_spec(spec, spec_path)
            print(f"wrote {spec_path} with what the model's folder holds; fix the problems above, then run init again")
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
        else:
            if args.refresh:
                for change in changes or ["nothing to move: base image and package snapshot are current"]:
                    print(change)
            if changes or model_changes:
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
