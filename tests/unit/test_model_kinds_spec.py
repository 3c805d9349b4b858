"""model.kind and model.file in the spec: their rules, what each kind renders, and how a reading is recorded."""

from __future__ import annotations

import pytest

from rdeploy_tui.deploy_folder.render import r_packages, render
from rdeploy_tui.local.model_reader import InputColumn, ModelReading, apply_reading, trial_spec
from rdeploy_tui.spec import rules
from rdeploy_tui.spec.deploy_spec import DeploySpec, SpecError


def spec_of(kind: str, file: str, sample) -> DeploySpec:
    spec = DeploySpec()
    spec.model.kind, spec.model.file, spec.scoring.sample_request = kind, file, sample
    return spec


def test_a_kind_rdeploy_tui_does_not_serve_is_refused_naming_the_ones_it_does():
    assert rules.check_model_kind("fitted") is None
    assert rules.check_model_kind("pickle") == (
        "model kind 'pickle' is not one rdeploy-tui serves: use crate, fitted, vetiver "
        "(`rdeploy-tui init --model-dir DIR` reads it from the model's files)"
    )


@pytest.mark.parametrize(
    "bad", ["../crate.bin", "/etc/passwd", "a/../b.rds", 'x".rds', "model rds", "a//b.rds", "./model.rds", ""]
)
def test_a_model_file_is_a_plain_relative_path(bad):
    assert rules.check_model_file(bad) is not None


def test_pin_paths_are_model_files():
    assert rules.check_model_file("cars-lm/20261127T101500Z-1a2b3/cars-lm.rds") is None
    assert rules.check_model_file("crate.bin") is None


def test_the_sample_request_fits_the_kind():
    assert rules.check_sample_request({"forecast_horizon": [2]}, "crate") is None
    assert rules.check_sample_request([{"speed": 4}], "crate").startswith("sample request must be a JSON object")
    for rows in ([{"speed": 4}, {"speed": 7}], {"speed": [4, 7]}, {"speed": 4, "Species": "setosa"}):
        assert rules.check_sample_request(rows, "fitted") is None, rows
    assert rules.check_sample_request([{"speed": {"a": 1}}], "vetiver") == (
        "sample request row 1: column 'speed' must hold a plain value, got {'a': 1}"
    )
    assert rules.check_sample_request({"speed": [4, 7], "x": [1]}, "fitted") == (
        "sample request columns must all have the same number of values"
    )
    assert rules.check_sample_request([], "fitted").startswith("sample request must be rows such as")
    assert rules.check_sample_request([1, 2], "fitted").startswith("sample request must be rows such as")


def test_validate_reports_kind_file_and_sample_at_their_fields():
    problems = {p.field for p in rules.validate(spec_of("fitted", "../x.rds", {"speed": {"a": 1}}))}
    assert {"model.file", "scoring.sample_request"} <= problems
    assert "model.kind" in {p.field for p in rules.validate(spec_of("onnx", "m.onnx", {}))}


def test_each_kind_installs_what_its_api_needs():
    crate = spec_of("crate", "crate.bin", {"x": 1})
    fitted = spec_of("fitted", "model.rds", [{"speed": 4}])
    vetiver = spec_of("vetiver", "cars-lm.rds", [{"speed": 4}])
    for spec in (crate, fitted, vetiver):
        spec.image.r_packages = ["ranger", "carrier"]
    assert r_packages(crate) == ["plumber", "carrier", "ranger"]
    assert r_packages(fitted) == ["plumber", "ranger", "carrier"]  # carrier only when the user lists it
    assert r_packages(vetiver) == ["plumber", "yaml", "ranger", "carrier"]  # yaml reads the pin's data.txt
    script = render(vetiver).text("src/plumber.R")
    assert 'rdeploy_load_model(Sys.getenv("AZUREML_MODEL_DIR"), kind = "vetiver", file = "cars-lm.rds")' in script
    assert render(vetiver).files["src/rdeploy_model.R"] == render(crate).files["src/rdeploy_model.R"]


def test_a_spec_with_errors_in_kind_or_file_renders_nothing():
    with pytest.raises(SpecError) as caught:
        render(spec_of("fitted", 'm"; system("rm -rf /")', [{"x": 1}]))
    assert [p.field for p in caught.value.problems] == ["model.file"]


LM = ModelReading(
    packages=[],
    kind="fitted",
    file="model.rds",
    form="saveRDS",
    model_class=("lm",),
    inputs=(InputColumn("speed", "numeric"),),
    inputs_total=1,
    sample_request=[{"speed": 4}],
)


def test_a_reading_records_kind_file_and_a_sample_that_fits():
    spec = DeploySpec()
    assert apply_reading(spec, LM) == [
        "model.kind: crate -> fitted",
        "model.file: crate.bin -> model.rds",
        'scoring.sample_request: [{"speed": 4}]',
    ]
    assert (spec.model.kind, spec.model.file, spec.scoring.sample_request) == ("fitted", "model.rds", [{"speed": 4}])
    spec.scoring.sample_request = [{"speed": 10}, {"speed": 20}]  # the user's own rows, with every column
    assert apply_reading(spec, LM) == []
    assert spec.scoring.sample_request == [{"speed": 10}, {"speed": 20}]
    spec.scoring.sample_request = [{"distance": 10}]  # rows without the model's column: the reading's sample
    assert apply_reading(spec, LM) == ['scoring.sample_request: [{"speed": 4}]']


def test_a_failed_reading_changes_nothing_and_a_trial_spec_has_the_models_packages():
    spec = DeploySpec()
    assert apply_reading(spec, ModelReading(error="R is not installed here (no Rscript)")) == []
    assert (spec.model.kind, spec.model.file) == ("crate", "crate.bin")
    forest = ModelReading(["ranger"], kind="fitted", file="forest.rds", model_class=("ranger",))
    trial = trial_spec(spec, forest)
    assert (trial.model.kind, trial.image.r_packages) == ("fitted", ["ranger"])
    assert (spec.model.kind, spec.image.r_packages) == ("crate", [])  # a copy: the spec itself is untouched


def test_what_a_reading_says_in_words():
    crate = ModelReading(kind="crate", file="crate.bin", form="saveRDS", arguments=("x", "y"))
    assert crate.summary() == "a crate (an R function of x, y) in crate.bin, saved with plain saveRDS(crate, ...)"
    assert crate.input_text() == "the body's fields as its arguments: x, y"
    assert LM.summary() == "a fitted lm model scored with predict(), in model.rds"
    assert LM.kind_text() == "a fitted lm model"
    unknown = ModelReading(kind="fitted", file="m.rds", model_class=("xgb.Booster",))
    assert unknown.input_text() == "columns it does not record: the API passes the body's columns as sent"
    assert str(InputColumn("cyl", "factor", ("4", "6", "8"))) == "cyl (factor: 4, 6, 8)"
    assert str(InputColumn("speed", "unknown")) == "speed (type not recorded)"
