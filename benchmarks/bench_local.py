"""Local plumber API: start-up to first 200 on /ready, and /score latency (new connection per request
vs. one kept-alive connection), with the generated plumber.R and the sample model.

    .venv/bin/python benchmarks/bench_local.py [--starts 5] [--requests 200]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from rdeploy_tui.local.plumber import find_rscript, start_plumber
from rdeploy_tui.local.http_client import Latency, measure
from rdeploy_tui.deploy_folder.render import render, write_folder
from rdeploy_tui.deploy_folder.sample_model import SAMPLE_REQUEST, sample_model_dir
from rdeploy_tui.spec.deploy_spec import DeploySpec


def _pct(values: list[float], p: float) -> float:
    return Latency("x", samples_ms=values).percentile(p) or 0.0


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

    rows = [("start -> /ready 200", startups)] + [(f"/score, {m.connection} connection", m.samples_ms) for m in (new, kept)]
    print(f"{'measure':<32}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for label, values in rows:
        print(f"{label:<32}{len(values):>5}{_pct(values, 50):>10.1f}{_pct(values, 95):>10.1f}{statistics.fmean(values):>10.1f}")
    bad = sum(s != 200 for s in new.statuses + kept.statuses)
    if bad:
        print(f"{bad} requests did not answer 200", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
