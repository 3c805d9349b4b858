"""A crate saved with plain saveRDS, as many are in the wild, walked in a real terminal (tmux, 80x24) with the keys a
terminal sends: registered from the wizard's model step (read with R, tested locally, then uploaded), its kind shown
at the packages step, deployed to the sandbox and scored, ending on the scoring screen with HTTP 200."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.tmux, pytest.mark.sandbox, pytest.mark.r, pytest.mark.slow]

SCRIPT = Path(sys.executable).parent / "rdeploy-tui"
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


class Pane:
    def __init__(self, name: str) -> None:
        self.name = name

    def keys(self, *keys: str) -> None:
        for key in keys:  # one key at a time, as a person types
            subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
            time.sleep(0.05)

    def type(self, text: str) -> None:
        for char in text:
            subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", char], check=True)
            time.sleep(0.03)

    def text(self) -> str:
        done = subprocess.run(["tmux", "capture-pane", "-t", self.name, "-p"], capture_output=True, text=True)
        return done.stdout

    def wait_for(self, needle: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.text()
            if needle in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} did not appear; the screen shows:\n{self.text()}")


@pytest.fixture
def pane(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    made = subprocess.run(
        ["Rscript", "--vanilla", "-e", PLAIN_CRATE, str(tmp_path / "model")], capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    name = f"rdeploy-kinds-{uuid.uuid4().hex[:8]}"
    command = (
        f"cd {tmp_path} && RDEPLOY_HOME={tmp_path / 'home'} RDEPLOY_SANDBOX_TIME_SCALE=0.003 {SCRIPT} --sandbox; "
        "echo APP-EXITED; sleep 60"
    )
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "80", "-y", "24", command], check=True)
    try:
        yield Pane(name)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def test_a_crate_saved_with_plain_saverds_is_registered_deployed_and_scored(pane):
    pane.wait_for("Signed in as rdeploy-sandbox-deployer")
    pane.keys("F2")
    pane.wait_for("azurecr.io")
    pane.keys("F2")
    pane.wait_for("+ register a new model from a folder")
    pane.keys("Down", "Enter")  # the register entry, then its form
    screen = pane.wait_for("Model folder: crate.bin, an .rds or a pins board")
    assert "forecast-model" not in screen.split("Register it as model")[1]  # the name is not prefilled
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
    pane.wait_for("Score the sample request  HTTP 200", timeout=300)
    pane.keys("F2")  # to the scoring screen
    screen = pane.wait_for("HTTP 200 from blue", timeout=120)
    assert "Traceback" not in screen
    pane.keys("F10")
    pane.wait_for("APP-EXITED")
