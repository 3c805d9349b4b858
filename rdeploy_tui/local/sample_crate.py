"""The sample crate rebuilt with this machine's R, from its source (assets/sample-model/make_crate.R): the local
test uses a fresh one when R is here, so the crate matches the R that serves it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from rdeploy_tui.deploy_folder.sample_model import sample_model_dir
from rdeploy_tui.local.plumber import LocalRunError, find_rscript, r_missing_error
from rdeploy_tui.spec.model_files import CRATE_FILENAME

__all__ = ["build_sample_crate"]


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
