"""Day-2 CLI commands against the sandbox, as a user runs them (a fresh `rdeploy-tui` process each, signed in as
a service principal on a custom ARM endpoint): the light path (plain ARM REST, azure/rest_online.py) beside the
azure.ai.ml path it replaced, interleaved run by run. Target: median <= 0.8 s for each command.

    .venv/bin/python benchmarks/bench_day2_cli.py [--runs 7] [--time-scale 0.003]

Needs R for logs and score (a real plumber deployment); without R only list, show and delete are timed.
The azure.ai.ml path is today's code with the light parts switched back (RestEndpoints -> Endpoints,
Workspace.open(light=...) ignored), so the two differ only in how they talk to ARM.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ML_PATH = """
import sys
from rdeploy_tui import azure
from rdeploy_tui.azure import scoring, workspace
azure.RestEndpoints = scoring.RestEndpoints = azure.Endpoints
_open = workspace.Workspace.open.__func__
workspace.Workspace.open = classmethod(lambda cls, *args, light=False: _open(cls, *args))
from rdeploy_tui.cli import main
sys.exit(main(sys.argv[1:]))
"""
LIGHT_PATH = "import sys; from rdeploy_tui.cli import main; sys.exit(main(sys.argv[1:]))"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--time-scale", type=float, default=0.003)
    args = parser.parse_args()

    from rdeploy_tui.deploy_folder.render import render
    from rdeploy_tui.local.plumber import find_rscript
    from rdeploy_tui.sandbox import Sandbox
    from rdeploy_tui.spec.deploy_spec import default_spec

    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Sandbox(Path(tmp) / "state", time_scale=args.time_scale).start()
        try:
            os.environ["REQUESTS_CA_BUNDLE"] = str(sandbox.ca_bundle)
            settings = sandbox.client_settings()
            from azure.ai.ml import MLClient
            from azure.ai.ml.entities import (
                CodeConfiguration,
                Environment,
                ManagedOnlineDeployment,
                ManagedOnlineEndpoint,
            )

            client = MLClient(
                settings.credential(),
                settings.subscription_id,
                settings.resource_group,
                settings.workspace_name,
                **settings.ml_client_kwargs(),
            )
            client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="bench-day2")).result()
            commands: dict[str, list[str]] = {
                "list": ["endpoints", "list"],
                "show": ["endpoints", "show", "bench-day2"],
            }
            if find_rscript() is not None:
                with sandbox.state.view() as data:
                    login = next(iter(data["registries"].values()))["login_server"]
                rendered = render(default_spec(), registry=login)
                sandbox.images.record_image(
                    login, rendered.image_repository, rendered.image_tag, rendered.docker_context()
                )
                code = rendered.write_code(Path(tmp) / "src")
                route = {"port": 8000}
                client.online_deployments.begin_create_or_update(
                    ManagedOnlineDeployment(
                        name="blue",
                        endpoint_name="bench-day2",
                        model="forecast-model:1",
                        environment=Environment(
                            image=rendered.image,
                            inference_config={
                                "liveness_route": {**route, "path": "/live"},
                                "readiness_route": {**route, "path": "/ready"},
                                "scoring_route": {**route, "path": "/score"},
                            },
                        ),
                        code_configuration=CodeConfiguration(code=str(code), scoring_script="plumber.R"),
                        instance_type="Standard_DS3_v2",
                        instance_count=1,
                    ),
                    skip_script_validation=True,
                ).result()
                endpoint = client.online_endpoints.get("bench-day2")
                endpoint.traffic = {"blue": 100}
                client.online_endpoints.begin_create_or_update(endpoint).result()
                commands["logs"] = ["endpoints", "logs", "bench-day2", "--lines", "50"]
                commands["score"] = ["endpoints", "score", "bench-day2", "--data", '{"forecast_horizon": [2]}']
            else:
                print("R is not installed: logs and score are not timed")
            commands["delete"] = ["endpoints", "delete", "{victim}", "--yes"]

            env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "RDEPLOY_", "REQUESTS_CA"))}
            env.update(sandbox.service_principal.environment())
            env["RDEPLOY_HOME"] = str(Path(tmp) / "home")
            connection = ["--arm-endpoint", settings.base_url, "--ca-bundle", str(settings.ca_cert)]
            workspace = [
                "--subscription",
                settings.subscription_id,
                "-g",
                settings.resource_group,
                "-w",
                settings.workspace_name,
            ]
            paths = {"light": LIGHT_PATH, "azure.ai.ml": ML_PATH}
            times: dict[tuple[str, str], list[float]] = {(c, p): [] for c in commands for p in paths}
            cpu: dict[tuple[str, str], list[float]] = {(c, p): [] for c in commands for p in paths}
            victims = iter(range(10_000))
            for run in range(args.runs):
                for command, argv in commands.items():
                    order = list(paths) if run % 2 == 0 else list(reversed(paths))
                    for path in order:
                        if command == "delete":
                            victim = f"bench-del-{next(victims)}"
                            client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=victim)).result()
                            argv_now = [a.format(victim=victim) for a in argv]
                        else:
                            argv_now = argv
                        before = resource.getrusage(resource.RUSAGE_CHILDREN)
                        started = time.perf_counter()
                        done = subprocess.run(
                            [sys.executable, "-c", paths[path], *connection, *argv_now, *workspace],
                            capture_output=True,
                            text=True,
                            env=env,
                            stdin=subprocess.DEVNULL,
                            timeout=300,
                        )
                        times[(command, path)].append(time.perf_counter() - started)
                        after = resource.getrusage(
                            resource.RUSAGE_CHILDREN
                        )  # the command's own CPU: less disturbed by other load
                        cpu[(command, path)].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
                        if done.returncode != 0:
                            raise SystemExit(f"{path} {' '.join(argv_now)} failed ({done.returncode}):\n{done.stderr}")
            floor = []
            for _ in range(args.runs):
                started = time.perf_counter()
                subprocess.run([sys.executable, "-c", "import rdeploy_tui.cli"], check=True, env=env)
                floor.append(time.perf_counter() - started)
        finally:
            sandbox.stop()

    print(
        f"median of {args.runs} interleaved runs each "
        "(fresh process, service principal, custom ARM endpoint = the sandbox)"
    )
    print(f"{'command':10} {'light':>9} {'azure.ai.ml':>12} {'ratio':>7}   CPU: {'light':>7} {'azure.ai.ml':>12}")
    for command in commands:
        light = statistics.median(times[(command, "light")])
        heavy = statistics.median(times[(command, "azure.ai.ml")])
        mark = "" if light <= 0.8 else "  (over the 0.8 s target)"
        print(
            f"{command:10} {light:8.2f}s {heavy:11.2f}s {light / heavy:7.2f}        "
            f"{statistics.median(cpu[(command, 'light')]):6.2f}s "
            f"{statistics.median(cpu[(command, 'azure.ai.ml')]):11.2f}s{mark}"
        )
    print(f"floor: python -c 'import rdeploy_tui.cli' {statistics.median(floor):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
