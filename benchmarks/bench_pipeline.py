"""Wall time of the whole deploy plan in the sandbox vs. the how-to's sequential order, measured in one run.

    .venv/bin/python benchmarks/bench_pipeline.py [--time-scale 0.05]

The sandbox simulates Azure's durations (rdeploy_tui/sandbox/durations.py: an ACR build of ~3.5 min, endpoint
creation ~1.5 min, a deployment ~7 min, a traffic update ~20 s) scaled by --time-scale; the default 0.05 is
the demo pace and makes this benchmark take about 1.5 minutes.

Run 1 is rdeploy-tui's plan, end to end as `rdeploy-tui deploy` runs it:
    prepare -> (build-image || create-endpoint) -> create-deployment -> (route-traffic || smoke-score)
Run 2 does the same Azure work in the Microsoft how-to's order, one after the other: build the image, create
the endpoint, create the deployment with `--all-traffic` (which the CLI carries out as a traffic update on
the endpoint once the deployment is up).

"deployment" in the target below is create-deployment + route-traffic: the how-to's deployment command
includes the traffic update (`--all-traffic`), so both runs count it as part of the deployment.
Target: the plan's TOTAL wall time (prepare, the smoke score and every gap between steps included)
    <= 1.05 x (max(build, endpoint) + deployment incl. traffic).
Exits 1 when over, or when a run fails. Needs Rscript with plumber (the sandbox hosts deployments with it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET = 1.05


def main() -> int:
    from rdeploy_tui.sandbox.durations import DEMO_TIME_SCALE

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--time-scale",
        type=float,
        default=DEMO_TIME_SCALE,
        help=f"sandbox time scale (default {DEMO_TIME_SCALE:g}; 1 = Azure's own durations, ~25 min for this benchmark)",
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="rdeploy-bench-"))
    os.environ["RDEPLOY_HOME"] = str(tmp / "home")
    from rdeploy_tui import launch
    from rdeploy_tui.azure import Endpoints, Workspace, build_image
    from rdeploy_tui.deploy_folder.render import render
    from rdeploy_tui.pipeline import plan as P
    from rdeploy_tui.pipeline.events import StepFinished, StepStarted
    from rdeploy_tui.pipeline.runner import deployment_request, run_deploy
    from rdeploy_tui.sandbox.server import Sandbox
    from rdeploy_tui.spec.deploy_spec import default_spec

    sandbox = Sandbox(tmp / "sandbox", time_scale=args.time_scale).start()
    try:
        session = launch.connect_to(sandbox)
        spec = default_spec()
        spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name = (
            sandbox.subscription_id,
            sandbox.resource_group,
            sandbox.workspace_name,
        )
        ws = Workspace.open(
            session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name
        )  # warm-up: imports azure.ai.ml

        # ---- run 1: the plan, end to end -----------------------------------------------------------------
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

        prepare, build, endpoint = span(P.PREPARE), span(P.BUILD), span(P.ENDPOINT)
        deployment, traffic, smoke = span(P.DEPLOYMENT), span(P.TRAFFIC), span(P.SMOKE)
        ideal = max(build, endpoint) + deployment + traffic

        # ---- run 2: the how-to's order, same work, another endpoint ---------------------------------------
        spec2 = spec.copy()
        spec2.endpoint.name = "r-endpoint-sequential"
        rendered = render(spec2, registry=ws.registry().login_server)
        t0 = time.perf_counter()
        image = build_image(
            ws, rendered.docker_context(), rendered.image_repository, rendered.image_tag, force=True
        ).image
        t1 = time.perf_counter()
        endpoints = Endpoints(ws)
        endpoints.create_or_update_endpoint(spec2.endpoint.name, spec2.endpoint.auth_mode)
        t2 = time.perf_counter()
        endpoints.create_or_update_deployment(deployment_request(spec2, rendered, "1", image))
        t3 = time.perf_counter()
        endpoints.route_to(spec2.endpoint.name, spec2.deployment.name, 100)  # the how-to's --all-traffic
        t4 = time.perf_counter()
        seq = {"build": t1 - t0, "endpoint": t2 - t1, "deployment": t3 - t2, "traffic": t4 - t3}
        seq_total = t4 - t0

        # ---- the table -------------------------------------------------------------------------------------
        def row(label: str, plan_s: float | None, seq_s: float | None) -> str:
            def cell(v: float | None) -> str:
                return f"{v:>12.2f} s" if v is not None else f"{'-':>14}"

            return f"{label:<46}{cell(plan_s)}{cell(seq_s)}"

        print(f"sandbox time scale {args.time_scale:g} (1 = Azure's own durations; rdeploy_tui/sandbox/durations.py)")
        print(f"{'':<46}{'plan':>14}{'how-to order':>14}")
        print(row("prepare (sign-in, workspace, registry, model)", prepare, None))
        print(row("build image", build, seq["build"]))
        print(row("create endpoint", endpoint, seq["endpoint"]))
        print(row("create deployment", deployment, seq["deployment"]))
        print(row("route traffic (the how-to's --all-traffic)", traffic, seq["traffic"]))
        print(row("smoke score (plan: beside the traffic update)", smoke, None))
        print(row("TOTAL wall time", total, seq_total))
        print()
        ratio = total / ideal
        verdict = "OK" if ratio <= TARGET else "OVER"
        print(
            f"deployment incl. traffic = {deployment:.2f} + {traffic:.2f} = {deployment + traffic:.2f} s "
            "(the how-to's deployment command sets traffic with --all-traffic)"
        )
        print(f"max(build, endpoint) + deployment incl. traffic = {ideal:.2f} s")
        print(f"plan total / that = {ratio:.3f}  (target <= {TARGET}): {verdict}")
        print(f"how-to order total / plan total = {seq_total / total:.2f} x")
        return 0 if ratio <= TARGET else 1
    finally:
        sandbox.stop()  # stops the plumber processes it started; its state was a temp folder
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
