"""Where Azure is and who we are there: the one place that decides a named cloud or a custom ARM endpoint.

    options = ConnectionOptions.from_args(args)      # --cloud / --arm-endpoint / --ca-bundle (+ prices, package index)
    connection = connect(options)                     # an AzureConnection; does not sign in yet
    connection.identity()                             # who is signed in (name, tenant) from the token

The pieces: clouds.py (which cloud, its metadata), credentials.py (sign-in sources, identity), ca_bundle.py
(trusting a private CA), clients.py (the client factory). MSAL's instance discovery is off for hosts it does
not know, and --ca-bundle is trusted by every client including the sign-in and azure-ai-ml's blob client.
The built-in sandbox is one such ARM endpoint: rdeploy_tui.launch starts it and fills the options; nothing
here knows it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from rdeploy_tui.azure.ca_bundle import trust_ca_bundle
from rdeploy_tui.azure.capture import quiet_sdk
from rdeploy_tui.azure.clients import AzureConnection
from rdeploy_tui.azure.clouds import (
    CLOUD_ALIASES,
    CLOUDS,
    arm_metadata,
    endpoints_from_metadata,
    sovereign_cloud,
    unique_cloud_name,
)
from rdeploy_tui.azure.credentials import build_credential
from rdeploy_tui.connection_options import ConnectionOptions
from rdeploy_tui.errors import RdeployError


def check_options(options: ConnectionOptions) -> None:
    """Raise RdeployError for contradictory or malformed options."""
    if options.cloud and options.arm_endpoint:
        raise RdeployError(
            "Choose one of --cloud, --arm-endpoint, not several.", "Run again with only one of them.", code="Usage"
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


def connect(options: ConnectionOptions | None = None, *, on_close: Callable[[], None] | None = None) -> AzureConnection:
    """An AzureConnection for these options. Does not sign in yet (call connection.identity() to check).
    `on_close`: run when the connection is closed (the launch module stops what it started for it)."""
    options = options or ConnectionOptions()
    check_options(options)
    quiet_sdk()
    options = _cloud_from_environment(options)
    ca_bundle = trust_ca_bundle(options.ca_bundle) if options.ca_bundle else None
    sp = options.service_principal
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
        tenant = sp.tenant_id if sp is not None else os.environ.get("AZURE_TENANT_ID", "")
        if (
            cloud.tenant == "adfs"
            and (sp is not None or os.environ.get("AZURE_CLIENT_ID"))
            and tenant.lower() != "adfs"
        ):
            raise RdeployError(
                f"{cloud.arm} signs in with AD FS ({cloud.authority}/adfs), where the tenant is always 'adfs'.",
                "Set AZURE_TENANT_ID=adfs for the service principal (or sign in with `az login` on a cloud registered "
                "with `az cloud register`).",
                code="Usage",
            )
        credential, source = build_credential(cloud.authority, ca_bundle=ca_bundle, service_principal=sp)
        return AzureConnection(
            options,
            credential,
            arm_endpoint=cloud.arm,
            cloud_name=unique_cloud_name(cloud.arm),
            cloud_metadata=cloud_metadata,
            ca_bundle=ca_bundle,
            credential_source=source,
            authority=cloud.authority,
            audience=cloud.audience,
            on_close=on_close,
        )
    cloud = sovereign_cloud(options.cloud)
    # AzureCloud: azure-identity's default authority, which honours AZURE_AUTHORITY_HOST.
    credential, source = build_credential(
        cloud.authority if cloud.name != "AzureCloud" else None, ca_bundle=ca_bundle, service_principal=sp
    )
    return AzureConnection(
        options,
        credential,
        arm_endpoint=cloud.arm,
        cloud_name=cloud.name,
        cloud_metadata=None,
        ca_bundle=ca_bundle,
        credential_source=source,
        authority=cloud.authority,
        audience=cloud.audience,
        on_close=on_close,
    )


ARM_CLOUD_METADATA_URL = "ARM_CLOUD_METADATA_URL"


def _cloud_from_environment(options: ConnectionOptions) -> ConnectionOptions:
    """Without --cloud/--arm-endpoint, a custom cloud named by ARM_CLOUD_METADATA_URL (what azure-cli and azure-ai-ml
    read to find a cloud other than the public ones) is used as --arm-endpoint, with REQUESTS_CA_BUNDLE as its CA.
    A public cloud's metadata URL changes nothing."""
    url = os.environ.get(ARM_CLOUD_METADATA_URL, "")
    if options.cloud or options.arm_endpoint or not url.lower().startswith("https://"):
        return options
    parts = urlsplit(url)
    arm = f"{parts.scheme}://{parts.netloc}"
    if arm.lower() in (endpoint for endpoint, _login, _storage in CLOUDS.values()):
        return options
    bundle = options.ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE") or None
    return replace(options, arm_endpoint=arm, ca_bundle=bundle if bundle and Path(bundle).is_file() else None)
