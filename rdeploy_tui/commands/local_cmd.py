"""`rdeploy-tui local --spec FILE [--model-dir DIR] [--json]`: run the scoring API here and check it.

Exit 0 when every check passes (warnings allowed), 1 when one fails, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from rdeploy_tui.commands.spec_args import add_spec_option, load_valid_spec, print_problems

if TYPE_CHECKING:  # local_checks pulls in httpx & co (~40 ms): only `local` itself pays for it
    from rdeploy_tui.local.checks import LocalEvent, LocalReport

_MARK = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "local",
        help="run the plumber API on this machine as the container would, and check it",
        description=(
            "Render the deploy folder, start its plumber API on a free 127.0.0.1 port (Rscript, or docker where an "
            "engine answers) with Azure ML's container variables, wait for the ready route, score the spec's "
            "sample request and check the answer."
        ),
    )
    add_spec_option(parser)
    parser.add_argument(
        "--model-dir",
        metavar="DIR",
        help="the model's folder (crate.bin, an .rds or a pins board; read with R, its kind must be the spec's "
        "model.kind); default: the built-in sample model (a crate)",
    )
    parser.add_argument(
        "--runner",
        choices=("auto", "rscript", "docker"),
        default="auto",
        help="auto (default): docker when an engine answers, else Rscript",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    spec_path = Path(args.spec)
    spec, problems = load_valid_spec(spec_path)
    print_problems(problems, spec_path)
    if spec is None:
        return 1
    model_dir = Path(args.model_dir) if args.model_dir else None
    on_event = None if args.json else _print_event
    from rdeploy_tui.local.checks import run_local_checks

    report = run_local_checks(spec, spec_path.parent, model_dir, runner=args.runner, on_event=on_event)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        _print_summary(report)
    return 0 if report.ok else 1


def _print_event(event: LocalEvent) -> None:
    if event.kind == "step":
        print(f"  .. {event.text}", flush=True)
        return
    check = event.check
    assert check is not None
    print(f"{_MARK[check.status]}  {check.name}: {_indent(check.message)}", flush=True)
    if check.next_step and check.status != "ok":
        print(f"      next: {_indent(check.next_step)}", flush=True)
    if check.status == "fail" and check.details:
        print(_indent_block(_tail(check.details)), flush=True)


def _print_summary(report: LocalReport) -> None:
    fails = [c.name for c in report.checks if c.status == "fail"]
    warns = [c.name for c in report.checks if c.status == "warn"]
    if fails:
        print(f"local run FAILED: {', '.join(fails)}")
    else:
        extra = f" ({len(warns)} warning(s): {', '.join(warns)})" if warns else ""
        print(f"local run passed{extra}")


def _indent(text: str) -> str:
    return text.replace("\n", "\n      ")


def _tail(text: str, lines: int = 20) -> str:
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join(kept)


def _indent_block(text: str) -> str:
    return "\n".join("      | " + line for line in text.splitlines())
