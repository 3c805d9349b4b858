"""The real az CLI (azure-cli from PyPI, installed by dev.sh into its own venv) driven against a sandbox."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DEFAULT_AZ = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rdeploy-tui" / "azure-cli-venv" / "bin" / "az"
)
AZ_TIMEOUT_S = 240  # one az command, on a busy 2-core machine (az itself starts in ~1-2 s)


def az_path() -> Path | None:
    for candidate in (os.environ.get("RDEPLOY_AZ"), str(DEFAULT_AZ), shutil.which("az")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def require_az() -> Path:
    """The az CLI, or the test skipped (failed in CI, where dev.sh installs it: those tests must run there)."""
    import pytest

    az = az_path()
    if az is None:
        reason = "azure-cli is not installed (bash dev.sh test installs it into ~/.cache/rdeploy-tui/azure-cli-venv)"
        if IN_CI:
            pytest.fail(f"the az CLI tests must run in CI: {reason}")
        pytest.skip(reason)
    return az


def base_env(az: Path, config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "ARM_", "MSI_", "IDENTITY_"))}
    env.update(
        AZURE_CONFIG_DIR=str(config_dir),
        AZURE_CORE_COLLECT_TELEMETRY="false",
        AZURE_CORE_SURVEY_MESSAGE="false",
        AZURE_CORE_NO_COLOR="true",
        PATH=f"{az.parent}{os.pathsep}{env.get('PATH', '')}",  # `az` in the printed recipe is this one
    )
    return env


def run_az(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=AZ_TIMEOUT_S, stdin=subprocess.DEVNULL
    )


def signed_in(sandbox, az: Path, config_dir: Path) -> tuple[dict[str, str], subprocess.CompletedProcess[str]]:
    """Run the printed recipe in bash; return the environment it leaves (for the commands that follow) and its
    result."""
    from rdeploy_tui.commands.sandbox_cmd import az_recipe

    script = "set -e\n" + "\n".join(az_recipe(sandbox)) + "\nenv -0 > env.dump\n"
    config_dir.mkdir(parents=True, exist_ok=True)
    done = run_az(["bash", "-c", script], base_env(az, config_dir), cwd=config_dir)
    assert done.returncode == 0, f"the printed az recipe failed:\n{done.stdout}\n{done.stderr}"
    pairs = (config_dir / "env.dump").read_bytes().split(b"\0")
    env = dict(p.decode().split("=", 1) for p in pairs if b"=" in p)
    return env, done
