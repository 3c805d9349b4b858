"""The line that names a failure's cause, picked from real log tails: the sandbox's ACR builds and deployments
(captured from rdeploy-tui runs: the build-fail fault under pak and under install.packages, a package whose system
library is missing, a step killed, an image without plumber) and R 4.2.2's own messages (Rscript, R CMD INSTALL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdeploy_tui.pipeline.events import StepFailed
from rdeploy_tui.pipeline.failing_line import failing_line

LOGS = Path(__file__).parent / "failure_logs"


@pytest.mark.parametrize(
    "log, cause",
    [
        ("acr-build-fail-pak.txt", "Failed to build source package carrier."),
        ("acr-compile-fail-install-packages.txt", "ERROR: compilation failed for package ‘carrier’"),
        (
            "acr-package-does-not-load.txt",
            "rdeploy: R packages that do not load: sf: unable to load shared object "
            "'/usr/local/lib/R/site-library/sf/libs/sf.so': libgdal.so.34: cannot open shared object file: "
            "No such file or directory",
        ),
        (
            "acr-step-killed.txt",
            "The command '/bin/sh -c R -e \"install.packages(c('carrier'))\"' returned a non-zero code: 137",
        ),
        ("deployment-no-plumber.txt", "Error in loadNamespace(x) : there is no package called ‘plumber’"),
        ("r-loadnamespace-missing.txt", 'Error in loadNamespace("carrierx") : there is no package called ‘carrierx’'),
        ("r-library-missing.txt", "Error in library(carrierx) : there is no package called ‘carrierx’"),
        (
            "r-cmd-install-missing-dependency.txt",
            "ERROR: dependency ‘notapackagexyz’ is not available for package ‘needsdep’",
        ),
        (
            "r-cmd-install-parse-error.txt",
            "Error in parse(outFile) : /tmp/engine-capture/r/brokenpkg/R/f.R:1:16: unexpected '{'",
        ),
    ],
)
def test_the_failing_line_is_the_cause_not_the_generic_last_line(log, cause):
    tail = (LOGS / log).read_text(encoding="utf-8")
    assert failing_line(tail) == cause
    last = [line for line in tail.splitlines() if line.strip()][-1]
    assert failing_line(tail) != last.strip()  # ACR's "Run ID: ... failed after", R's "Execution halted" ...


def test_a_build_failure_names_the_package_not_the_acr_run():
    tail = (LOGS / "acr-build-fail-pak.txt").read_text(encoding="utf-8")
    assert "Run ID:" in tail.splitlines()[-1]
    assert "carrier" in failing_line(tail) and "Run ID" not in failing_line(tail)


def test_our_own_line_wins_over_rs():
    tail = "Error in f() : something\nrdeploy: failed to install R packages: forcast\nExecution halted"
    assert failing_line(tail) == "rdeploy: failed to install R packages: forcast"


def test_timestamps_and_pak_bullets_are_left_out():
    tail = "2026-12-06T02:29:51.980759Z ✖ Failed to build source package zoo.\n2026-12-06T02:29:52Z Execution halted"
    assert failing_line(tail) == "Failed to build source package zoo."


def test_nothing_that_names_a_cause_gives_none():
    assert failing_line(None) is None
    assert failing_line("") is None
    assert failing_line("Step 1/3 : FROM r-base\nExecution halted\nRun ID: ca1 failed after 3s") is None


def test_a_step_failure_carries_its_failing_line():
    tail = (LOGS / "acr-build-fail-pak.txt").read_text(encoding="utf-8")
    event = StepFailed("build-image", "The image build failed.", "Read the build log.", tail, "BuildFailed")
    assert event.failing_line == "Failed to build source package carrier."
    given = StepFailed("build-image", "x", details=tail, failing_line="chosen by the emitter")
    assert given.failing_line == "chosen by the emitter"
