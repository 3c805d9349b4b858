"""The Dockerfile's install step, run for real with Rscript: the build must FAIL when a package is missing.

install.packages() only warns when a package is unavailable, so the generated RUN line checks
afterwards. Here R's repository is an empty local one (no network), so any package not already
installed cannot be installed, exactly like a typo'd or archived CRAN package.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from rdeploy_tui.deploy_folder.render import render
from rdeploy_tui.spec.deploy_spec import DeploySpec

pytestmark = pytest.mark.r


def install_step(packages: list[str]) -> str:
    spec = DeploySpec()
    spec.image.r_packages = packages
    dockerfile = render(spec).text("docker-context/Dockerfile")
    # Docker joins backslash-continued lines before the shell sees them.
    joined = re.sub(r"\\\n", "", dockerfile)
    run = next(line for line in joined.splitlines() if line.startswith("RUN "))
    match = re.fullmatch(r"RUN Rscript -e '(.*)'", run)
    assert match, run
    return match.group(1)


def run_install(tmp_path, packages):
    repo = tmp_path / "repo" / "src" / "contrib"
    repo.mkdir(parents=True)
    (repo / "PACKAGES").write_text("")
    profile = tmp_path / "Rprofile"
    profile.write_text(f'options(repos = c(CRAN = "file://{tmp_path / "repo"}"))\n')
    lib = tmp_path / "lib"
    lib.mkdir(exist_ok=True)
    env = dict(os.environ, R_PROFILE_USER=str(profile), R_LIBS_USER=str(lib))
    return subprocess.run(
        [shutil.which("Rscript"), "-e", install_step(packages)],
        capture_output=True, text=True, timeout=120, env=env,
    )


def test_missing_package_fails_the_build(tmp_path):
    result = run_install(tmp_path, ["jsonlite", "surelynotapackage"])
    assert result.returncode == 1
    assert "rdeploy: failed to install R packages: carrier, surelynotapackage" in result.stderr


def test_installed_packages_pass(tmp_path):
    # carrier is always requested; stand in for it with a tiny local package so the step has nothing to do.
    pkg = tmp_path / "src" / "carrier"
    (pkg / "R").mkdir(parents=True)
    (pkg / "DESCRIPTION").write_text("Package: carrier\nVersion: 0.0.1\nTitle: t\nDescription: t.\nLicense: MIT\nAuthor: a\nMaintainer: a <a@b.c>\n")
    (pkg / "NAMESPACE").write_text("")
    lib = tmp_path / "lib"
    lib.mkdir()
    built = subprocess.run(["R", "CMD", "INSTALL", "-l", str(lib), str(pkg)], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    result = run_install(tmp_path, ["jsonlite", "plumber"])
    assert result.returncode == 0, result.stderr
