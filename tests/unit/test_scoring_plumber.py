"""The scoring package against a REAL plumber API started by the local runner (needs Rscript + plumber)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdeploy_tui.deploy_folder.render import render, write_folder
from rdeploy_tui.deploy_folder.sample_model import SAMPLE_REQUEST, sample_model_dir
from rdeploy_tui.local.plumber import start_plumber
from rdeploy_tui.scoring.client import ScoringClient, score
from rdeploy_tui.scoring.load_test import run_load_test
from rdeploy_tui.scoring.openapi import sample_from_openapi
from rdeploy_tui.scoring.records import records_table
from rdeploy_tui.scoring.request import request_text
from rdeploy_tui.scoring.result import double_encoding_message
from rdeploy_tui.scoring.target import ScoringTarget
from rdeploy_tui.spec.deploy_spec import default_spec

pytestmark = pytest.mark.r

# Microsoft's sample handler: returns toJSON() text (encoded twice by plumber) and annotates its argument.
MICROSOFT_STYLE = """
#* @param forecast_horizon:[int] years to forecast
#* @post /score
function(forecast_horizon) {
  jsonlite::toJSON(data.frame(year = 1:2, forecast = c(1.5, 2.5)))
}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("deploy")
    write_folder(render(default_spec()), out)
    return out


def _start(folder: Path, app_dir: Path):
    proc = start_plumber(app_dir, sample_model_dir(), start_script=folder / "docker-context" / "start_plumber.R")
    try:
        proc.wait_ready("/openapi.json", timeout=60)
    except Exception:
        proc.stop()
        raise
    return proc


@pytest.fixture(scope="module")
def generated_api(folder):
    proc = _start(folder, folder / "src")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def microsoft_api(folder, tmp_path_factory):
    app = tmp_path_factory.mktemp("ms-app")
    (app / "plumber.R").write_text(MICROSOFT_STYLE)
    proc = _start(folder, app)
    yield proc
    proc.stop()


def test_scores_the_sample_model_into_a_table(generated_api):
    with ScoringClient() as client:
        result = client.score(ScoringTarget(generated_api.url + "/score"), request_text(SAMPLE_REQUEST))
    assert result.status == 200, result.text
    assert result.double_encoded is None
    table = records_table(result.value)
    assert table.columns == ("year", "forecast", "lower_95", "upper_95")
    assert [row[0] for row in table.rows] == ["1971", "1972"]


def test_model_error_is_explained_with_r_message(generated_api):
    result = score(ScoringTarget(generated_api.url + "/score"), {"forecast_horizon": [0]})
    assert result.status == 400
    why = result.explain()
    assert "forecast_horizon must be one whole number" in why.what


def test_malformed_json_is_plumbers_500(generated_api):
    result = score(ScoringTarget(generated_api.url + "/score"), '{"forecast_horizon": ')
    assert result.status in (400, 500)
    assert result.explain() is not None


def test_generated_api_has_no_parameters_to_sample(generated_api):
    with ScoringClient() as client:
        doc = client.fetch_openapi(ScoringTarget(generated_api.url + "/score"))
    assert doc["openapi"].startswith("3.0")
    assert sample_from_openapi(doc) is None  # function(req, res): the spec's sample request is used


def test_microsoft_style_script_detected_and_sampled(microsoft_api):
    target = ScoringTarget(microsoft_api.url + "/score")
    with ScoringClient() as client:
        doc = client.fetch_openapi(target)
        result = client.score(target, '{"forecast_horizon": [2]}')
    assert sample_from_openapi(doc) == {"forecast_horizon": [1]}
    assert result.ok
    assert result.double_encoded == [{"year": 1, "forecast": 1.5}, {"year": 2, "forecast": 2.5}]
    assert "jsonlite::toJSON" in double_encoding_message(result)


@pytest.mark.parametrize("keep_alive", [True, False])
def test_small_load_test(generated_api, keep_alive):
    with ScoringClient(keep_alive=keep_alive) as client:
        result = run_load_test(client, ScoringTarget(generated_api.url + "/score"), '{"forecast_horizon": [2]}', 12, 3)
    assert result.ok == 12 and result.errors == 0
    assert result.p(99) is not None
