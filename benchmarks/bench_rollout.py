"""Safe rollout on the sandbox: `rdeploy-tui rollout` from start to the new deployment at 100 %, against the
same steps typed one by one (deploy the new version at 0 %, score it by name, then each traffic shift followed
by a score of the new deployment), all through the CLI on one sandbox state folder, as a user would.

    .venv/bin/python benchmarks/bench_rollout.py [--time-scale 0.003] [--steps 10,50,100]

Both paths skip the image build (the image is already in the registry from the first deploy) and keep the
old deployment at 0 %. Rollout also compares both deployments on --requests requests per stage; the manual path
sends one request per stage, so rollout does strictly more work.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rdeploy_tui.spec.deploy_spec import default_spec, save_spec


def _cli(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", *args, "--sandbox"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=900,
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"bench_rollout: `rdeploy-tui {' '.join(args)}` failed ({done.returncode}):\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    return took, done.stdout


def _spec(folder: Path, endpoint: str, name: str, traffic: int, steps: list[int], requests: int) -> Path:
    spec = default_spec()
    spec.endpoint.name = endpoint
    spec.deployment.name = name
    spec.deployment.traffic = traffic
    spec.deployment.instance_type = "Standard_DS1_v2"  # eight deployments share the sandbox's core quota
    spec.rollout.steps = steps
    spec.rollout.hold_seconds = 0
    spec.rollout.requests_per_stage = requests
    spec.rollout.latency_slack_ms = 5000  # a benchmark of time, not a judgement of a busy machine's latency
    path = folder / f"{endpoint}-{name}.yaml"
    save_spec(spec, path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", default="0.003", help="RDEPLOY_SANDBOX_TIME_SCALE (1 = Azure's pace)")
    parser.add_argument("--steps", default="10,50,100")
    parser.add_argument("--requests", type=int, default=10, help="requests per deployment per rollout stage")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {**os.environ, "RDEPLOY_HOME": str(folder / "home"), "RDEPLOY_SANDBOX_TIME_SCALE": args.time_scale}
        env.pop("REQUESTS_CA_BUNDLE", None)
        serving = {ep: _spec(folder, ep, "blue", 100, steps, args.requests) for ep in ("bench-rollout", "bench-manual")}
        for path in serving.values():  # the old version, serving (not timed)
            _cli(env, "deploy", "--yes", "--no-score", "--spec", str(path))

        started = time.perf_counter()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rdeploy_tui",
                "rollout",
                "--yes",
                "--keep-old",
                "--spec",
                str(serving["bench-rollout"]),
                "--sandbox",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        at_100 = None
        assert proc.stdout is not None
        for line in proc.stdout:
            if at_100 is None and line.startswith(" ok stage-100"):
                at_100 = time.perf_counter() - started
        if proc.wait() != 0 or at_100 is None:
            raise SystemExit("bench_rollout: the rollout did not reach 100 %")
        rollout_total = time.perf_counter() - started

        green = _spec(folder, "bench-manual", "green", 0, steps, args.requests)
        timings: list[tuple[str, float]] = []
        took, _ = _cli(env, "deploy", "--yes", "--spec", str(green))
        timings.append(("deploy green at 0 % (+ smoke score)", took))
        for percent in steps:
            split = ["green=100", "blue=0"] if percent == 100 else [f"green={percent}", f"blue={100 - percent}"]
            took, _ = _cli(env, "endpoints", "traffic", "bench-manual", *split, "--spec", str(green))
            timings.append((f"traffic green={percent}", took))
            took, _ = _cli(
                env,
                "endpoints",
                "score",
                "bench-manual",
                "-d",
                "green",
                "--data",
                '{"forecast_horizon": [2]}',
                "--spec",
                str(green),
            )
            timings.append((f"score green at {percent} %", took))
        manual_total = sum(t for _, t in timings)
        in_process = _in_process(folder, env, steps, args.requests)

    print(
        f"time scale {args.time_scale}, stages {args.steps}, "
        f"rollout compares {args.requests} requests per deployment per stage"
    )
    print(f"{'rollout: start -> green at 100 %':<44}{at_100:>8.1f} s")
    print(f"{'rollout: whole command':<44}{rollout_total:>8.1f} s")
    for what, took in timings:
        print(f"{'  by hand: ' + what:<44}{took:>8.1f} s")
    print(f"{'by hand: all steps (no waiting between)':<44}{manual_total:>8.1f} s")
    print("in one process (one session, no CLI start-up per step):")
    for what, took in in_process:
        print(f"{'  ' + what:<44}{took:>8.1f} s")
    return 0


def _in_process(folder: Path, env: dict[str, str], steps: list[int], requests: int) -> list[tuple[str, float]]:
    """The same comparison through the Python API on one session: what the steps cost without process start-ups."""
    from rdeploy_tui import azure
    from rdeploy_tui.pipeline.rollout import run_rollout
    from rdeploy_tui.pipeline.runner import run_deploy
    from rdeploy_tui.spec.deploy_spec import load_spec

    os.environ.update({k: env[k] for k in ("RDEPLOY_HOME", "RDEPLOY_SANDBOX_TIME_SCALE")})
    results = []
    from rdeploy_tui import launch

    with launch.connect(azure.ConnectionOptions(sandbox=True)) as session:
        specs = {}
        for ep in ("bench-api-rollout", "bench-api-manual"):
            spec = load_spec(_spec(folder, ep, "blue", 100, steps, requests))[0]
            assert run_deploy(spec, session=session, sink=lambda e: None, smoke_score=False).status == "succeeded"
            specs[ep] = spec
        started = time.perf_counter()
        at_100: list[float] = []

        def sink(event) -> None:
            if getattr(event, "step", None) == "stage-100" and type(event).__name__ == "StepFinished":
                at_100.append(time.perf_counter() - started)

        from rdeploy_tui.pipeline.rollout import RolloutOptions

        outcome = run_rollout(
            specs["bench-api-rollout"], session=session, sink=sink, options=RolloutOptions(keep_old=True)
        )
        assert outcome.status == "succeeded", outcome.summary
        results.append(("rollout: start -> green at 100 %", at_100[0]))
        spec = specs["bench-api-manual"].copy()
        spec.deployment.name, spec.deployment.traffic = "green", 0
        started = time.perf_counter()
        deployed = run_deploy(spec, session=session, sink=lambda e: None)
        assert deployed.status == "succeeded", deployed.summary
        ws = azure.Workspace.open(
            session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name
        )
        endpoints = azure.Endpoints(ws)
        for percent in steps:
            endpoints.set_traffic(spec.endpoint.name, {"green": percent, "blue": 100 - percent})
            azure.score(ws, spec.endpoint.name, spec.scoring.sample_request, deployment="green")
        results.append(("by hand: the same API calls one by one", time.perf_counter() - started))
    return results


if __name__ == "__main__":
    sys.exit(main())
