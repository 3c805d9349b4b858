"""`rdeploy-tui local` runs every kind of model for real with this machine's R, after `init --model-dir` recorded it;
and a package missing here is named with advice that exists (issue 23.9)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from r_models import build

from rdeploy_tui.cli import main

pytestmark = pytest.mark.r


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", *args], cwd=cwd, capture_output=True, text=True, timeout=180
    )


def init(tmp_path: Path, model_dir: Path, sample=None) -> Path:
    done = cli("init", "--out", "deploy", "--model-dir", str(model_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    spec = tmp_path / "rdeploy.yaml"
    if sample is not None:  # a model that records no values: the user writes a row, as init asked
        data = yaml.safe_load(spec.read_text())
        data["scoring"]["sample_request"] = sample
        spec.write_text(yaml.safe_dump(data))
    return spec


@pytest.mark.parametrize(
    ("kind", "sample"),
    [
        ("crate-serialize", {"speed": [4, 10]}),
        ("crate-saverds", {"speed": [4, 10]}),
        ("lm", None),
        ("glm", None),
        ("ranger", [{"speed": 4}, {"speed": 20}]),
        ("vetiver-lm", None),
        ("vetiver-ranger", [{"speed": 4}]),
    ],
)
def test_local_passes_for_every_kind_with_the_models_own_numbers(tmp_path, kind, sample):
    model_dir = build(kind, tmp_path / "model")
    spec = init(tmp_path, model_dir, sample)
    done = cli("local", "--spec", str(spec), "--model-dir", str(model_dir), "--runner", "rscript", cwd=tmp_path)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "ok    model: " in out
    assert "ok    score: POST /score" in out
    # the API's numbers are the model's own, computed in R beside it (not rounded to 4 decimal places)
    assert "ok    precision: all " in out and "numbers match" in out
    assert "local run passed" in out and "Traceback" not in out + done.stderr


def test_local_refuses_a_folder_whose_kind_the_spec_does_not_say(tmp_path, capsys):
    spec = init(tmp_path, build("lm", tmp_path / "lm"))
    crate = build("crate-saverds", tmp_path / "crate")
    rc = main(["local", "--spec", str(spec), "--model-dir", str(crate), "--runner", "rscript"])
    out = capsys.readouterr().out
    assert rc == 1
    assert (
        "FAIL  model: the folder holds a crate (an R function of speed) in crate.bin, saved with plain "
        "saveRDS(crate, ...), but the spec says model.kind fitted, model.file model.rds: the generated API would not "
        "load it"
    ) in out
    assert f"next: record what the folder holds: rdeploy-tui init --model-dir {crate}" in out


def test_a_package_missing_here_is_named_in_a_whole_sentence_with_advice_that_exists(tmp_path, capsys):
    model_dir = build("crate-serialize", tmp_path / "model")
    spec = init(tmp_path, model_dir, {"speed": [4]})
    data = yaml.safe_load(spec.read_text())
    data["image"]["r_packages"] = ["forecast", "nosuchpkg"]  # Debian packages forecast (not installed here)
    spec.write_text(yaml.safe_dump(data))
    rc = main(["local", "--spec", str(spec), "--model-dir", str(model_dir), "--runner", "rscript"])
    out = capsys.readouterr().out
    assert rc == 1
    assert (
        "FAIL  packages: R packages forecast, nosuchpkg from image.r_packages are not installed here, so this run "
        "cannot show what the endpoint, which installs them, will answer\n"
    ) in out
    assert (
        "next: install it here on Debian or Ubuntu: sudo apt-get install -y --no-install-recommends r-cran-forecast; "
        'or in R, from CRAN: install.packages(c("forecast")). '
        "'nosuchpkg' is not a CRAN package rdeploy-tui knows"
    ) in out
    assert "r-cran-nosuchpkg" not in out and '"nosuchpkg")' not in out  # never advised for installing


def test_a_model_that_needs_a_package_missing_here_stops_with_its_name_and_advice(tmp_path, capsys):
    """The crate calls zoo, which is not installed here: the run names it, with Debian's and CRAN's advice."""
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    crate = "f <- function(x) zoo::zoo(x); environment(f) <- new.env(parent = baseenv())"
    save = 'saveRDS(serialize(f, NULL), file.path(commandArgs(TRUE)[[1]], "crate.bin"))'
    made = subprocess.run(
        ["Rscript", "--vanilla", "-e", f"{crate}\n{save}", str(model_dir)], capture_output=True, text=True, timeout=60
    )
    assert made.returncode == 0, made.stderr
    spec = init(tmp_path, model_dir, {"x": [1, 2]})
    assert yaml.safe_load(spec.read_text())["image"]["r_packages"] == ["zoo"]
    rc = main(["local", "--spec", str(spec), "--model-dir", str(model_dir), "--runner", "rscript"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "FAIL  packages: R package zoo from image.r_packages is not installed here" in out
    # scoring meets R's own error: a 500 (the deployment's fault, not the caller's), named with the same advice
    assert 'FAIL  score: POST /score {"x": [1, 2]} answered 500: the model needs an R package this image lacks' in out
    assert (
        "next: the model needs the R package zoo, not installed here: install it here on Debian or Ubuntu: "
        'sudo apt-get install -y --no-install-recommends r-cran-zoo; or in R, from CRAN: install.packages(c("zoo"))'
    ) in out
