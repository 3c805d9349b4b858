"""Where Azure is and who we are there: the one place that decides real cloud, custom ARM endpoint or sandbox.

    options = ConnectionOptions.from_args(args)      # --sandbox / --cloud / --arm-endpoint / --ca-bundle
    session = connect(options)                        # starts the sandbox in-process when asked
    session.identity()                                # who is signed in (name, tenant) from the token

The pieces: clouds.py (which cloud, its metadata), credentials.py (sign-in sources, identity), ca_bundle.py
(trusting a private CA), session.py (the client factory). MSAL's instance discovery is off for hosts it does
not know, and --ca-bundle is trusted by every client including the sign-in and azure-ai-ml's blob client.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rdeploy_tui.azure.ca_bundle import combined_ca_bundle, trust_ca_bundle
from rdeploy_tui.azure.capture import quiet_sdk
from rdeploy_tui.azure.clouds import (
    CLOUD_ALIASES,
    CLOUDS,
    arm_metadata,
    endpoints_from_metadata,
    sovereign_cloud,
    unique_cloud_name,
)
from rdeploy_tui.azure.credentials import build_credential
from rdeploy_tui.azure.session import Session
from rdeploy_tui.connection_options import ConnectionOptions
from rdeploy_tui.errors import RdeployError

SANDBOX_TIME_SCALE_ENV = "RDEPLOY_SANDBOX_TIME_SCALE"


def check_options(options: ConnectionOptions) -> None:
    """Raise RdeployError for contradictory or malformed options."""
    chosen = [
        name
        for name, on in (
            ("--sandbox", options.sandbox),
            ("--cloud", options.cloud),
            ("--arm-endpoint", options.arm_endpoint),
        )
        if on
    ]
    if len(chosen) > 1:
        raise RdeployError(
            f"Choose one of {', '.join(chosen)}, not several.", "Run again with only one of them.", code="Usage"
        )
    if options.cloud and options.cloud.lower() not in CLOUD_ALIASES:
        raise RdeployError(
            f"Unknown Azure cloud {options.cloud!r}.",
            f"Use one of {', '.join(CLOUDS)}, or --arm-endpoint URL.",
            code="Usage",
        )
    if options.arm_endpoint and not options.arm_endpoint.lower().startswith("https://"):
        raise RdeployError(
            f"--arm-endpoint must be an https:// URL, got {options.arm_endpoint!r}.",
            "Azure sends tokens only over HTTPS.",
            code="Usage",
        )
    if options.ca_bundle and not Path(options.ca_bundle).is_file():
        raise RdeployError(
            f"--ca-bundle {options.ca_bundle} is not a file.",
            "Give the path of a PEM file with the CA certificates.",
            code="Usage",
        )


def connect(options: ConnectionOptions | None = None, *, sandbox_time_scale: float | None = None) -> Session:
    """A Session for these options. Does not sign in yet (call session.identity() to check).

    --sandbox starts the built-in sandbox in this process, with its state in state_dir()/sandbox so that
    earlier endpoints are found again. Its pace: RDEPLOY_SANDBOX_TIME_SCALE (or `sandbox_time_scale`), default
    sandbox.durations.DEMO_TIME_SCALE (Azure's durations / 20: a first deploy in ~40 s; 1 = Azure's own ~11 min).
    """
    options = options or ConnectionOptions()
    check_options(options)
    quiet_sdk()
    if options.sandbox:
        return _connect_sandbox(options, sandbox_time_scale)
    options = _cloud_from_environment(options)
    ca_bundle = trust_ca_bundle(options.ca_bundle) if options.ca_bundle else None
    if options.arm_endpoint:
        cloud = endpoints_from_metadata(
            options.arm_endpoint, arm_metadata(options.arm_endpoint.rstrip("/"), ca_bundle, options.ca_bundle)
        )
        cloud_metadata = {
            "resource_manager": cloud.arm + "/",
            "active_directory": cloud.authority + "/",
            "azure_portal": cloud.portal,
            "aml_resource_id": cloud.arm + "/",
            "storage_endpoint": cloud.storage_suffix,
            "registry_discovery_endpoint": cloud.arm + "/",
        }
        if (
            cloud.tenant == "adfs"
            and os.environ.get("AZURE_CLIENT_ID")
            and os.environ.get("AZURE_TENANT_ID", "").lower() != "adfs"
        ):
            raise RdeployError(
                f"{cloud.arm} signs in with AD FS ({cloud.authority}/adfs), where the tenant is always 'adfs'.",
                "Set AZURE_TENANT_ID=adfs for the service principal (or sign in with `az login` on a cloud registered with `az cloud register`).",
                code="Usage",
            )
        credential, source = build_credential(cloud.authority, ca_bundle=ca_bundle)
        return Session(
            options,
            credential,
            arm_endpoint=cloud.arm,
            cloud_name=unique_cloud_name(cloud.arm),
            cloud_metadata=cloud_metadata,
            ca_bundle=ca_bundle,
            credential_source=source,
            authority=cloud.authority,
            audience=cloud.audience,
        )
    cloud = sovereign_cloud(options.cloud)
    # AzureCloud: azure-identity's default authority, which honours AZURE_AUTHORITY_HOST.
    credential, source = build_credential(cloud.authority if cloud.name != "AzureCloud" else None, ca_bundle=ca_bundle)
    return Session(
        options,
        credential,
        arm_endpoint=cloud.arm,
        cloud_name=cloud.name,
        cloud_metadata=None,
        ca_bundle=ca_bundle,
        credential_source=source,
        authority=cloud.authority,
        audience=cloud.audience,
    )


ARM_CLOUD_METADATA_URL = "ARM_CLOUD_METADATA_URL"


def _cloud_from_environment(options: ConnectionOptions) -> ConnectionOptions:
    """Without --cloud/--arm-endpoint, a custom cloud named by ARM_CLOUD_METADATA_URL (what azure-cli and azure-ai-ml
    read to find a cloud other than the public ones) is used as --arm-endpoint, with REQUESTS_CA_BUNDLE as its CA.
    A public cloud's metadata URL changes nothing."""
    from dataclasses import replace
    from urllib.parse import urlsplit

    url = os.environ.get(ARM_CLOUD_METADATA_URL, "")
    if options.cloud or options.arm_endpoint or not url.lower().startswith("https://"):
        return options
    parts = urlsplit(url)
    arm = f"{parts.scheme}://{parts.netloc}"
    if arm.lower() in (endpoint for endpoint, _login, _storage in CLOUDS.values()):
        return options
    bundle = options.ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE") or None
    return replace(options, arm_endpoint=arm, ca_bundle=bundle if bundle and Path(bundle).is_file() else None)


