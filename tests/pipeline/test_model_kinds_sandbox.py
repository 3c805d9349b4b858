"""Every kind of R model, registered and deployed to the sandbox with the real SDK clients, then scored through the
endpoint's scoring URI; and `models register` reading the folder with R before anything is uploaded."""

from __future__ import annotations

import json

import pytest
from r_models import build
from test_cli import _run

from rdeploy_tui.local.model_reader import apply_reading, read_model
from rdeploy_tui.pipeline.runner import run_deploy

pytestmark = [pytest.mark.sandbox, pytest.mark.r]

INTERCEPT, SLOPE = -17.579094890510948, 3.9324087591240877  # cars' dist ~ speed, fitted by R


@pytest.mark.parametrize(
    ("kind", "request_body", "expected"),
    [
        ("crate-saverds", {"speed": [4]}, [{"speed": 4, "dist": pytest.approx(INTERCEPT + SLOPE * 4, rel=1e-14)}]),
        ("lm", [{"speed": 4}], [{".pred": pytest.approx(INTERCEPT + SLOPE * 4, rel=1e-14)}]),
        ("glm", [{"wt": 3, "cyl": "6"}], [{".pred": pytest.approx(0.379381658828562, rel=1e-14)}]),
        ("ranger", [{"speed": 4}], None),
        ("vetiver-lm", [{"speed": 4}], [{".pred": pytest.approx(INTERCEPT + SLOPE * 4, rel=1e-14)}]),
        ("vetiver-ranger", {"speed": [4, 20]}, None),
    ],
)
def test_each_kind_deploys_and_scores_on_the_sandbox(
    session, make_spec, cleanup, tmp_path, kind, request_body, expected
):
    from rdeploy_tui.azure import Workspace, score
    from rdeploy_tui.errors import RdeployError

    folder = build(kind, tmp_path / kind)
    spec = make_spec(kind.split("-")[0])
    ws = Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)
    # what `init --model-dir` and the wizard record: the kind, file, sample and packages, read with R
    reading = read_model(folder)
    assert reading.ok, reading.error
    apply_reading(spec, reading)
    spec.image.r_packages = list(reading.packages)
    spec.scoring.sample_request = request_body
    if kind.startswith("vetiver"):
        spec.scoring.routes.ready = "/ping"  # vetiver's own health route as the readiness probe
    model = ws.register_model(folder, f"{kind}-{spec.endpoint.name[-8:]}")
    spec.model.name, spec.model.version = model.name, model.latest_version

    outcome = run_deploy(spec, session=session, sink=lambda e: None)
    cleanup.append((ws, spec.endpoint.name))
    assert outcome.status == "succeeded", outcome.summary
    assert outcome.score.status == 200  # the smoke score: the sample request through the scoring URI

    answer = score(ws, spec.endpoint.name, request_body)
    assert answer.status == 200
    if expected is not None:
        assert answer.value == expected
    else:  # a ranger forest: a prediction per row
        rows = len(request_body) if isinstance(request_body, list) else len(request_body["speed"])
        assert len(answer.value) == rows and all(isinstance(row[".pred"], float) for row in answer.value)
    # a body the model cannot use is the caller's fault: 400 in the container, which Azure reports as a 424
    with pytest.raises(RdeployError) as caught:
        score(ws, spec.endpoint.name, "not a row")
    assert "424" in caught.value.what and "400" in caught.value.what


def test_models_register_reads_the_folder_first_and_adds_a_version_only_when_asked(tmp_path):
    home = tmp_path / "h"
    folder = build("crate-saverds", tmp_path / "crate")
    first = _run(["models", "register", "--path", str(folder), "--name", "cars-crate", "--sandbox"], home)
    assert first.returncode == 0, first.stderr
    assert (
        f"Read {folder} with R: a crate (an R function of speed) in crate.bin, saved with plain saveRDS(crate, ...)."
    ) in first.stdout
    assert "It takes the body's fields as its arguments: speed." in first.stdout
    assert "as model cars-crate version 1 in workspace" in first.stdout and "(a new model)" in first.stdout
    register = ["models", "register", "--path", str(folder), "--name", "cars-crate", "--sandbox"]
    refused = _run(register, home)  # the same command again
    said = " ".join(refused.stderr.split())
    assert refused.returncode == 2, refused.stderr
    assert "Not registered: model cars-crate already exists in workspace" in said and "(latest version 1)" in said
    assert "Add --new-version" in said and "Traceback" not in said
    again = _run([*register, "--new-version"], home)
    assert again.returncode == 0, again.stderr
    assert "as model cars-crate version 2 in workspace" in again.stdout  # the refusal registered nothing
    assert "(its previous version: 1)" in again.stdout
    third = json.loads(_run([*register, "--new-version", "--json"], home).stdout)
    assert {k: third[k] for k in ("version", "new_model", "previous_version", "kind", "file", "form")} == {
        "version": "3",
        "new_model": False,
        "previous_version": "2",
        "kind": "crate",
        "file": "crate.bin",
        "form": "saveRDS",
    }


def test_models_register_refuses_a_text_file_named_crate_bin_before_uploading(tmp_path):
    home = tmp_path / "h"
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "crate.bin").write_text('crate <- carrier::crate(function(x) x)\nsaveRDS(crate, "crate.bin")\n')
    refused = _run(["models", "register", "--path", str(folder), "--name", "texty", "--sandbox"], home)
    assert refused.returncode == 2
    assert (
        f"Not registered: {folder} does not hold a model R can load: crate.bin is not an R object saved with saveRDS "
        "(R says: unknown input format); it is a text file."
    ) in refused.stderr
    assert (
        'Save a crate with saveRDS(serialize(crate, NULL), "crate.bin") (plain saveRDS(crate, "crate.bin") works too).'
    ) in refused.stderr
    assert "Traceback" not in refused.stderr
    listed = json.loads(_run(["models", "list", "--sandbox", "--json"], home).stdout)
    assert "texty" not in [m["name"] for m in listed]  # nothing was uploaded


def test_without_r_register_says_so_and_no_check_registers_unread(tmp_path, monkeypatch):
    home = tmp_path / "h"
    folder = build("crate-serialize", tmp_path / "crate")
    monkeypatch.setenv("RDEPLOY_RSCRIPT", "")  # this machine has no R (the variable reaches the CLI's process)
    refused = _run(["models", "register", "--path", str(folder), "--name", "unread", "--sandbox"], home)
    assert refused.returncode == 1
    assert f"Cannot check {folder} before registering it: R is not installed here (no Rscript)." in refused.stderr
    assert "or register it unchecked with --no-check" in refused.stderr
    unread = _run(
        ["models", "register", "--path", str(folder), "--name", "unread", "--sandbox", "--no-check", "--json"], home
    )
    assert unread.returncode == 0, unread.stderr
    assert {k: v for k, v in json.loads(unread.stdout).items() if k in ("version", "checked")} == {
        "version": "1",
        "checked": False,
    }
