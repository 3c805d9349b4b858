"""Which Azure cloud: the clouds azure-ai-ml and azure-identity know by name, and any other ARM endpoint
described by its /metadata/endpoints answer (sovereign clouds, Azure Stack Hub, the sandbox).

A custom ARM endpoint (--arm-endpoint) describes itself at /metadata/endpoints: the sign-in authority
(authentication.loginEndpoint; AD FS when it ends in /adfs) and the token audiences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rdeploy_tui.errors import RdeployError

# name -> (ARM endpoint, Entra authority host, storage suffix)
CLOUDS: dict[str, tuple[str, str, str]] = {
    "AzureCloud": ("https://management.azure.com", "login.microsoftonline.com", "core.windows.net"),
    "AzureChinaCloud": ("https://management.chinacloudapi.cn", "login.chinacloudapi.cn", "core.chinacloudapi.cn"),
    "AzureUSGovernment": ("https://management.usgovcloudapi.net", "login.microsoftonline.us", "core.usgovcloudapi.net"),
}


CLOUD_ALIASES = {name.lower(): name for name in CLOUDS} | {
    "public": "AzureCloud",
    "china": "AzureChinaCloud",
    "usgov": "AzureUSGovernment",
}


# ARM's cloud metadata: azure-cli (`az cloud register`) asks 2022-09-01 (one cloud's entry: resourceManager,
# authentication.loginEndpoint/audiences, suffixes, ...); msrestazure and older Azure Stack Hub answer 2015-01-01
# (galleryEndpoint, graphEndpoint, portalEndpoint, authentication). Tried in this order.
METADATA_API_VERSIONS = ("2022-09-01", "2015-01-01")


@dataclass(frozen=True)
class CloudEndpoints:
    """What the factory decided about a cloud: where ARM is, where to sign in, and for which token audience."""

    name: str
    arm: str  # ARM base URL, no trailing slash
    authority: str  # Microsoft Entra (or AD FS) authority, https://host[:port], no tenant, no trailing slash
    audience: str  # the token resource; scope = audience + "/.default"
    storage_suffix: str = "core.windows.net"
    portal: str = ""
    tenant: str | None = None  # "adfs" for AD FS authorities (Azure Stack Hub disconnected); else the user's tenant


def sovereign_cloud(name: str | None) -> CloudEndpoints:
    """The endpoints of a cloud azure-ai-ml and azure-identity know by name (aliases: public, china, usgov).

    Raises RdeployError (code Usage) for an unknown name, listing the valid ones."""
    canonical = CLOUD_ALIASES.get((name or "AzureCloud").lower())
    if canonical is None:
        raise RdeployError(
            f"Unknown Azure cloud {name!r}.",
            f"Use one of {', '.join(CLOUDS)}, or --arm-endpoint URL for any other ARM endpoint.",
            code="Usage",
        )
    arm, login_host, storage = CLOUDS[canonical]
    return CloudEndpoints(canonical, arm, "https://" + login_host, arm, storage)


def endpoints_from_metadata(arm: str, metadata: object) -> CloudEndpoints:
    """CloudEndpoints for a custom ARM endpoint from its /metadata/endpoints answer (either shape; {} when absent).

    The token audience is the ARM URL when the metadata lists it among authentication.audiences (public Azure does),
    else the first audience (Azure Stack Hub lists only its own, e.g.
    https://management.<tenant>.onmicrosoft.com/<guid>), the way azure-cli and the Azure SDK samples for Azure Stack
    choose it. Without metadata: public Entra, audience = ARM.
    """
    arm = arm.rstrip("/")
    entry = _metadata_entry(arm, metadata)
    auth = _section(entry, "authentication")
    login = str(auth.get("loginEndpoint") or "https://login.microsoftonline.com").rstrip("/")
    tenant = None
    if login.lower().endswith("/adfs"):  # AD FS: authority is the host, the "tenant" is adfs (MSAL's convention)
        login, tenant = login[: -len("/adfs")], "adfs"
    audiences = [str(a) for a in auth.get("audiences") or [] if a]
    if not audiences or any(a.rstrip("/").lower() == arm.lower() for a in audiences):
        audience = arm
    else:
        audience = audiences[0].rstrip("/")
    suffixes = _section(entry, "suffixes")
    portal = str(entry.get("portal") or entry.get("portalEndpoint") or arm + "/")
    name = str(entry.get("name") or "") or unique_cloud_name(arm)
    return CloudEndpoints(
        name, arm, login, audience, str(suffixes.get("storage") or "core.windows.net"), portal, tenant
    )


def _section(entry: dict[str, Any], name: str) -> dict[str, Any]:
    value = entry.get(name)
    return value if isinstance(value, dict) else {}


def _metadata_entry(arm: str, metadata: object) -> dict[str, Any]:
    """This cloud's entry: the dict itself, or from a list of clouds the one whose resourceManager is `arm`."""
    if isinstance(metadata, dict):
        return metadata
    if isinstance(metadata, list):
        clouds = [c for c in metadata if isinstance(c, dict)]
        for cloud in clouds:
            if str(cloud.get("resourceManager") or "").rstrip("/").lower() == arm.lower():
                return cloud
        return clouds[0] if len(clouds) == 1 else {}
    return {}


def arm_metadata(arm: str, ca_bundle: str | None, given_bundle: str | None = None) -> object:
    """ARM's /metadata/endpoints answer (Azure, sovereign clouds and Azure Stack Hub publish it); {} when absent.

    An untrusted certificate or an unreachable endpoint is reported here, before any sign-in, naming the cause."""
    import httpx

    from rdeploy_tui.tls import tls_context

    verify = tls_context(ca_bundle or True)
    for version in METADATA_API_VERSIONS:
        try:
            response = httpx.get(
                f"{arm}/metadata/endpoints", params={"api-version": version}, verify=verify, timeout=10
            )
        except httpx.ConnectError as exc:
            raise connect_problem(arm, exc, given_bundle) from None
        except httpx.HTTPError as exc:
            raise RdeployError(
                f"{arm} did not answer ARM's metadata request ({type(exc).__name__}: {exc}).",
                CHECK_ARM_ENDPOINT,
                code="NetworkError",
            ) from None
        if response.status_code == 200:
            try:
                data = response.json()
            except ValueError:
                continue
            if _metadata_entry(arm, data).get("authentication"):
                return data
    return {}


CHECK_ARM_ENDPOINT = (
    "Check --arm-endpoint (the Azure Resource Manager URL, e.g. https://management.local.azurestack.external) "
    "and the network."
)


def connect_problem(arm: str, exc: BaseException, given_bundle: str | None) -> RdeployError:
    import ssl

    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ssl.SSLCertVerificationError) or (
        cause is not None and "CERTIFICATE_VERIFY_FAILED" in str(cause)
    ):
        reason = getattr(cause, "verify_message", None) or getattr(cause, "reason", None) or str(cause)
        if given_bundle:
            return RdeployError(
                f"The TLS certificate of {arm} is not trusted ({reason}), even with --ca-bundle {given_bundle}.",
                f"Check that {given_bundle} holds the CA certificate that signed the endpoint's certificate "
                "(for Azure Stack Hub: its root CA), and that the URL's host name matches the certificate.",
                details=str(cause),
                code="CertificateError",
            )
        return RdeployError(
            f"The TLS certificate of {arm} is not trusted ({reason}).",
            "Pass --ca-bundle FILE with the PEM certificate of the CA that signed it "
            "(for Azure Stack Hub: its root CA), then run again.",
            details=str(cause),
            code="CertificateError",
        )
    return RdeployError(
        f"Cannot reach {arm} ({exc}).",
        CHECK_ARM_ENDPOINT,
        details=str(exc),
        code="NetworkError",
    )


def unique_cloud_name(arm: str) -> str:
    # azure-ai-ml keeps the FIRST definition of a cloud name for the whole process: one name per base URL.
    from urllib.parse import urlsplit

    parts = urlsplit(arm)
    return f"Rdeploy-{parts.hostname}-{parts.port or 443}"
