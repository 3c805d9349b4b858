"""No command: open the wizard. Textual is imported only here, so other commands never pay for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse


def run(args: argparse.Namespace) -> int:
    import gc

    # Launching allocates much and frees little, so collections then only cost time (~3 % of the
    # first frame, which has a 0.4 s budget): the app turns them back on once its first screen is up.
    gc.disable()
    from rdeploy_tui.connection_options import ConnectionOptions
    from rdeploy_tui.ui.app import run_app  # textual: ~0.25 s, only for the wizard

    return run_app(ConnectionOptions.from_args(args))
