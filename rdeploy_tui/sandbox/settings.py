"""What a client needs to talk to a sandbox: the one place that knows how to point the SDKs at it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

STORAGE_ENDPOINT = "core.windows.net"  # kept as in public Azure; see blob.account_url_for_datastore


@dataclass(frozen=True)
class ClientSettings:
    base_url: str
    ca_bundle: str  # trust it with REQUESTS_CA_BUNDLE (the blob client azure-ai-ml builds ignores connection_verify)
    subscription_id: str
    resource_group: str
    workspace_name: str
    state_dir: str

    @property
    def ca_cert(self) -> str:
        """The sandbox CA alone: a much faster `verify=` for a direct HTTP client (the bundle also holds certifi's
        roots)."""
        return str(Path(self.ca_bundle).with_name("ca.pem"))

    @property
    def cloud_name(self) -> str:
        # azure-ai-ml keeps the FIRST definition of a cloud name for the whole process: one name per base URL.
        parts = urlsplit(self.base_url)
        return f"RdeploySandbox-{parts.hostname}-{parts.port}"

    @property
    def cloud_metadata(self) -> dict[str, str]:
        base = self.base_url + "/"
        return {
            "resource_manager": base,
            "active_directory": base,
            "azure_portal": base,
            "aml_resource_id": base,
            "storage_endpoint": STORAGE_ENDPOINT,
            "registry_discovery_endpoint": base,
        }

    @property
    def credential_scopes(self) -> list[str]:
        return [self.base_url + "/.default"]

    def credential(self, lifetime_s: float = 3600.0) -> Any:
        """A credential the sandbox accepts; works from any process that can read the state folder."""
        from rdeploy_tui.sandbox.auth import SandboxCredential

        return SandboxCredential.from_state_dir(Path(self.state_dir), lifetime_s)

    def mgmt_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for azure-mgmt-* clients (SubscriptionClient, ContainerRegistryManagementClient, ...)."""
        return {
            "base_url": self.base_url,
            "credential_scopes": self.credential_scopes,
            "connection_verify": self.ca_bundle,
        }

    def ml_client_kwargs(self) -> dict[str, Any]:
        return {"cloud": self.cloud_name, "cloud_metadata": self.cloud_metadata, "connection_verify": self.ca_bundle}
