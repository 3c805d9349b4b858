"""`rdeploy-tui sandbox`: serve the Azure sandbox in the foreground until Ctrl+C."""

from __future__ import annotations

import argparse
import errno
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    from rdeploy_tui.sandbox.faults import Faults
    from rdeploy_tui.sandbox.server import Sandbox


def register(sub: argparse._SubParsersAction) -> None:
    from rdeploy_tui.sandbox.durations import DEMO_TIME_SCALE
    from rdeploy_tui.sandbox.faults import FAULT_NAMES

    parser = sub.add_parser(
        "sandbox",
        help="serve the built-in Azure sandbox (HTTPS on 127.0.0.1) for any Azure SDK client",
        description="Serve an HTTPS simulation of the Azure services rdeploy-tui uses. Ctrl+C stops it and everything "
        "it started.",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        help="folder holding the sandbox's state (default: the one --sandbox uses, so both see the same endpoints)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=DEMO_TIME_SCALE,
        metavar="X",
        help=f"multiply Azure's simulated durations by X (default {DEMO_TIME_SCALE:g}, the same pace as --sandbox: a "
        "first deploy "
        "takes ~40 s; 1 is Azure's own pace, ~11 min: a 3 min image build, 1.5 min endpoint, 7 min deployment)",
    )
    parser.add_argument(
        "--quota-cores", type=int, default=None, metavar="N", help="vCPU quota per subscription (default 32)"
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[:COUNT][@MATCH][,KEY=VALUE]",
        help="make the sandbox misbehave, for COUNT uses or until stopped, where MATCH (a regex) matches; repeatable. "
        f"Names: {', '.join(FAULT_NAMES)}. "
        "E.g. deployment-slow@/green$,factor=5,after=10 makes deployment green 5x slower after 10 requests",
    )
    parser.add_argument(
        "--compute-instance",
        action="store_true",
        help="also print the variables of a simulated compute instance terminal (managed identity, workspace, cloud, "
        "CA): a shell with them runs plain `rdeploy-tui` against the sandbox as on a compute instance",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rdeploy_tui.sandbox.faults import Faults
    from rdeploy_tui.sandbox.server import DEFAULT_QUOTA_CORES, Sandbox, default_state_dir
    from rdeploy_tui.sandbox.state import StateFolderBusy

    if args.time_scale <= 0:
        raise RdeployError("--time-scale must be greater than 0", "try --time-scale 0.05")
    try:
        faults = Faults.from_specs(args.fault)
    except ValueError as exc:
        raise RdeployError(str(exc), "run `rdeploy-tui sandbox --help` for the fault names") from None
    state_dir = Path(args.state_dir).expanduser() if args.state_dir else default_state_dir()
    try:
        sandbox = Sandbox(
            state_dir,
            port=args.port,
            time_scale=args.time_scale,
            quota_cores=args.quota_cores or DEFAULT_QUOTA_CORES,
            faults=faults,
        )
        sandbox.start()
    except StateFolderBusy as exc:
        raise RdeployError(str(exc)) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise RdeployError(
                f"port {args.port} on 127.0.0.1 is already in use",
                "choose another --port, or leave it out to get a free one",
            ) from None
        raise RdeployError(f"the sandbox could not start: {exc}", f"check that {state_dir} is writable") from None
    except Exception as exc:  # any other start-up failure: reported at once, never a hang or a traceback
        raise RdeployError(
            f"the sandbox could not start: {exc}", f"check {state_dir}; to start from a fresh sandbox, move it aside"
        ) from None
    for notice in sandbox.notices:
        print(f"rdeploy-tui: warning: {notice}", file=sys.stderr, flush=True)
    stop = threading.Event()
    # Ctrl+C and SIGTERM both stop it. SIGINT is handled explicitly: a process started in the background
    # of a non-interactive shell inherits SIGINT as ignored, and Python then never raises KeyboardInterrupt.
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _print_banner(sandbox, faults, compute_instance=getattr(args, "compute_instance", False))
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("\nStopping the sandbox and everything it started...", flush=True)
        sandbox.stop()
    print("Sandbox stopped.", flush=True)
    return 0


def _print_banner(sandbox: Sandbox, faults: Faults, *, compute_instance: bool = False) -> None:
    import shlex

    from rdeploy_tui import launch
    from rdeploy_tui.sandbox import arm

    settings = sandbox.client_settings()
    sp = sandbox.service_principal
    with sandbox.state.view() as data:
        workspaces = [dict(doc) for doc in data.get("workspaces", {}).values()]
        registries = {key: dict(doc) for key, doc in data.get("registries", {}).items()}
    default_ws = next((doc for doc in workspaces if doc["name"] == settings.workspace_name), None)
    default_acr = registries.get(((default_ws or {}).get("container_registry") or "").lower())
    lines = [
        f"rdeploy-tui sandbox serving at {settings.base_url}",
        f"  CA bundle        {settings.ca_bundle}",
        f"  subscription     {settings.subscription_id}  (also {arm.DISABLED_SUBSCRIPTION}, disabled)",
        f"  resource group   {settings.resource_group}",
    ]
    for doc in workspaces:
        registry = registries.get((doc["container_registry"] or "").lower())
        acr = f"ACR {registry['login_server']}" if registry else "no ACR"
        lines.append(f"  workspace        {doc['name']}  ({acr}; resource group {doc['resource_group']})")
    lines += [
        f"  state folder     {sandbox.state_dir}",
        f"  sandbox log      {sandbox.log_path}  (its own errors; never printed here)",
        f"  time scale       {sandbox.time_scale:g}  (x Azure's durations: 1 is Azure's own pace; --time-scale X)",
        "  faults           "
        f"{', '.join(f.name + ('' if f.count is None else f':{f.count}') for f in faults.armed()) or 'none'}",
        "",
        "Point a client at it:",
        f"  export REQUESTS_CA_BUNDLE={settings.ca_bundle}",
        f"  credential (Python): rdeploy_tui.sandbox.auth.SandboxCredential.from_state_dir({str(sandbox.state_dir)!r})",
        f"  ARM base URL {settings.base_url}   credential scope {settings.credential_scopes[0]}",
        "",
        "Or sign in as a custom cloud does (ARM metadata at /metadata/endpoints, Entra token endpoint on the sandbox),",
        "with the sandbox's test service principal:",
        f"  tenant           {sp.tenant_id}",
        f"  client id        {sp.client_id}  ({sp.display_name})",
        f"  client secret    {sp.client_secret}",
        "  export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in launch.environment_for(sandbox).items()),
        "  rdeploy-tui endpoints list "
        + shlex.join(launch.flags_for(sandbox))
        + f" --subscription {settings.subscription_id} -g {settings.resource_group} -w {settings.workspace_name}",
        "  (HTTPS_PROXY: the sandbox answers CONNECT for its registries, NAME.azurecr.io, as a corporate proxy would)",
        "",
        "The az CLI (pip install azure-cli), then Microsoft's how-to commands:",
        *("  " + line for line in az_recipe(sandbox)),
        *(
            [
                f"  az acr build -r {default_acr['name']} -t r-forecast:v1 ./docker-context   # no -g needed",
                "  az resource list -o table",
            ]
            if default_acr
            else []
        ),
        "",
        *(
            [
                "A compute instance terminal on this sandbox (managed identity, its workspace): paste these, then run "
                "rdeploy-tui:",
                *("  " + line for line in compute_instance_exports(sandbox)),
                "",
            ]
            if compute_instance
            else []
        ),
        "Press Ctrl+C to stop.",
    ]
    print("\n".join(lines), flush=True)


def compute_instance_exports(sandbox: Sandbox) -> list[str]:
    """`export` lines that make a shell look like a compute instance terminal whose cloud is this sandbox."""
    import shlex

    from rdeploy_tui.sandbox.compute_instance import compute_instance

    settings = sandbox.client_settings()
    env = {
        **compute_instance(sandbox).environment(),
        "ARM_CLOUD_METADATA_URL": f"{settings.base_url}/metadata/endpoints?api-version=2019-05-01",
        "REQUESTS_CA_BUNDLE": settings.ca_bundle,
        "SSL_CERT_FILE": settings.ca_bundle,
    }
    return [f"export {key}={shlex.quote(value)}" for key, value in env.items()]


def az_recipe(sandbox: Sandbox) -> list[str]:
    """Shell lines that point the real az CLI at `sandbox` and sign in (the README shows the same; a test runs them).

    ARM_CLOUD_METADATA_URL (read at import with urllib, hence SSL_CERT_FILE too) makes the sandbox a known cloud for az
    and for azure-ai-ml (`az ml`); instance discovery off because MSAL would ask login.microsoftonline.com to vouch for
    the sandbox's authority, as for any disconnected custom cloud."""
    import shlex

    from rdeploy_tui.sandbox.login import CLOUD_NAME

    settings = sandbox.client_settings()
    sp = sandbox.service_principal
    metadata = f"{settings.base_url}/metadata/endpoints?api-version=2019-05-01"
    return [
        f"export REQUESTS_CA_BUNDLE={shlex.quote(settings.ca_bundle)} SSL_CERT_FILE={shlex.quote(settings.ca_bundle)}",
        f"export ARM_CLOUD_METADATA_URL={shlex.quote(metadata)}",
        f"az cloud set --name {CLOUD_NAME}",
        "az config set core.instance_discovery=false",
        f"az login --service-principal --username {sp.client_id} --password {shlex.quote(sp.client_secret)} --tenant "
        f"{sp.tenant_id}",
    ]