def _connect_sandbox(options: ConnectionOptions, time_scale: float | None) -> Session:
    try:
        from rdeploy_tui.sandbox.server import Sandbox, default_state_dir
    except ImportError as exc:  # pragma: no cover - the sandbox ships with rdeploy-tui
        raise RdeployError(
            "The built-in sandbox is not available in this installation.", "Reinstall rdeploy-tui.", details=str(exc)
        ) from None
    if time_scale is None:
        from rdeploy_tui.sandbox.durations import DEMO_TIME_SCALE  # Azure's pace / 20: a first deploy in ~40 s

        try:
            time_scale = float(os.environ.get(SANDBOX_TIME_SCALE_ENV) or DEMO_TIME_SCALE)
        except ValueError:
            raise RdeployError(
                f"{SANDBOX_TIME_SCALE_ENV} must be a number.",
                f"Unset it or set e.g. {SANDBOX_TIME_SCALE_ENV}=0.1.",
                code="Usage",
            ) from None
    folder = default_state_dir()  # the folder `rdeploy-tui sandbox` serves too
    from rdeploy_tui.sandbox.state import StateFolderBusy

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
        print(f"rdeploy-tui: warning: {notice}", file=sys.stderr)
    return session_for_sandbox(sandbox, options, owned=True)


def session_for_sandbox(sandbox: Any, options: ConnectionOptions | None = None, *, owned: bool = False) -> Session:
    """A Session on a running rdeploy_tui.sandbox Sandbox. `owned`: closing the session stops the sandbox."""
    settings = sandbox.client_settings()
    # The blob client azure-ai-ml builds internally ignores connection_verify: trust the sandbox CA process-wide.
    bundle = combined_ca_bundle(settings.ca_bundle)
    os.environ["REQUESTS_CA_BUNDLE"] = bundle
    session = Session(
        options or ConnectionOptions(sandbox=True),
        settings.credential(),
        arm_endpoint=settings.base_url,
        cloud_name=settings.cloud_name,
        cloud_metadata=settings.cloud_metadata,
        ca_bundle=bundle,
        credential_source="sandbox",
        sandbox=sandbox,
    )
    session._owns_sandbox = owned
    return session
