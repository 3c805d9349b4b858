"""No command: open the wizard. Textual is imported only here, so other commands never pay for it."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse


def run(args: argparse.Namespace) -> int:
    from rdeploy_tui.ui.app import run_app  # textual: ~0.25 s, only for the wizard
    from rdeploy_tui.connection_options import ConnectionOptions

    return run_app(ConnectionOptions.from_args(args))
