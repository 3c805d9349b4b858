"""Command-line entry: `rdeploy-tui [command]`. No command opens the wizard.

Each subcommand lives in rdeploy_tui/commands/<name>.py; this module only wires them up and turns
every failure into a message and an exit code (0 ok, 1 failed, 2 usage), never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from typing import Sequence

from rdeploy_tui import __version__
from rdeploy_tui.errors import RdeployError

# Modules under rdeploy_tui.commands, in the order `--help` lists them.
COMMANDS = ("init_cmd", "validate_cmd", "local_cmd", "sandbox_cmd")


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Where Azure is: real Azure (default), a sovereign cloud, any ARM endpoint, or the built-in sandbox."""
    group = parser.add_argument_group("Azure connection")
    group.add_argument("--sandbox", action="store_true", help="use the built-in Azure sandbox (no account needed)")
    group.add_argument("--cloud", metavar="NAME", help="Azure cloud: AzureCloud (default), AzureChinaCloud, AzureUSGovernment")
    group.add_argument("--arm-endpoint", metavar="URL", help="any other Azure Resource Manager endpoint (https)")
    group.add_argument("--ca-bundle", metavar="FILE", help="CA certificates to trust for --arm-endpoint")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rdeploy-tui",
        description="Deploy R models (carrier crates served by plumber) to Azure Machine Learning online endpoints.",
    )
    parser.add_argument("--version", action="version", version=f"rdeploy-tui {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"rdeploy_tui.commands.{name}").register(sub)
    return parser


def _report_crash(exc: BaseException) -> int:
    """An unexpected error: one line for the user, the traceback in a file for a bug report."""
    from rdeploy_tui.logfile import crash_log_path

    path = crash_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        where = f"; details were saved to {path}"
    except OSError:
        where = ""
    print(f"rdeploy-tui: unexpected error: {type(exc).__name__}: {exc}{where}", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 0
    try:
        return int(run(args) or 0)
    except RdeployError as exc:
        print(f"rdeploy-tui: {exc.what}", file=sys.stderr)
        if exc.next_step:
            print(f"Next: {exc.next_step}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rdeploy-tui: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the user must never see a traceback
        return _report_crash(exc)
