"""The sample model: a real crate (a serialized R closure carrying its fitted values) that lets
`rdeploy-tui local` and the sandbox run end to end before the user has a model of their own.

assets/sample-model/make_crate.R is its source; crate.bin beside it is the prebuilt result, shipped so
that machines without R (the sandbox, CI jobs without R) can still register it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from rdeploy_tui.deploy_folder.templates import asset
from rdeploy_tui.local.plumber import LocalRunError, find_rscript, r_missing_error
from rdeploy_tui.spec.model_files import CRATE_FILENAME

__all__ = ["CRATE_FILENAME", "SAMPLE_REQUEST", "build_sample_crate", "sample_crate_path", "sample_model_dir"]

# What the sample model answers to; the spec's default sample request.
SAMPLE_REQUEST = {"forecast_horizon": [2]}


def sample_model_dir() -> Path:
    return asset("sample-model")


def sample_crate_path() -> Path:
    """The shipped, prebuilt crate."""
    return sample_model_dir() / CRATE_FILENAME


def build_sample_crate(dest_dir: Path, *, rscript: str | None = None, timeout: float = 60.0) -> Path:
    """Rebuild crate.bin from make_crate.R into dest_dir with a real Rscript; returns its path."""
    rscript = rscript or find_rscript()
    if rscript is None:
        raise r_missing_error()
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    script = sample_model_dir() / "make_crate.R"
    try:
        done = subprocess.run(
            [rscript, "--vanilla", str(script), str(dest_dir.resolve())],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LocalRunError(
            f"building the sample model took more than {timeout:g} s",
            "check that R starts: Rscript -e 'R.version.string'",
        ) from exc
    except OSError as exc:
        raise LocalRunError(f"cannot run {rscript}: {exc}", "check the R installation") from exc
    path = dest_dir / CRATE_FILENAME
    if done.returncode != 0 or not path.is_file():
        raise LocalRunError(
            f"building the sample model failed (Rscript exit code {done.returncode})",
            f"run it yourself to see why: Rscript {script} {dest_dir}",
            details=(done.stdout + done.stderr).strip(),
        )
    return path
