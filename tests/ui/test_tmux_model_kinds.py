"""A crate saved with plain saveRDS, as many are in the wild, walked in a real terminal (tmux, 80x24) with the keys a
terminal sends: registered from the wizard's model step (read with R, tested locally, then uploaded), its kind shown
at the packages step, deployed to the sandbox and scored, ending on the scoring screen with HTTP 200."""

from __future__ import annotations

import subprocess

import pytest
from tmux_terminal import SCRIPT, Pane, require_tmux

pytestmark = [pytest.mark.tmux, pytest.mark.sandbox, pytest.mark.r, pytest.mark.slow]
# A crate saved the other common way: plain saveRDS, no serialize(). It takes the default spec's sample request.
PLAIN_CRATE = r"""
env <- new.env(parent = baseenv())
env$slope <- 2.5
crate <- function(forecast_horizon) {
  steps <- seq_len(forecast_horizon)
  data.frame(step = steps, value = slope * steps)
}
environment(crate) <- env
dir.create(file.path(commandArgs(TRUE)[[1]]), recursive = TRUE)
saveRDS(crate, file.path(commandArgs(TRUE)[[1]], "crate.bin"))
"""


@pytest.fixture
def pane(tmp_path):
    require_tmux()
    made = subprocess.run(
        ["Rscript", "--vanilla", "-e", PLAIN_CRATE, str(tmp_path / "model")], capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    script = tmp_path / "terminal.sh"
    script.write_text(
        f"cd {tmp_path} && RDEPLOY_HOME={tmp_path / 'home'} RDEPLOY_SANDBOX_TIME_SCALE=0.003 {SCRIPT} --sandbox; "
        "echo APP-EXITED; sleep 60\n"
    )
    pane = Pane(script, tmp_path / "exit-code")
    try:
        yield pane
    finally:
        pane.close()


def test_a_crate_saved_with_plain_saverds_is_registered_deployed_and_scored(pane):
    pane.wait_for("Signed in as rdeploy-sandbox-deployer")
    pane.keys("F2")
    pane.wait_for("azurecr.io")
    pane.keys("F2")
    pane.wait_for("+ register a new model from a folder")
    pane.keys("Down", "Enter")  # the register entry, then its form
    screen = pane.wait_for("Model folder: crate.bin, an .rds or a pins board")
    assert "forecast-model" not in screen.split("Register it as model")[1]  # never the highlighted model's name
    lines = [line.strip() for line in screen.splitlines()]
    below = {
        label: lines[i + 1]
        for i, line in enumerate(lines)
        for label in ("Model folder:", "Register it as")
        if line.startswith(label)
    }
    assert below == {"Model folder:": "model", "Register it as": "model"}, screen  # the folder found here, its name
    pane.type("model")
    pane.keys("Tab")
    pane.type("plain-crate")
    pane.keys("Tab", "Enter")  # Test locally, then register
    pane.wait_for("plain-crate  (latest: version 1)", timeout=180)
    pane.keys("F2")
    screen = pane.wait_for("(a crate) uses no packages beyond base R", timeout=120)
    assert "carrier  (always included)" in screen
    pane.keys("F2")
    pane.wait_for("Preview of src/plumber.R")
    pane.keys("F2")
    pane.wait_for("Endpoint name")
    pane.keys("F2")
    pane.wait_for("model plain-crate version latest (now 1)")
    pane.keys("F2")  # Deploy
    pane.wait_for("Deployed. F2 scores the sample request.", "✓ Score the sample request", timeout=300)
    pane.keys("F2")  # to the scoring screen
    screen = pane.wait_for("HTTP 200 from blue", timeout=120)
    assert "Traceback" not in screen
    pane.keys("F10")
    pane.wait_for("APP-EXITED")
