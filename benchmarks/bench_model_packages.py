"""The packages step's prefill (issues 13.4, 27): how long from choosing a registered model to its packages on screen
is spent downloading its files (azure-ai-ml's models.download from the sandbox's blob storage, into the cache: cold,
then cached) and reading them with R (local/model_reader.py: the kind, the input, the packages its crate calls). The UI
never waits on it (a worker); this says how soon it lands.

    .venv/bin/python benchmarks/bench_model_packages.py [--runs 5]

Needs Rscript for the read; the sandbox's sample model (forecast-model version 1) is the one read.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-model-packages-"))
    os.environ["RDEPLOY_HOME"] = str(tmp / "home")  # the cache folder is inside it
    from rdeploy_tui import launch
    from rdeploy_tui.azure import Workspace
    from rdeploy_tui.local.model_reader import read_model
    from rdeploy_tui.locations import cache_dir
    from rdeploy_tui.sandbox import Sandbox

    sandbox = Sandbox(tmp / "sandbox", time_scale=0.003).start()
    times: dict[str, list[float]] = {"download, cold": [], "download, cached": [], "read with R": []}
    try:
        session = launch.connect_to(sandbox)
        ws = Workspace.open(session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)
        _ = ws.ml_client().models  # azure.ai.ml imported and the client built before timing (the model step did that)
        for _ in range(args.runs):
            shutil.rmtree(cache_dir() / "models", ignore_errors=True)
            for label in ("download, cold", "download, cached"):
                start = time.perf_counter()
                folder = ws.download_model("forecast-model", "1")
                times[label].append(time.perf_counter() - start)
            start = time.perf_counter()
            result = read_model(folder)
            times["read with R"].append(time.perf_counter() - start)
            assert result.error is None, result.error
    finally:
        sandbox.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    for label, values in times.items():
        print(f"{label:18} median {statistics.median(values):.2f} s  max {max(values):.2f} s  ({len(values)} runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
