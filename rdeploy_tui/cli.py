"""Command-line entry: `rdeploy-tui [command]`. No command opens the wizard.

Each subcommand lives in rdeploy_tui/commands/<name>.py; this module only wires them up and turns
every failure into a message and an exit code (0 ok, 1 failed, 2 usage), never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TextIO

from rdeploy_tui import __version__
from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    import argparse

# Modules under rdeploy_tui.commands, in the order `--help` lists them.
COMMANDS = (
    "init_cmd",
    "validate_cmd",
    "local_cmd",
    "sandbox_cmd",
    "deploy_cmd",
    "rollout_cmd",
    "endpoints_cmd",
    "models_cmd",
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with `only` the parser of that one command: importing every command module (and
    what each imports: the spec rules, the deploy folder, the pipeline's events ...) costs a day-2 command
    ~0.1 s of its 0.8 s budget (issue 17), and argparse needs the other subparsers only for the root --help."""
    import argparse

    from rdeploy_tui.connection_options import add_connection_options

    parser = argparse.ArgumentParser(
        prog="rdeploy-tui",
        description="Deploy R models (carrier crates served by plumber) to Azure Machine Learning online endpoints.",
        epilog=WIZARD_NOTE,
    )
    parser.add_argument("--version", action="version", version=f"rdeploy-tui {__version__}")
    add_connection_options(parser, root=True)  # for the wizard, and for commands given it before their name
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"rdeploy_tui.commands.{name}").register(sub)
    return parser


WIZARD_NOTE = (
    "Without a COMMAND, rdeploy-tui opens the wizard (a full-screen terminal UI; add --sandbox to try it without an "
    "Azure account). No COMMAND opens the wizard: each one prints what it does and exits, for scripts, CI and pipes."
)


class _StdoutOrTerminal:
    """sys.stdout that outlives its reader: when a pipe's reader is gone (`deploy | tee log`, then Ctrl+C ends tee
    first; `| head`), the rest of the output goes to stderr, the terminal, instead of ending in BrokenPipeError and
    losing what the user most needs then, the cancel summary. Python ignores SIGPIPE, so a closed pipe is EPIPE here."""

    def __init__(self, stdout: TextIO, stderr: TextIO) -> None:
        self._out, self._err, self._gone = stdout, stderr, False

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                return self._out.write(text)
            except BrokenPipeError:
                self._switch()
        return self._err.write(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._out.flush()
                return
            except BrokenPipeError:
                self._switch()
        self._err.flush()

    def _switch(self) -> None:
        import os

        self._gone = True
        try:  # what is still buffered for the closed pipe must not fail again at exit
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._out.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        self._err.write("rdeploy-tui: the output pipe was closed; the rest goes to the terminal (stderr)\n")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._out, name)


def _report_crash(exc: BaseException) -> int:
    """An unexpected error: one line for the user, the traceback in a file for a bug report."""
    from rdeploy_tui.logfile import save_crash

    print(f"rdeploy-tui: unexpected error: {type(exc).__name__}: {exc}; {save_crash(exc)}", file=sys.stderr)
    return 1


def _root_options(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """The connection options given before any command, and the rest of the line."""
    import argparse

    from rdeploy_tui.connection_options import add_connection_options

    root = argparse.ArgumentParser(prog="rdeploy-tui", add_help=False)
    add_connection_options(root, root=True)
    return root.parse_known_args(argv)


def _command_module(argv: list[str]) -> str | None:
    """The module of the command named on this line (after any root connection options), if any."""
    _, rest = _root_options(argv)
    module = f"{rest[0]}_cmd" if rest else None
    return module if module in COMMANDS else None


def _wizard_args(argv: list[str]) -> argparse.Namespace | SimpleNamespace | None:
    """The options when no command is given (the wizard), parsed without importing every command
    module: that costs ~0.1 s, and the wizard's first paint has a 0.4 s budget. None: not the wizard."""
    if argv in ([], ["--sandbox"]):  # how it is almost always launched: not even argparse (~4 ms)
        return SimpleNamespace(sandbox=bool(argv), cloud=None, arm_endpoint=None, ca_bundle=None)
    if any(a in ("-h", "--help", "--version") for a in argv):
        return None
    args, rest = _root_options(argv)
    return None if rest else args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _wizard_args(argv)
    if args is None:
        args = build_parser(_command_module(argv)).parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        from rdeploy_tui.commands import ui_cmd

        return _run(ui_cmd.run, args)  # the wizard owns the terminal
    stdout = sys.stdout
    if stdout is not None and sys.stderr is not None and not isinstance(stdout, _StdoutOrTerminal):
        sys.stdout = _StdoutOrTerminal(stdout, sys.stderr)
    try:
        return _run(run, args)
    finally:
        sys.stdout = stdout


def _run(run: Callable[[Any], int | None], args: argparse.Namespace | SimpleNamespace) -> int:
    """A command's exit code: every failure a message (0 ok, 1 failed, 2 usage, 130 interrupted), no traceback.
    `run` reads its options by attribute: the parsed Namespace, or the wizard's SimpleNamespace (no argparse)."""
    try:
        return int(run(args) or 0)
    except RdeployError as exc:
        print(f"rdeploy-tui: {exc.what}", file=sys.stderr)
        if exc.next_step:
            print(f"Next: {exc.next_step}", file=sys.stderr)
        return 2 if exc.code == "Usage" else 1  # a misused command line is a usage error (exit 2)
    except KeyboardInterrupt:
        print("rdeploy-tui: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _report_crash(exc)
