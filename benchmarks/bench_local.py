"""Local plumber API: start-up to first 200 on /ready, and /score latency (new connection per request
vs. one kept-alive connection), with the generated plumber.R and the sample model; then the FIRST scored request
of a model that uses forecast, with start_plumber.R loading its packages before /ready (as generated) and without
(the loading lines taken out), when forecast is installed here (Debian: r-cran-forecast).

    .venv/bin/python benchmarks/bench_local.py [--starts 5] [--requests 200]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rdeploy_tui.deploy_folder.render import render, write_folder
from rdeploy_tui.deploy_folder.sample_model import SAMPLE_REQUEST, sample_model_dir
from rdeploy_tui.local.http_client import Latency, measure, request
from rdeploy_tui.local.plumber import find_rscript, start_plumber
from rdeploy_tui.spec.deploy_spec import DeploySpec


def _pct(values: list[float], p: float) -> float:
    return Latency("x", samples_ms=values).percentile(p) or 0.0


# A crate the way carrier builds one, whose function calls forecast (its namespace takes ~1 s to load).
_FORECAST_CRATE = r"""
env <- new.env(parent = baseenv())
env$y <- as.numeric(datasets::Nile)
f <- function(forecast_horizon) {
  fc <- forecast::meanf(y, h = forecast_horizon)
  data.frame(point = as.numeric(fc$mean))
}
environment(f) <- env
dir.create(file.path(commandArgs(trailingOnly = TRUE)[[1]], "models"), recursive = TRUE)
saveRDS(serialize(f, NULL), file.path(commandArgs(trailingOnly = TRUE)[[1]], "models", "crate.bin"))
"""


def first_request(starts: int) -> list[tuple[str, list[float], list[float]]]:
    """(variant, start -> /ready ms, first /score ms) with and without loading the packages at start-up."""
    done = subprocess.run(
        [find_rscript() or "Rscript", "-e", 'cat(requireNamespace("forecast", quietly = TRUE))'],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.stdout.strip() != "TRUE":
        print("bench_local: forecast is not installed here; first-request figures not measured", file=sys.stderr)
        return []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        subprocess.run(
            [find_rscript() or "Rscript", "-e", _FORECAST_CRATE, str(folder / "model")], check=True, capture_output=True
        )
        spec = DeploySpec()
        spec.image.r_packages = ["forecast"]
        write_folder(render(spec, base_dir=folder), folder / "app")
        generated = folder / "app" / "docker-context" / "start_plumber.R"
        without = folder / "start_without_loading.R"
        without.write_text(re.sub(r"for \(p in c\(.*?\n}\n", "", generated.read_text(), flags=re.S))
        assert "loadNamespace" not in without.read_text()
        for label, script in (("loads packages at start-up", generated), ("loads them on first use", without)):
            ready, first = [], []
            for _ in range(starts):
                with start_plumber(folder / "app" / "src", folder / "model", start_script=script) as proc:
                    ready.append(proc.wait_ready(timeout=60) * 1000)
                    began = time.perf_counter()
                    answer = request(proc.url, "POST", "/score", {"forecast_horizon": [2]})
                    first.append((time.perf_counter() - began) * 1000)
                    assert answer.status == 200, answer.text
            rows.append((label, ready, first))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="server starts to time")
    parser.add_argument("--requests", type=int, default=200, help="requests per connection mode")
    args = parser.parse_args()
    if find_rscript() is None:
        print("bench_local: Rscript not found; nothing measured", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_folder(render(DeploySpec(), base_dir=folder), folder)
        start = dict(start_script=folder / "docker-context" / "start_plumber.R")

        startups = []
        for _ in range(args.starts):
            with start_plumber(folder / "src", sample_model_dir(), **start) as proc:
                startups.append(proc.wait_ready() * 1000)

        with start_plumber(folder / "src", sample_model_dir(), **start) as proc:
            proc.wait_ready()
            measure(proc.url, "/score", SAMPLE_REQUEST, 5, keep_alive=False)  # warm-up
            new = measure(proc.url, "/score", SAMPLE_REQUEST, args.requests, keep_alive=False)
            kept = measure(proc.url, "/score", SAMPLE_REQUEST, args.requests, keep_alive=True)

    rows = [("start -> /ready 200", startups)] + [
        (f"/score, {m.connection} connection", m.samples_ms) for m in (new, kept)
    ]
    print(f"{'measure':<32}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for label, values in rows:
        print(
            f"{label:<32}{len(values):>5}"
            f"{_pct(values, 50):>10.1f}{_pct(values, 95):>10.1f}{statistics.fmean(values):>10.1f}"
        )
    for label, ready, first in first_request(args.starts):
        print(f"{'forecast model, ' + label:<44}")
        for what, values in (("  start -> /ready 200", ready), ("  first /score after /ready", first)):
            print(
                f"{what:<32}{len(values):>5}"
                f"{_pct(values, 50):>10.1f}{_pct(values, 95):>10.1f}{statistics.fmean(values):>10.1f}"
            )
    bad = sum(s != 200 for s in new.statuses + kept.statuses)
    if bad:
        print(f"{bad} requests did not answer 200", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
