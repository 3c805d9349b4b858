"""Connecting to Azure for the CLI and the wizard: the one place the built-in sandbox is composed with the core.

    with launch.connect(options) as connection:          # an rdeploy_tui.azure AzureConnection
        run_deploy(spec, session=connection, ...)

Without `--sandbox` this is rdeploy_tui.azure.connect. With it, the sandbox is started in this process (its state in
locations.sandbox_dir(), shared with `rdeploy-tui sandbox`) and the core gets the same options `--arm-endpoint URL
--ca-bundle FILE` give it, signed in as the sandbox's service principal through its Entra-shaped token endpoint
(what `az login --service-principal` does), with the sandbox's Retail Prices API and R package index as the
endpoint overrides any user behind a mirror may set. The core cannot tell it from any other ARM endpoint, so
`--sandbox` and `rdeploy-tui sandbox` + `--arm-endpoint` behave alike. Its registries' data plane is reached as any
registry behind a proxy: HTTPS_PROXY names the sandbox, which answers CONNECT for its registries' login servers.

The sandbox is also a playground: a spec may name any workspace and model, and `playground` makes them exist before
the core runs, saying what it created. (Real Azure is never changed this way.)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdeploy_tui.connection_options import ConnectionOptions, ServicePrincipal
from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    from rdeploy_tui.azure.clients import AzureConnection
    from rdeploy_tui.sandbox.server import Sandbox
    from rdeploy_tui.spec.deploy_spec import DeploySpec

SANDBOX_TIME_SCALE_ENV = "RDEPLOY_SANDBOX_TIME_SCALE"
SANDBOX_FLAGS = ("--sandbox",)


@dataclass(frozen=True)
class Playground:
    """What a spec names, made to exist in the sandbox before the core runs (ignored for real Azure)."""

    subscription_id: str
    resource_group: str
    workspace: str
    model: str | None = None

    @classmethod
    def for_spec(cls, spec: DeploySpec) -> Playground:
        w = spec.workspace
        return cls(w.subscription_id, w.resource_group, w.name, spec.model.name)


def say_on_stderr(text: str) -> None:
    print(f"rdeploy-tui: {text}", file=sys.stderr, flush=True)


def connect(
    options: ConnectionOptions,
    *,
    playground: Playground | None = None,
    time_scale: float | None = None,
    say: Callable[[str], None] = say_on_stderr,
) -> AzureConnection:
    """The connection the options name; `--sandbox` starts the built-in sandbox here (stopped when the connection
    closes). `say` hears what the sandbox created for `playground`, and the sandbox's start-up notices."""
    from rdeploy_tui.azure.connection import connect as connect_azure

    if not options.sandbox:
        return connect_azure(options)
    _refuse_other_targets(options)
    sandbox = start_sandbox(time_scale, say=say)
    try:
        if playground is not None:
            created = sandbox.prepare_playground(
                playground.subscription_id, playground.resource_group, playground.workspace, playground.model
            )
            if created:
                say(f"sandbox: created {' and '.join(created)} for this spec")
        return connect_to(sandbox, options, on_close=sandbox.stop)
    except BaseException:
        sandbox.stop()
        raise


def connect_to(
    sandbox: Sandbox, requested: ConnectionOptions | None = None, *, on_close: Callable[[], None] | None = None
) -> AzureConnection:
    """A connection to a sandbox already running in this process (benchmarks, tests), made as `connect` makes it."""
    from rdeploy_tui.azure.connection import connect as connect_azure

    route_registries_through(sandbox)
    return connect_azure(sandbox_options(sandbox, requested), on_close=on_close)


def sandbox_default_workspace() -> tuple[str, str, str]:
    """(subscription, resource group, workspace) a fresh sandbox offers when nothing names one."""
    from rdeploy_tui.sandbox import arm

    return arm.DEFAULT_SUBSCRIPTION, arm.DEFAULT_RESOURCE_GROUP, arm.DEFAULT_WORKSPACE


def sandbox_options(
    sandbox: Sandbox, requested: ConnectionOptions | None = None, *, flags: tuple[str, ...] = SANDBOX_FLAGS
) -> ConnectionOptions:
    """What the core needs to reach a running sandbox, as it would any ARM endpoint. `flags`: what a printed next
    command carries to reach it again (`--sandbox`: that command starts the sandbox on the same state folder)."""
    settings = sandbox.client_settings()
    principal = sandbox.service_principal
    return ConnectionOptions(
        arm_endpoint=settings.base_url,
        ca_bundle=settings.ca_cert,
        service_principal=ServicePrincipal(principal.tenant_id, principal.client_id, principal.client_secret),
        prices_url=(requested and requested.prices_url) or f"{settings.base_url}/api/retail/prices",
        package_index_url=(requested and requested.package_index_url) or f"{settings.base_url}/cran",
        flags=flags,
    )


