"""Issue 13.4: the packages a crate uses, read from crate.bin with a real Rscript and codetools; init and validate."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from rdeploy_tui.local.crate_packages import read_crate_packages

pytestmark = pytest.mark.r

# Built the way carrier::crate builds one: a function whose environment (child of base) holds its values.
MAKE_CRATE = r"""
env <- new.env(parent = baseenv())
env$helper <- function(y) tibble::tibble(y = y)
env$model <- list(coef = 1.5, encode = jsonlite::toJSON)
f <- function(h) { library(zoo); requireNamespace("xts"); r <- forecast::forecast(model, h = h); stats::sd(h); helper(r) }
environment(f) <- env
dir.create(file.path(commandArgs(trailingOnly = TRUE)[[1]], "models"), recursive = TRUE)
saveRDS(serialize(f, NULL), file.path(commandArgs(trailingOnly = TRUE)[[1]], "models", "crate.bin"))
"""


@pytest.fixture
def model_dir(tmp_path):
    folder = tmp_path / "model"
    done = subprocess.run(["Rscript", "-e", MAKE_CRATE, str(folder)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return folder


def cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_crates_packages_are_read_from_calls_enclosed_functions_and_namespaces(model_dir):
    result = read_crate_packages(model_dir / "models" / "crate.bin")
    assert result.error is None
    # forecast:: in the body, library(zoo), requireNamespace("xts"), tibble:: in an enclosed function, jsonlite's
    # toJSON captured as a value; stats is base R
    assert result.packages == ["forecast", "jsonlite", "tibble", "xts", "zoo"]


def test_without_r_the_list_is_not_guessed(model_dir, monkeypatch):
    monkeypatch.setenv("RDEPLOY_RSCRIPT", "")
    result = read_crate_packages(model_dir / "models" / "crate.bin")
    assert result.packages == [] and "R is not installed" in result.error


def test_init_writes_them_and_validate_warns_about_missing_ones(model_dir, tmp_path):
    done = cli("init", "--out", "d", "--model-dir", str(model_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    packages = yaml.safe_load((tmp_path / "rdeploy.yaml").read_text())["image"]["r_packages"]
    assert packages == ["forecast", "jsonlite", "tibble", "xts", "zoo"]
    spec = tmp_path / "rdeploy.yaml"
    spec.write_text("".join(line for line in spec.read_text().splitlines(keepends=True) if line.strip() != "- tibble"))
    checked = cli("validate", "--model-dir", str(model_dir), cwd=tmp_path)
    assert checked.returncode == 0
    assert "warning: image.r_packages: the model uses R package 'tibble' (read from its crate.bin)" in checked.stderr
    unread = cli("validate", "--model-dir", str(tmp_path / "nothing"), cwd=tmp_path)
    assert unread.returncode == 0 and "could not be read: no crate.bin under" in unread.stderr
