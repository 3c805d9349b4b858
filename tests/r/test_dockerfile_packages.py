"""The image's install step (docker-context/install_packages.R), run for real with Rscript: the build must FAIL when
a package is missing, when pak cannot be had, and when a package installs but does not load.

CRAN is not reachable here, so R's repository is an empty local one (any package not installed cannot be installed,
like a typo'd or archived CRAN package) and the spec asks for no snapshot (package_snapshot: none). Stand-in packages
built with `R CMD INSTALL` play carrier, pak and a package whose system library is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from rdeploy_tui.deploy_folder.render import render
from rdeploy_tui.spec.deploy_spec import DeploySpec

pytestmark = pytest.mark.r


def install_script(tmp_path, packages: list[str]):
    spec = DeploySpec()
    spec.image.r_packages = packages
    spec.image.package_snapshot = "none"
    script = tmp_path / "install_packages.R"
    script.write_bytes(render(spec).files["docker-context/install_packages.R"])
    return script


def fake_package(tmp_path, name: str, *, body: str = "", namespace: str = "") -> None:
    """Install a tiny package into tmp_path/lib."""
    pkg = tmp_path / "src" / name
    (pkg / "R").mkdir(parents=True)
    (pkg / "DESCRIPTION").write_text(
        f"Package: {name}\nVersion: 0.0.1\nTitle: t\nDescription: t.\nLicense: MIT\nAuthor: a\nMaintainer: a <a@b.c>\n"
    )
    (pkg / "NAMESPACE").write_text(namespace)
    (pkg / "R" / "code.R").write_text(body)
    lib = tmp_path / "lib"
    lib.mkdir(exist_ok=True)
    built = subprocess.run(
        ["R", "CMD", "INSTALL", "--no-test-load", "-l", str(lib), str(pkg)], capture_output=True, text=True, timeout=120
    )
    assert built.returncode == 0, built.stderr


def run_install(tmp_path, packages):
    repo = tmp_path / "repo" / "src" / "contrib"
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "PACKAGES").write_text("")
    profile = tmp_path / "Rprofile"
    profile.write_text(f'options(repos = c(CRAN = "file://{tmp_path / "repo"}"))\n')
    lib = tmp_path / "lib"
    lib.mkdir(exist_ok=True)
    env = dict(os.environ, R_PROFILE_USER=str(profile), R_LIBS_USER=str(lib))
    return subprocess.run(
        [shutil.which("Rscript"), str(install_script(tmp_path, packages))],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_installed_packages_load_and_pass(tmp_path):
    fake_package(tmp_path, "carrier")
    result = run_install(tmp_path, ["jsonlite"])
    assert result.returncode == 0, result.stderr
    assert "rdeploy: 3 R packages load: plumber, carrier, jsonlite" in result.stderr


def test_missing_package_without_pak_fails_the_build(tmp_path):
    result = run_install(tmp_path, ["jsonlite", "surelynotapackage"])
    assert result.returncode == 1
    assert "rdeploy: could not install pak from file://" in result.stderr


def test_pak_is_asked_for_exactly_the_missing_packages_and_its_failure_fails_the_build(tmp_path):
    asked = tmp_path / "asked.txt"
    fake_package(
        tmp_path,
        "pak",
        namespace="export(pkg_install)\n",
        body=(
            "pkg_install <- function(pkg, upgrade = FALSE, ask = TRUE) {\n"
            f"  writeLines(pkg, '{asked}')\n"
            "  stop('Cannot install packages: Can\\'t find package called surelynotapackage.')\n}\n"
        ),
    )
    result = run_install(tmp_path, ["jsonlite", "surelynotapackage"])
    assert result.returncode == 1
    assert asked.read_text().split() == ["carrier", "surelynotapackage"]  # plumber and jsonlite are already here
    assert "Can't find package called surelynotapackage" in result.stderr


def test_a_package_that_installs_but_does_not_load_fails_the_build_with_rs_reason(tmp_path):
    fake_package(tmp_path, "carrier")
    # as sf does without GDAL: installed, but loading its shared object fails
    fake_package(
        tmp_path,
        "geoish",
        body=(
            ".onLoad <- function(libname, pkgname) stop(\"unable to load shared object 'geoish.so':\\n"
            '  libgdal.so.34: cannot open shared object file: No such file or directory")\n'
        ),
    )
    result = run_install(tmp_path, ["jsonlite", "geoish"])
    assert result.returncode == 1
    assert "rdeploy: R packages that do not load: geoish: " in result.stderr
    assert "libgdal.so.34: cannot open shared object file" in result.stderr
