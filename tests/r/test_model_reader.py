"""The model reader: what a model folder holds, said by a real Rscript (never guessed), for every kind; and what
`init --model-dir` and `validate --model-dir` make of it."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from r_models import build

from rdeploy_tui.local.model_reader import NO_R, InputColumn, read_model

pytestmark = pytest.mark.r

# A crate that calls packages in every way the reader looks for them.
MAKE_CRATE = r"""
env <- new.env(parent = baseenv())
env$helper <- function(y) tibble::tibble(y = y)
env$model <- list(coef = 1.5, encode = jsonlite::toJSON)
f <- function(h) {
  library(zoo); requireNamespace("xts"); r <- forecast::forecast(model, h = h); stats::sd(h); helper(r)
}
environment(f) <- env
dir.create(file.path(commandArgs(trailingOnly = TRUE)[[1]], "models"), recursive = TRUE)
saveRDS(serialize(f, NULL), file.path(commandArgs(trailingOnly = TRUE)[[1]], "models", "crate.bin"))
"""


def rscript(code: str, *args: str) -> None:
    done = subprocess.run(["Rscript", "--vanilla", "-e", code, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def crate_dir(tmp_path):
    folder = tmp_path / "crate"
    rscript(MAKE_CRATE, str(folder))
    return folder


def test_a_crates_packages_are_read_from_calls_enclosed_functions_and_namespaces(crate_dir):
    reading = read_model(crate_dir)
    assert reading.ok, reading.error
    assert (reading.kind, reading.file, reading.form, reading.arguments) == (
        "crate",
        "crate.bin",  # models/crate.bin, named as the generated API finds it (models/ first)
        "serialize",
        ("h",),
    )
    # forecast:: in the body, library(zoo), requireNamespace("xts"), tibble:: in an enclosed function, jsonlite's
    # toJSON captured as a value; stats is base R
    assert reading.packages == ["forecast", "jsonlite", "tibble", "xts", "zoo"]
    assert set(reading.missing) == {"forecast", "tibble", "xts", "zoo"}  # not installed on this machine
    assert reading.summary() == (
        "a crate (an R function of h) in crate.bin, saved with saveRDS(serialize(crate, NULL), ...), the how-to's form"
    )


def test_a_crate_saved_either_way_is_a_crate_and_says_how_it_was_saved(tmp_path):
    serialized = read_model(build("crate-serialize", tmp_path / "a"))
    plain = read_model(build("crate-saverds", tmp_path / "b"))
    assert (serialized.kind, serialized.form, serialized.file) == ("crate", "serialize", "crate.bin")
    assert (plain.kind, plain.form, plain.file) == ("crate", "saveRDS", "crate.bin")
    assert "saved with plain saveRDS(crate, ...)" in plain.summary()
    assert serialized.arguments == plain.arguments == ("speed",)
    assert serialized.packages == plain.packages == []


def test_an_lm_takes_the_variables_of_its_formula_and_offers_its_first_row_as_the_sample(tmp_path):
    reading = read_model(build("lm", tmp_path / "lm"))
    assert (reading.kind, reading.file, reading.form, reading.model_class) == (
        "fitted",
        "model.rds",
        "saveRDS",
        ("lm",),
    )
    assert reading.inputs == (InputColumn("speed", "numeric"),)
    assert reading.sample_request == [{"speed": 4}]  # cars' first row
    assert reading.packages == []  # predict.lm is stats', base R
    assert reading.input_text() == "rows with the columns speed (numeric)"


def test_a_glm_knows_its_factor_levels(tmp_path):
    reading = read_model(build("glm", tmp_path / "glm"))
    assert reading.model_class == ("glm", "lm")
    assert reading.inputs == (InputColumn("wt", "numeric"), InputColumn("cyl", "factor", ("4", "6", "8")))
    assert reading.sample_request == [{"wt": 2.62, "cyl": "6"}]


def test_a_ranger_forest_needs_ranger_and_names_its_variables_without_types(tmp_path):
    reading = read_model(build("ranger", tmp_path / "rf"))
    assert (reading.kind, reading.file, reading.model_class) == ("fitted", "forest.rds", ("ranger",))
    assert reading.packages == ["ranger"]  # the package whose predict() the class dispatches to
    assert reading.inputs == (InputColumn("speed", "unknown"),)  # ranger does not record the type
    assert reading.sample_request is None  # so no sample is made up


def test_a_vetiver_pin_gives_its_newest_version_prototype_and_required_packages(tmp_path):
    lm_pin = read_model(build("vetiver-lm", tmp_path / "board"))
    # the newest version, named so that the API finds it and not the older one beside it
    assert (lm_pin.kind, lm_pin.file) == ("vetiver", "20261127T101500Z-1a2b3/cars-lm.rds")
    assert lm_pin.pin is not None and (lm_pin.pin.name, lm_pin.pin.version, lm_pin.pin.versions) == (
        "cars-lm",
        "20261127T101500Z-1a2b3",
        2,
    )
    assert lm_pin.inputs == (InputColumn("speed", "numeric"),)
    assert "the pin has 2 versions; the newest, 20261127T101500Z-1a2b3, was read" in lm_pin.notes
    assert lm_pin.summary() == (
        "a vetiver model (pin cars-lm, version 20261127T101500Z-1a2b3) holding a fitted lm model, "
        "in 20261127T101500Z-1a2b3/cars-lm.rds"
    )
    forest = read_model(build("vetiver-ranger", tmp_path / "board-rf") / "cars-rf")  # the pin's own folder
    assert (forest.kind, forest.file) == ("vetiver", "cars-rf.rds")  # one version: its name finds it
    assert forest.pin is not None and forest.pin.required_pkgs == ("ranger",)
    assert forest.packages == ["ranger"]
    assert forest.sample_request == [{"speed": 0}]  # the prototype's type, with a note saying it is a placeholder
    assert any("placeholder" in note for note in forest.notes)


def test_what_is_not_a_model_is_refused_saying_why(tmp_path):
    text = tmp_path / "text"
    text.mkdir()
    (text / "crate.bin").write_text("library(carrier)\ncrate(function(x) x)\n")
    reading = read_model(text)
    assert not reading.ok
    assert (
        reading.error
        == "crate.bin is not an R object saved with saveRDS (R says: unknown input format); it is a text file"
    )
    assert reading.next_step == (
        'save a crate with saveRDS(serialize(crate, NULL), "crate.bin") (plain saveRDS(crate, "crate.bin") works too)'
    )
    data = tmp_path / "data"
    data.mkdir()
    rscript('saveRDS(cars, file.path(commandArgs(TRUE)[[1]], "model.rds"))', str(data))
    assert read_model(data).error == "model.rds holds a data frame (50 rows), not a model"
    two = tmp_path / "two"
    two.mkdir()
    rscript('for (f in c("a.rds", "b.rds")) saveRDS(cars, file.path(commandArgs(TRUE)[[1]], f))', str(two))
    assert read_model(two).error == f"{two} holds 2 .rds files (a.rds b.rds): which one is the model is not clear"
    board = build("vetiver-lm", tmp_path / "board")
    (board / "other" / "20261127T000000Z-bbbbb").mkdir(parents=True)
    for name in ("data.txt", "cars-lm.rds"):
        source = board / "cars-lm" / "20261127T101500Z-1a2b3" / name
        (board / "other" / "20261127T000000Z-bbbbb" / name).write_bytes(source.read_bytes())
    several = read_model(board)
    assert several.error == f"{board} is a pins board with 2 pins (cars-lm other)"
    assert several.next_step == "register the folder of one pin: BOARD/PIN_NAME"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no model file: no crate.bin, no .rds file, no pins board" in read_model(empty).error


def test_without_r_nothing_is_guessed(crate_dir, monkeypatch):
    monkeypatch.setenv("RDEPLOY_RSCRIPT", "")
    reading = read_model(crate_dir)
    assert (reading.ok, reading.error, reading.packages, reading.kind) == (False, NO_R, [], None)


def test_init_records_the_kind_the_sample_and_the_packages_and_validate_checks_them(tmp_path):
    model = build("glm", tmp_path / "glm")
    done = cli("init", "--out", "d", "--model-dir", str(model), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "model: a fitted glm/lm model scored with predict(), in model.rds" in done.stdout
    assert "it takes rows with the columns wt (numeric), cyl (factor: 4, 6, 8)" in done.stdout
    saved = yaml.safe_load((tmp_path / "rdeploy.yaml").read_text())
    assert saved["model"]["kind"] == "fitted" and saved["model"]["file"] == "model.rds"
    assert saved["scoring"]["sample_request"] == [{"wt": 2.62, "cyl": "6"}]
    assert saved["image"]["r_packages"] == []  # predict.glm is base R's; carrier is not installed for a fitted model
    assert "carrier" not in (tmp_path / "d" / "docker-context" / "install_packages.R").read_text()
    assert cli("validate", "--model-dir", str(model), cwd=tmp_path).returncode == 0

    crate = build("crate-saverds", tmp_path / "crate")
    wrong = cli("validate", "--model-dir", str(crate), cwd=tmp_path)
    assert wrong.returncode == 1
    assert (
        "rdeploy.yaml: model.kind: the spec says model.kind fitted, model.file model.rds, but the folder holds a crate "
        "(an R function of speed) in crate.bin, saved with plain saveRDS(crate, ...): set model.kind: crate and "
        "model.file: crate.bin"
    ) in wrong.stderr
    # init on the existing spec records the new folder's kind, says so, and names what the user must finish: a crate
    # records no sample values, and the glm's rows are not a crate's arguments
    again = cli("init", "--out", "d", "--force", "--model-dir", str(crate), cwd=tmp_path)
    assert again.returncode == 1
    assert "model.kind: fitted -> crate" in again.stdout
    assert "scoring.sample_request: sample request must be a JSON object" in again.stderr
    assert "wrote rdeploy.yaml with what the model's folder holds; fix the problems above" in again.stdout
    spec = tmp_path / "rdeploy.yaml"
    saved = yaml.safe_load(spec.read_text())
    assert (saved["model"]["kind"], saved["model"]["file"]) == ("crate", "crate.bin")
    saved["scoring"]["sample_request"] = {"speed": [10]}
    spec.write_text(yaml.safe_dump(saved))
    assert cli("init", "--out", "d", "--force", cwd=tmp_path).returncode == 0
    assert cli("validate", "--model-dir", str(crate), cwd=tmp_path).returncode == 0


def test_init_lists_a_crates_packages_and_validate_warns_about_one_the_spec_lacks(crate_dir, tmp_path):
    done = cli("init", "--out", "d", "--model-dir", str(crate_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    packages = yaml.safe_load((tmp_path / "rdeploy.yaml").read_text())["image"]["r_packages"]
    assert packages == ["forecast", "jsonlite", "tibble", "xts", "zoo"]
    spec = tmp_path / "rdeploy.yaml"
    spec.write_text("".join(line for line in spec.read_text().splitlines(keepends=True) if line.strip() != "- tibble"))
    checked = cli("validate", "--model-dir", str(crate_dir), cwd=tmp_path)
    assert checked.returncode == 0
    assert "warning: image.r_packages: the model uses R package 'tibble' (read from crate.bin)" in checked.stderr
    unread = cli("validate", "--model-dir", str(tmp_path / "nothing"), cwd=tmp_path)
    assert unread.returncode == 0 and "could not be read: " in unread.stderr and "is not a folder" in unread.stderr


def test_what_r_says_is_bounded_and_a_python_pin_is_named(tmp_path):
    wide = tmp_path / "wide"
    wide.mkdir()
    rscript(
        "set.seed(1); d <- as.data.frame(matrix(rnorm(300 * 251), 300)); names(d) <- c('y', sprintf('x%03d', 1:250))\n"
        'saveRDS(lm(y ~ ., data = d), file.path(commandArgs(TRUE)[[1]], "model.rds"))',
        str(wide),
    )
    reading = read_model(wide)
    assert reading.ok and reading.inputs is not None
    assert (len(reading.inputs), reading.inputs_total) == (200, 250)  # at most 200 listed, the total said
    assert reading.input_text().endswith("and 238 more")
    assert reading.sample_request is None  # more columns than R lists: no sample made from a part of them
    python_board = tmp_path / "py-board" / "mtcars" / "20240101T000000Z-abcde"
    python_board.mkdir(parents=True)
    (python_board / "mtcars.joblib").write_bytes(b"\x80\x04joblib")
    (python_board / "data.txt").write_text("file: mtcars.joblib\ntype: joblib\napi_version: 1\n")
    refused = read_model(tmp_path / "py-board")
    assert refused.error == (
        f"{tmp_path / 'py-board'} is a pins board whose pins are of type joblib, not rds: not an R model "
        "(Python's vetiver writes joblib)"
    )
