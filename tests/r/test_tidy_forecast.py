"""A fable forecast (fbl_ts) is answered as the how-to's tidy columns, not nested distribution objects (issue 13.8).

fable is not installed here, so the crate returns a fable-LIKE object: the classes fable gives a forecast, a
`distribution` column (a vctrs list of parameters, as distributional stores it), a classed index and `.mean`."""

from __future__ import annotations

import json
import subprocess

import pytest

from rdeploy_tui.deploy_folder.render import render, write_folder
from rdeploy_tui.local.http_client import request
from rdeploy_tui.local.plumber import start_plumber
from rdeploy_tui.spec.deploy_spec import DeploySpec

pytestmark = pytest.mark.r

MAKE_CRATE = r"""
env <- new.env(parent = baseenv())
f <- function(forecast_horizon) {
  h <- forecast_horizon
  months <- structure(19000 + 31 * seq_len(h), class = c("yearmonth", "vctrs_vctr"))
  dist <- structure(lapply(seq_len(h), function(i) list(mu = 100 + i, sigma = 2.5)),
                    class = c("distribution", "vctrs_vctr", "list"))
  out <- list(.model = rep("arima", h), month = months, value = dist, .mean = 100 + seq_len(h))
  structure(out, class = c("fbl_ts", "tbl_ts", "tbl_df", "tbl", "data.frame"), row.names = seq_len(h))
}
environment(f) <- env
dir.create(file.path(commandArgs(trailingOnly = TRUE)[[1]], "models"), recursive = TRUE)
saveRDS(serialize(f, NULL), file.path(commandArgs(trailingOnly = TRUE)[[1]], "models", "crate.bin"))
"""


def test_a_fable_like_forecast_is_answered_as_tidy_columns(tmp_path):
    model = tmp_path / "model"
    done = subprocess.run(["Rscript", "-e", MAKE_CRATE, str(model)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    write_folder(render(DeploySpec()), tmp_path / "app")
    with start_plumber(
        tmp_path / "app" / "src", model, start_script=tmp_path / "app" / "docker-context" / "start_plumber.R"
    ) as proc:
        proc.wait_ready()
        answer = request(proc.url, "POST", "/score", {"forecast_horizon": [2]})
    assert answer.status == 200, answer.text
    rows = json.loads(answer.text)
    assert [sorted(row) for row in rows] == [[".mean", ".model", "month"]] * 2  # no nested `value` distribution
    assert rows[0][".mean"] == 101 and rows[1][".model"] == "arima"
    assert isinstance(rows[0]["month"], str)
