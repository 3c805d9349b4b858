"""Sandbox: start-up, SDK round trips, a full deploy with the real SDK, and scoring latency through the
scoring URI (TLS + key check + proxy) vs. the plumber process directly, for a kept-alive client and a
new connection per request. The front keeps its own connections to plumber alive, as Azure's does.

    .venv/bin/python benchmarks/bench_sandbox.py [--time-scale 0.02] [--requests 100] [--without-connection-close]

--without-connection-close deploys the generated plumber.R minus its `Connection: close` header (the
"before" figures: httpuv's ~40 ms on reused connections, r-facts.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from json import dumps as json_text
from pathlib import Path
from types import SimpleNamespace


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    return (
        f"median {statistics.median(ordered) * 1000:.1f} ms, p95 {ordered[int(len(ordered) * 0.95) - 1] * 1000:.1f} ms"
    )


def _curl_block(
    url: str, body: dict, headers: list[str], ca_cert: object, tmp: str, requests_in_block: int = 20
) -> list[float]:
    """Seconds per request of one curl process sending the block on one kept-alive connection (the first request,
    which also makes the connection and its TLS handshake, is left out). Headers go in a file: the key stays off the
    process list."""
    header_file = Path(tmp) / "curl-headers"
    header_file.write_text("\n".join(["Content-Type: application/json", *headers]) + "\n")
    command = [
        "curl",
        "-s",
        "--cacert",
        str(ca_cert),
        "-H",
        f"@{header_file}",
        "--data",
        json.dumps(body),
        "-w",
        "%{http_code} %{time_total}\n",
    ]
    for _ in range(requests_in_block):
        command += ["-o", "/dev/null", url]  # -o pairs with one URL
    lines = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout.split("\n")
    results = [line.split() for line in lines if line.strip()]
    assert all(code == "200" for code, _ in results), results
    return [float(seconds) for _, seconds in results[1:]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=0.02)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--without-connection-close",
        action="store_true",
        help="strip the score handler's Connection: close header before deploying",
    )
    args = parser.parse_args()

    import requests

    from rdeploy_tui.deploy_folder.render import render
    from rdeploy_tui.local.plumber import find_rscript
    from rdeploy_tui.sandbox import Sandbox
    from rdeploy_tui.spec.deploy_spec import default_spec

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        sandbox = Sandbox(Path(tmp) / "state", time_scale=args.time_scale).start()
        print(f"first start (CA, certificate, seed): {time.perf_counter() - started:.2f} s")
        try:
            os.environ["REQUESTS_CA_BUNDLE"] = str(sandbox.ca_bundle)
            settings = sandbox.client_settings()
            started = time.perf_counter()
            from azure.ai.ml import MLClient

            client = MLClient(
                settings.credential(),
                settings.subscription_id,
                settings.resource_group,
                settings.workspace_name,
                **settings.ml_client_kwargs(),
            )
            client.workspaces.get(settings.workspace_name)
            print(f"MLClient + workspaces.get (cold, includes import): {time.perf_counter() - started:.2f} s")
            samples = []
            for _ in range(20):
                t = time.perf_counter()
                client.workspaces.get(settings.workspace_name)
                samples.append(time.perf_counter() - t)
            print(f"workspaces.get warm: {_ms(samples)}")

            from azure.ai.ml.entities import (
                CodeConfiguration,
                Environment,
                ManagedOnlineDeployment,
                ManagedOnlineEndpoint,
            )

            t = time.perf_counter()
            client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="bench-endpoint")).result()
            print(f"endpoint create at time scale {args.time_scale:g}: {time.perf_counter() - t:.2f} s")
            if find_rscript() is None:
                print("R is not installed: skipping the deploy and scoring measurements")
                return 0
            with sandbox.state.view() as data:
                login = next(iter(data["registries"].values()))["login_server"]
            rendered = render(default_spec(), registry=login)
            sandbox.images.record_image(login, rendered.image_repository, rendered.image_tag, rendered.docker_context())
            code = rendered.write_code(Path(tmp) / "src")
            script = rendered.files["src/plumber.R"]
            if args.without_connection_close:
                header = b'  res$setHeader("Connection", "close")\n'
                assert header in script, "the generated plumber.R no longer sets Connection: close"
                script = script.replace(header, b"")
            (code / "plumber.R").write_bytes(script)
            print(
                f"plumber.R {'WITHOUT' if args.without_connection_close else 'with'} "
                "Connection: close in the score handler"
            )
            route = {"port": 8000}
            deployment = ManagedOnlineDeployment(
                name="blue",
                endpoint_name="bench-endpoint",
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
            )
            t = time.perf_counter()
            client.online_deployments.begin_create_or_update(deployment, skip_script_validation=True).result()
            print(f"deployment create incl. code upload and R start: {time.perf_counter() - t:.2f} s")
            endpoint = client.online_endpoints.get("bench-endpoint")
            endpoint.traffic = {"blue": 100}
            client.online_endpoints.begin_create_or_update(endpoint).result()
            key = client.online_endpoints.get_keys("bench-endpoint").primary_key
            target = sandbox.hosting.target(f"{endpoint.id}/deployments/blue")
            body = {"forecast_horizon": [2]}
            session = requests.Session()
            session.verify = settings.ca_cert
            direct = requests.Session()
            auth = {"Authorization": f"Bearer {key}"}
            from rdeploy_tui.scoring.client import ScoringClient
            from rdeploy_tui.scoring.target import ScoringTarget

            ours = ScoringClient()  # the client of the scoring screen and `endpoints score` (httpx, kept alive)
            ours_target = ScoringTarget(endpoint.scoring_uri, key, None, verify=str(settings.ca_cert))

            def ours_post(url: str, json: object, headers: dict[str, str], timeout: float) -> SimpleNamespace:
                result = ours.score(ours_target, json_text(json))  # `json` as requests names the argument
                return SimpleNamespace(status_code=result.status, text=result.text)

            modes = (
                (
                    "through the scoring URI, rdeploy-tui's scoring client (httpx, kept alive)",
                    ours_post,
                    endpoint.scoring_uri,
                    {},
                ),
                ("through the scoring URI, kept-alive TLS session", session.post, endpoint.scoring_uri, auth),
                (
                    "through the scoring URI, new session each (loads the CA bundle)",
                    requests.post,
                    endpoint.scoring_uri,
                    auth,
                ),
                ("plumber directly, kept-alive session", direct.post, target.url + target.scoring_path, {}),
                ("plumber directly, new connection each", requests.post, target.url + target.scoring_path, {}),
            )
            # curl, an outside client: one process per block, its connection kept alive across the block's requests.
            curl_modes = (
                []
                if shutil.which("curl") is None
                else [
                    (
                        "through the scoring URI, curl (kept alive)",
                        endpoint.scoring_uri,
                        [f"Authorization: Bearer {key}"],
                    ),
                    ("plumber directly, curl (kept alive)", target.url + target.scoring_path, []),
                ]
            )
            # Interleaved in blocks of 20 back-to-back requests per mode: this VM's speed swings by tens of percent
            # from second to second, and the front's own cost is the difference between the first and third rows.
            # Back to back within a block, since httpuv's ~40 ms shows only on a connection reused at once.
            samples: dict[str, list[float]] = {label: [] for label, *_ in modes}
            for _ in range(max(1, args.requests // 20)):
                for label, post, url, headers in modes:
                    for _ in range(20):
                        t = time.perf_counter()
                        answer = post(url, json=body, headers=headers, timeout=30)
                        samples[label].append(time.perf_counter() - t)
                        assert answer.status_code == 200, answer.text
                for label, url, extra in curl_modes:
                    samples.setdefault(label, []).extend(_curl_block(url, body, extra, settings.ca_cert, tmp))
            for label, values in samples.items():
                print(f"score {label}: {_ms(values)}")
        finally:
            started = time.perf_counter()
            sandbox.stop()
            print(f"stop (incl. plumber processes): {time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