def flags_for(sandbox: Sandbox) -> list[str]:
    """The command-line flags that reach a running sandbox from another process (what `rdeploy-tui sandbox` prints):
    the ARM endpoint and CA, and its prices and package index as the endpoint overrides."""
    options = sandbox_options(sandbox)
    return [
        *("--arm-endpoint", str(options.arm_endpoint), "--ca-bundle", str(options.ca_bundle)),
        *("--prices-url", str(options.prices_url), "--package-index-url", str(options.package_index_url)),
    ]


def environment_for(sandbox: Sandbox) -> dict[str, str]:
    """The variables another process needs besides flags_for(): the service principal (azure-identity's
    EnvironmentCredential) and the proxy its registries are reached through."""
    from urllib.parse import urlsplit

    principal = sandbox.service_principal
    return {
        **principal.environment(),
        "HTTPS_PROXY": f"http://{urlsplit(sandbox.base_url).netloc}",
        "NO_PROXY": "127.0.0.1,localhost,::1",
    }


def start_sandbox(time_scale: float | None = None, *, say: Callable[[str], None] = say_on_stderr) -> Sandbox:
    """The built-in sandbox, started in this process on the state folder `rdeploy-tui sandbox` serves too.

    Its pace: `time_scale`, else RDEPLOY_SANDBOX_TIME_SCALE, else sandbox.durations.DEMO_TIME_SCALE (Azure's
    durations / 20: a first deploy in ~40 s; 1 = Azure's own ~11 min). Raises RdeployError when it cannot start."""
    from rdeploy_tui.locations import sandbox_dir
    from rdeploy_tui.sandbox.durations import DEMO_TIME_SCALE
    from rdeploy_tui.sandbox.server import Sandbox
    from rdeploy_tui.sandbox.state import StateFolderBusy

    if time_scale is None:
        try:
            time_scale = float(os.environ.get(SANDBOX_TIME_SCALE_ENV) or DEMO_TIME_SCALE)
        except ValueError:
            raise RdeployError(
                f"{SANDBOX_TIME_SCALE_ENV} must be a number.",
                f"Unset it or set e.g. {SANDBOX_TIME_SCALE_ENV}=0.1.",
                code="Usage",
            ) from None
    folder = sandbox_dir()
    try:
        sandbox = Sandbox(folder, time_scale=time_scale).start()
    except StateFolderBusy as exc:
        raise RdeployError(
            f"The built-in sandbox could not start: {exc}",
            "Close the other rdeploy-tui using the sandbox, then run again; or, while `rdeploy-tui sandbox` serves it, "
            "connect to that one with the --arm-endpoint and --ca-bundle it printed.",
            code="SandboxBusy",
        ) from None
    except Exception as exc:  # a start-up failure is reported at once, with its own cause
        raise RdeployError(
            f"The built-in sandbox could not start: {exc}",
            f"Check that {folder} is a writable folder; to start from a fresh sandbox, move it aside.",
            code="SandboxStart",
        ) from None
    for notice in sandbox.notices:  # e.g. a corrupt state file moved aside: never silently
        say(f"warning: {notice}")
    return sandbox


def _refuse_other_targets(options: ConnectionOptions) -> None:
    chosen = [flag for flag, on in (("--cloud", options.cloud), ("--arm-endpoint", options.arm_endpoint)) if on]
    if chosen:
        raise RdeployError(
            f"Choose one of --sandbox, {', '.join(chosen)}, not several.",
            "Run again with only one of them.",
            code="Usage",
        )


def route_registries_through(sandbox: Sandbox) -> None:
    """The sandbox's registries (NAME.azurecr.io) are reached as any registry behind a proxy: this process's
    HTTPS_PROXY is the sandbox, which answers CONNECT for its registries only; loopback stays direct."""
    proxy = environment_for(sandbox)["HTTPS_PROXY"]
    for name in ("HTTPS_PROXY", "https_proxy"):
        os.environ[name] = proxy
    direct = {"127.0.0.1", "localhost", "::1"}
    for name in ("NO_PROXY", "no_proxy"):
        current = [h.strip() for h in os.environ.get(name, "").split(",") if h.strip()]
        os.environ[name] = ",".join(current + sorted(direct - set(current)))
