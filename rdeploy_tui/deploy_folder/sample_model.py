"""The sample model: a real crate (a serialized R closure carrying its fitted values) that lets
`rdeploy-tui local` and the sandbox run end to end before the user has a model of their own.

assets/sample-model/make_crate.R is its source; crate.bin beside it is the prebuilt result, shipped so
that machines without R (the sandbox, CI jobs without R) can still register it. Rebuilding it with this
machine's R is rdeploy_tui.local.sample_crate's job.
"""

from __future__ import annotations

from pathlib import Path

from rdeploy_tui.deploy_folder.templates import asset
from rdeploy_tui.spec.model_files import CRATE_FILENAME

__all__ = ["CRATE_FILENAME", "SAMPLE_REQUEST", "sample_crate_path", "sample_model_dir"]

# What the sample model answers to; the spec's default sample request.
SAMPLE_REQUEST = {"forecast_horizon": [2]}


def sample_model_dir() -> Path:
    return asset("sample-model")


def sample_crate_path() -> Path:
    """The shipped, prebuilt crate."""
    return sample_model_dir() / CRATE_FILENAME
