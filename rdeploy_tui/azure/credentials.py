"""Who we are: the sign-in sources present on this machine (service principal or workload identity,
Azure CLI, managed identity) chained into one credential, and the identity read from its token.

Sign-in to a host MSAL does not know goes with MSAL's instance discovery off (it would ask
login.microsoftonline.com to vouch for the host).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rdeploy_tui.azure.capture import quiet_sdk
from rdeploy_tui.azure.clouds import CLOUDS
from rdeploy_tui.azure.errors import SIGN_IN
from rdeploy_tui.connection_options import ServicePrincipal
from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, TokenCredential
    from azure.identity import ChainedTokenCredential


@dataclass(frozen=True)
class Identity:
    """Who the token belongs to."""

    name: str  # user name / UPN, or the app id of a service principal / managed identity
    tenant_id: str | None
    kind: str  # "user", "service principal", "managed identity"
    source: str  # which sign-in source answered: "Azure CLI", "managed identity", "environment", "client secret"
    object_id: str | None = None  # the `oid` claim: what `az role assignment create --assignee` takes

    def __str__(self) -> str:
        tenant = f" (tenant {self.tenant_id})" if self.tenant_id else ""
        return f"{self.name}{tenant}"


def identity_from_token(token: str, source: str) -> Identity:
    """Name and tenant from a JWT's claims (not verified: only shown to the user)."""
    claims: dict[str, Any] = {}
    parts = token.split(".")
    if len(parts) == 3:
        try:
            payload = parts[1] + "=" * (-len(parts[1]) % 4)
            claims = json.loads(base64.urlsafe_b64decode(payload))
        except (ValueError, TypeError):
            claims = {}
    if not isinstance(claims, dict):
        claims = {}
    name = (
        claims.get("upn")
        or claims.get("preferred_username")
        or claims.get("unique_name")
        or claims.get("email")
        or claims.get("name")
    )
    if name:
        kind = "user"
    elif claims.get("xms_mirid") or source == "managed identity":
        name, kind = claims.get("appid") or claims.get("oid") or "managed identity", "managed identity"
    elif claims.get("appid") or claims.get("azp"):
        name, kind = claims.get("app_displayname") or claims.get("appid") or claims.get("azp"), "service principal"
    else:
        name, kind = "unknown identity", "user"
    oid = claims.get("oid")
    return Identity(str(name), claims.get("tid"), kind, source, str(oid) if oid else None)


def on_compute_instance() -> bool:
    """Azure ML compute instances set these; their managed identity endpoint is then really there."""
    return bool(
        os.environ.get("CI_NAME")
        or os.environ.get("CI_WORKSPACE")
        or os.environ.get("MLFLOW_TRACKING_URI", "").startswith("azureml://")
    )


def build_credential(
    authority: str | None = None, *, ca_bundle: str | None = None, service_principal: ServicePrincipal | None = None
) -> tuple[TokenCredential, str]:
    """A credential chain over the sign-in sources that are present here, and a label for them; or, given a
    `service_principal`, that one alone (ClientSecretCredential, as `az login --service-principal` signs in).

    Only sources that exist are tried, so a laptop never waits on a metadata endpoint that is not
    there: environment (service principal / workload identity) when its variables are set; the Azure
    CLI when `az` is installed; managed identity only when the host advertises it (IDENTITY_ENDPOINT /
    MSI_ENDPOINT, as Azure ML compute instances, App Service and Arc do).

    `authority` (https://host[:port]) is where the service principal signs in; for a host MSAL does not know
    (Azure Stack Hub, a private cloud, the built-in sandbox) instance discovery is turned off: MSAL would otherwise ask
    login.microsoftonline.com to vouch for it. `ca_bundle` is trusted for the sign-in requests too.
    """
    quiet_sdk()
    from azure.identity import (
        AzureCliCredential,
        ChainedTokenCredential,
        EnvironmentCredential,
        ManagedIdentityCredential,
    )

    sources: list[tuple[TokenCredential, str]] = []
    kw: dict[str, Any] = {}
    if authority:
        kw["authority"] = authority
        if not _well_known_authority(authority):
            kw["disable_instance_discovery"] = True
    if ca_bundle:
        kw["connection_verify"] = ca_bundle
    if service_principal is not None:
        from azure.identity import ClientSecretCredential

        sp = service_principal
        return ClientSecretCredential(sp.tenant_id, sp.client_id, sp.client_secret, **kw), "client secret"
    env = os.environ
    if (
        env.get("AZURE_CLIENT_ID")
        and env.get("AZURE_TENANT_ID")
        and (env.get("AZURE_CLIENT_SECRET") or env.get("AZURE_CLIENT_CERTIFICATE_PATH"))
    ):
        sources.append((EnvironmentCredential(**kw), "environment"))
    elif env.get("AZURE_CLIENT_ID") and env.get("AZURE_TENANT_ID") and env.get("AZURE_FEDERATED_TOKEN_FILE"):
        # Workload identity (AKS, GitHub Actions and other CI with OIDC): EnvironmentCredential cannot use a
        # federated token file; WorkloadIdentityCredential sends it as the client assertion (re-read when it rotates).
        from azure.identity import WorkloadIdentityCredential

        sources.append(
            (
                WorkloadIdentityCredential(
                    tenant_id=env["AZURE_TENANT_ID"],
                    client_id=env["AZURE_CLIENT_ID"],
                    token_file_path=env["AZURE_FEDERATED_TOKEN_FILE"],
                    **kw,
                ),
                "workload identity",
            )
        )
    if shutil.which("az"):
        sources.append((AzureCliCredential(process_timeout=20), "Azure CLI"))
    if os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT"):
        client_id = os.environ.get("DEFAULT_IDENTITY_CLIENT_ID") or os.environ.get("AZURE_CLIENT_ID")
        sources.append(
            (
                ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential(),
                "managed identity",
            )
        )
    if not sources:
        raise RdeployError(
            "You are not signed in to Azure: no Azure CLI, no managed identity and no service principal variables were "
            "found.",
            SIGN_IN,
            code="NotSignedIn",
        )
    if len(sources) == 1:
        return sources[0]
    return _LabelledChain(ChainedTokenCredential(*(c for c, _ in sources)), [label for _, label in sources]), "+".join(
        label for _, label in sources
    )


def _well_known_authority(authority: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(authority if "://" in authority else "https://" + authority).hostname or "").lower()
    try:
        from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS
    except ImportError:  # pragma: no cover - msal comes with azure-identity
        WELL_KNOWN_AUTHORITY_HOSTS = frozenset(host for _arm, host, _s in CLOUDS.values())
    return host in WELL_KNOWN_AUTHORITY_HOSTS


class _LabelledChain:
    """ChainedTokenCredential that remembers which source answered (for 'signed in via ...')."""

    def __init__(self, chain: ChainedTokenCredential, labels: list[str]) -> None:
        self._chain = chain
        self._labels = labels

    @property
    def source(self) -> str:
        successful = getattr(self._chain, "_successful_credential", None)
        for credential, label in zip(getattr(self._chain, "credentials", ()), self._labels, strict=False):
            if credential is successful:
                return label
        return self._labels[0]

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return self._chain.get_token(*scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae, **kwargs)

    def close(self) -> None:
        self._chain.close()
