"""Wall time of the deploy plan in the sandbox vs. the how-to's sequential order, measured in one run.

    .venv/bin/python benchmarks/bench_pipeline.py [--time-scale 0.25]

The sandbox simulates Azure's durations (ACR build phases, endpoint creation, deployment) scaled by
--time-scale. Run 1 is rdeploy-tui's plan (build ∥ endpoint -> deployment -> traffic -> score).
Run 2 does the same work in the Microsoft how-to's order: build, then endpoint, then deployment.
The plan's critical path should take at most 1.05 x (max(build, endpoint) + deployment).
Needs Rscript with plumber (the sandbox hosts deployments with it).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-scale", type=float, default=0.25, help="sandbox time scale (1 = Azure's real durations)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="rdeploy-bench-"))
    os.environ["RDEPLOY_HOME"] = str(tmp / "home")
    from rdeploy_tui import plan as P
    from rdeploy_tui.azure import Endpoints, Workspace, build_image, session_for_sandbox
    from rdeploy_tui.events import StepFinished, StepStarted
    from rdeploy_tui.render import render
    from rdeploy_tui.runner import Runner, run_deploy
    from rdeploy_tui.sandbox.server import Sandbox
    from rdeploy_tui.spec import default_spec

    sandbox = Sandbox(tmp / "sandbox", time_scale=args.time_scale).start()
    try:
        session = session_for_sandbox(sandbox)
        spec = default_spec()
        spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name = sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name
        ws = Workspace.open(session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)  # warm-up: imports azure.ai.ml

        # ---- run 1: the plan -------------------------------------------------------------------------
        marks: dict[tuple[str, str], float] = {}
        lock = threading.Lock()

        def sink(event) -> None:
            if isinstance(event, (StepStarted, StepFinished)):
                with lock:
                    marks[(type(event).__name__, event.step)] = time.perf_counter()

        started = time.perf_counter()
        outcome = run_deploy(spec, session=session, sink=sink, force_build=True)
        total = time.perf_counter() - started
        if outcome.status != "succeeded":
            print(f"plan run failed: {outcome.summary}", file=sys.stderr)
            return 1

        def span(step: str) -> float:
            return marks[("StepFinished", step)] - marks[("StepStarted", step)]

        build, endpoint, deployment = span(P.BUILD), span(P.ENDPOINT), span(P.DEPLOYMENT)
        critical = marks[("StepFinished", P.DEPLOYMENT)] - min(marks[("StepStarted", P.BUILD)], marks[("StepStarted", P.ENDPOINT)])
        ideal = max(build, endpoint) + deployment

        # ---- run 2: the how-to's order, same work, another endpoint -----------------------------------
        spec2 = spec.copy()
        spec2.endpoint.name = "r-endpoint-sequential"
        rendered = render(spec2, registry=ws.registry().login_server)
        t0 = time.perf_counter()
        image = build_image(ws, rendered.docker_context(), rendered.image_repository, rendered.image_tag, force=True).image
        t1 = time.perf_counter()
        endpoints = Endpoints(ws)
        endpoints.create_or_update_endpoint(spec2.endpoint.name, spec2.endpoint.auth_mode)
        t2 = time.perf_counter()
        runner = Runner(spec2, session=session, sink=lambda e: None)
        runner.ctx.ws, runner.ctx.rendered, runner.ctx.model_version, runner.ctx.image = ws, rendered, "1", image
        endpoints.create_or_update_deployment(runner._deployment_request())
        t3 = time.perf_counter()
        seq_build, seq_endpoint, seq_deployment, seq_total = t1 - t0, t2 - t1, t3 - t2, t3 - t0

        print(f"sandbox time scale {args.time_scale}")
        print(f"{'':34}{'plan (parallel)':>16}{'how-to (sequential)':>22}")
        print(f"{'build image':34}{build:>15.2f}s{seq_build:>21.2f}s")
        print(f"{'create endpoint':34}{endpoint:>15.2f}s{seq_endpoint:>21.2f}s")
        print(f"{'create deployment':34}{deployment:>15.2f}s{seq_deployment:>21.2f}s")
        print(f"{'build/endpoint start -> deployed':34}{critical:>15.2f}s{seq_total:>21.2f}s")
        print(f"{'whole plan (+prepare,traffic,score)':34}{total:>15.2f}s")
        ratio = critical / ideal
        print(f"max(build, endpoint) + deployment = {ideal:.2f}s; plan critical path / that = {ratio:.3f} (target <= 1.05)")
        print(f"sequential / plan critical path = {seq_total / critical:.2f}x")
        return 0 if ratio <= 1.05 else 1
    finally:
        for name in ("r-endpoint-forecast", "r-endpoint-sequential"):
            try:
                Endpoints(Workspace.open(session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)).delete(name)
            except Exception:
                pass
        sandbox.stop()


if __name__ == "__main__":
    sys.exit(main())
