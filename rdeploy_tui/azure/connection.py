"""Where Azure is and who we are there: the one client factory.

    options = ConnectionOptions.from_args(args)      # --sandbox / --cloud / --arm-endpoint / --ca-bundle
    session = connect(options)                        # starts the sandbox in-process when asked
    session.identity()                                # who is signed in (name, tenant) from the token

Every Azure client in rdeploy-tui is made by a Session: management clients (subscriptions, ACR,
ACR Tasks), MLClient and blob clients all get the same base URL, credential, CA bundle and retry
policy, so real Azure, a sovereign cloud, Azure Stack-like ARM endpoints and the sandbox differ only here.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdeploy_tui.azure.capture import quiet_ml, quiet_sdk
from rdeploy_tui.azure.errors import SIGN_IN, azure_call, explain
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.logfile import state_dir

# name -> (ARM endpoint, Entra authority host, storage suffix)
CLOUDS: dict[str, tuple[str, str, str]] = {
    "AzureCloud": ("https://management.azure.com", "login.microsoftonline.com", "core.windows.net"),
    "AzureChinaCloud": ("https://management.chinacloudapi.cn", "login.chinacloudapi.cn", "core.chinacloudapi.cn"),
    "AzureUSGovernment": ("https://management.usgovcloudapi.net", "login.microsoftonline.us", "core.usgovcloudapi.net"),
}
_CLOUD_ALIASES = {name.lower(): name for name in CLOUDS} | {"public": "AzureCloud", "china": "AzureChinaCloud", "usgov": "AzureUSGovernment"}

# Retries for every client: azure-core retries 429/5xx/connection errors with exponential back-off,
# honouring Retry-After; bounded so a dead network is reported within about a minute.
RETRY = {"retry_total": 5, "retry_backoff_factor": 0.8, "retry_backoff_max": 20}
SANDBOX_TIME_SCALE_ENV = "RDEPLOY_SANDBOX_TIME_SCALE"


@dataclass(frozen=True)
class ConnectionOptions:
    """How to reach Azure. All empty: public Azure with the usual sign-in."""

    sandbox: bool = False
    cloud: str | None = None
    arm_endpoint: str | None = None
    ca_bundle: str | None = None

    @classmethod
    def from_args(cls, args: Any) -> "ConnectionOptions":
        """From the options cli.add_connection_options adds."""
        return cls(
            sandbox=bool(getattr(args, "sandbox", False)),
            cloud=getattr(args, "cloud", None),
            arm_endpoint=getattr(args, "arm_endpoint", None),
            ca_bundle=getattr(args, "ca_bundle", None),
        )

    def check(self) -> None:
        """Raise RdeployError for contradictory or malformed options."""
        chosen = [name for name, on in (("--sandbox", self.sandbox), ("--cloud", self.cloud), ("--arm-endpoint", self.arm_endpoint)) if on]
        if len(chosen) > 1:
            raise RdeployError(f"Choose one of {', '.join(chosen)}, not several.", "Run again with only one of them.", code="Usage")
        if self.cloud and self.cloud.lower() not in _CLOUD_ALIASES:
            raise RdeployError(f"Unknown Azure cloud {self.cloud!r}.", f"Use one of {', '.join(CLOUDS)}, or --arm-endpoint URL.", code="Usage")
        if self.arm_endpoint and not self.arm_endpoint.lower().startswith("https://"):
            raise RdeployError(f"--arm-endpoint must be an https:// URL, got {self.arm_endpoint!r}.", "Azure sends tokens only over HTTPS.", code="Usage")
        if self.ca_bundle and not Path(self.ca_bundle).is_file():
            raise RdeployError(f"--ca-bundle {self.ca_bundle} is not a file.", "Give the path of a PEM file with the CA certificates.", code="Usage")

    @property
    def describe(self) -> str:
        if self.sandbox:
            return "the built-in sandbox"
        if self.arm_endpoint:
            return self.arm_endpoint
        return _CLOUD_ALIASES.get((self.cloud or "AzureCloud").lower(), "AzureCloud")


@dataclass(frozen=True)
class Identity:
    """Who the token belongs to."""

    name: str  # user name / UPN, or the app id of a service principal / managed identity
    tenant_id: str | None
    kind: str  # "user", "service principal", "managed identity", "sandbox"
    source: str  # which sign-in source answered: "Azure CLI", "managed identity", "environment", "sandbox"

    def __str__(self) -> str:
        tenant = f" (tenant {self.tenant_id})" if self.tenant_id else ""
        return f"{self.name}{tenant}"


class Session:
    """A connection to one Azure (real cloud, custom ARM endpoint or sandbox): credential + client factory.

    Thread-safe for use from worker threads. Close it (or use `with`) to stop an in-process sandbox.
    """

    def __init__(
        self,
        options: ConnectionOptions,
        credential: Any,
        *,
        arm_endpoint: str,
        cloud_name: str,
        cloud_metadata: dict[str, str] | None,
        ca_bundle: str | None,
        credential_source: str,
        sandbox: Any = None,
    ) -> None:
        self.options = options
        self.credential = credential
        self.arm_endpoint = arm_endpoint.rstrip("/")
        self.cloud_name = cloud_name
        self.cloud_metadata = cloud_metadata  # None for the clouds azure-ai-ml knows by name
        self.ca_bundle = ca_bundle
        self.credential_source = credential_source
        self.sandbox = sandbox  # the in-process rdeploy_tui.sandbox Sandbox, when --sandbox
        self._lock = threading.Lock()
        self._ml_clients: dict[tuple[str, str | None, str | None], Any] = {}
        self._identity: Identity | None = None

    # ----- lifecycle -----
    _owns_sandbox = False

    def close(self) -> None:
        if self._owns_sandbox and self.sandbox is not None:
            self.sandbox.stop()
            self._owns_sandbox = False

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox is not None

    @property
    def poll_scale(self) -> float:
        """Multiplier for our own poll intervals: the sandbox runs on scaled time, Azure does not."""
        if self.sandbox is not None:
            return max(0.01, min(1.0, float(getattr(self.sandbox, "time_scale", 1.0))))
        return 1.0

    @property
    def scopes(self) -> list[str]:
        return [self.arm_endpoint + "/.default"]

    # ----- who am I -----
    def identity(self) -> Identity:
        """Sign in (fast: no waiting on absent sources) and read who from the token. Raises RdeployError."""
        if self._identity is None:
            with azure_call("signing in"):
                token = self.credential.get_token(*self.scopes)
            self._identity = identity_from_token(token.token, getattr(self.credential, "source", self.credential_source))
        return self._identity

    def access_token(self) -> str:
        """A bearer token for ARM; never log it."""
        with azure_call("signing in"):
            return self.credential.get_token(*self.scopes).token

    # ----- clients -----
    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = dict(RETRY)
        if self.ca_bundle:
            kwargs["connection_verify"] = self.ca_bundle
        return kwargs

    def mgmt_kwargs(self) -> dict[str, Any]:
        return {"base_url": self.arm_endpoint, "credential_scopes": self.scopes, **self.client_kwargs()}

    def subscription_client(self) -> Any:
        quiet_sdk()
        from azure.mgmt.resource.subscriptions import SubscriptionClient

        return SubscriptionClient(self.credential, **self.mgmt_kwargs())

    def registry_client(self, subscription_id: str) -> Any:
        quiet_sdk()
        from azure.mgmt.containerregistry import ContainerRegistryManagementClient

        return ContainerRegistryManagementClient(self.credential, subscription_id, **self.mgmt_kwargs())

    def tasks_client(self, subscription_id: str) -> Any:
        quiet_sdk()
        from azure.mgmt.containerregistrytasks import ContainerRegistryTasksMgmtClient

        return ContainerRegistryTasksMgmtClient(self.credential, subscription_id, **self.mgmt_kwargs())

    def blob_client(self, sas_url: str) -> Any:
        quiet_sdk()
        from azure.storage.blob import BlobClient

        return BlobClient.from_blob_url(sas_url, **self.client_kwargs())

    def ml_client(self, subscription_id: str, resource_group: str | None = None, workspace: str | None = None) -> Any:
        """An MLClient (cached per workspace). The first call imports azure.ai.ml (~1.5 s): call it off the UI thread."""
        key = (subscription_id, resource_group, workspace)
        with self._lock:
            client = self._ml_clients.get(key)
            if client is not None:
                return client
        # MLClient records its cloud in the process env var AZUREML_CURRENT_CLOUD, and parts of azure.ai.ml read it
        # (some at import time); a value inherited from another process names a cloud this process never defined.
        if os.environ.get("AZUREML_CURRENT_CLOUD") not in (None, self.cloud_name):
            os.environ.pop("AZUREML_CURRENT_CLOUD")
        from azure.ai.ml import MLClient  # ~1.5 s import, deliberately deferred to the first workspace call

        quiet_ml()
        kwargs: dict[str, Any] = {
            "cloud": self.cloud_name,
            "show_progress": False,  # no tqdm bars on the terminal
            "enable_telemetry": False,  # no Application Insights traffic from a third-party tool
            **self.client_kwargs(),
        }
        if self.cloud_metadata:
            kwargs["cloud_metadata"] = self.cloud_metadata
        if self.is_sandbox:
            kwargs["polling_interval"] = 1  # the sandbox sends retry-after-ms; this caps the SDK's 30 s default elsewhere
        with azure_call("connecting to the workspace"):
            client = MLClient(self.credential, subscription_id, resource_group, workspace, **kwargs)
        with self._lock:
            return self._ml_clients.setdefault(key, client)


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
    name = claims.get("upn") or claims.get("preferred_username") or claims.get("unique_name") or claims.get("email") or claims.get("name")
    if name:
        kind = "user"
    elif claims.get("xms_mirid") or source == "managed identity":
        name, kind = claims.get("appid") or claims.get("oid") or "managed identity", "managed identity"
    elif claims.get("appid") or claims.get("azp"):
        name, kind = claims.get("app_displayname") or claims.get("appid") or claims.get("azp"), "service principal"
    elif source == "sandbox":
        name, kind = "sandbox user", "sandbox"
    else:
        name, kind = "unknown identity", "user"
    if source == "sandbox":
        kind = "sandbox"
    return Identity(str(name), claims.get("tid"), kind, source)


def on_compute_instance() -> bool:
    """Azure ML compute instances set these; their managed identity endpoint is then really there."""
    return bool(os.environ.get("CI_NAME") or os.environ.get("CI_WORKSPACE") or os.environ.get("MLFLOW_TRACKING_URI", "").startswith("azureml://"))


def build_credential(authority: str | None = None) -> tuple[Any, str]:
    """A credential chain over the sign-in sources that are present here, and a label for them.

    Only sources that exist are tried, so a laptop never waits on a metadata endpoint that is not
    there: environment (service principal / workload identity) when its variables are set; the Azure
    CLI when `az` is installed; managed identity only when the host advertises it (IDENTITY_ENDPOINT /
    MSI_ENDPOINT, as Azure ML compute instances, App Service and Arc do).
    """
    quiet_sdk()
    from azure.identity import AzureCliCredential, ChainedTokenCredential, EnvironmentCredential, ManagedIdentityCredential

    sources: list[tuple[Any, str]] = []
    kw = {"authority": authority} if authority else {}
    if os.environ.get("AZURE_CLIENT_ID") and (os.environ.get("AZURE_CLIENT_SECRET") or os.environ.get("AZURE_CLIENT_CERTIFICATE_PATH") or os.environ.get("AZURE_FEDERATED_TOKEN_FILE")) and os.environ.get("AZURE_TENANT_ID"):
        sources.append((EnvironmentCredential(**kw), "environment"))
    if shutil.which("az"):
        sources.append((AzureCliCredential(process_timeout=20), "Azure CLI"))
    if os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT"):
        client_id = os.environ.get("DEFAULT_IDENTITY_CLIENT_ID") or os.environ.get("AZURE_CLIENT_ID")
        sources.append((ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential(), "managed identity"))
    if not sources:
        raise RdeployError("You are not signed in to Azure: no Azure CLI, no managed identity and no service principal variables were found.", SIGN_IN, code="NotSignedIn")
    if len(sources) == 1:
        return sources[0]
    return _LabelledChain(ChainedTokenCredential(*(c for c, _ in sources)), [label for _, label in sources]), "+".join(label for _, label in sources)


class _LabelledChain:
    """ChainedTokenCredential that remembers which source answered (for 'signed in via ...')."""

    def __init__(self, chain: Any, labels: list[str]) -> None:
        self._chain = chain
        self._labels = labels

    @property
    def source(self) -> str:
        successful = getattr(self._chain, "_successful_credential", None)
        for credential, label in zip(getattr(self._chain, "credentials", ()), self._labels):
            if credential is successful:
                return label
        return self._labels[0]

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return self._chain.get_token(*scopes, **kwargs)

    def close(self) -> None:
        self._chain.close()


def connect(options: ConnectionOptions | None = None, *, sandbox_time_scale: float | None = None) -> Session:
    """A Session for these options. Does not sign in yet (call session.identity() to check).

    --sandbox starts the built-in sandbox in this process, with its state in state_dir()/sandbox so that
    earlier endpoints are found again; RDEPLOY_SANDBOX_TIME_SCALE (or `sandbox_time_scale`) speeds it up.
    """
    options = options or ConnectionOptions()
    options.check()
    quiet_sdk()
    if options.sandbox:
        return _connect_sandbox(options, sandbox_time_scale)
    if options.arm_endpoint:
        arm = options.arm_endpoint.rstrip("/")
        ca_bundle = combined_ca_bundle(options.ca_bundle) if options.ca_bundle else None
        metadata = _arm_metadata(arm, ca_bundle)
        authority = metadata.get("authentication", {}).get("loginEndpoint") if isinstance(metadata.get("authentication"), dict) else None
        suffix = (metadata.get("suffixes") or {}).get("storage") or "core.windows.net"
        cloud_metadata = {
            "resource_manager": arm + "/",
            "active_directory": authority or "https://login.microsoftonline.com/",
            "azure_portal": metadata.get("portal") or arm + "/",
            "aml_resource_id": arm + "/",
            "storage_endpoint": suffix,
            "registry_discovery_endpoint": arm + "/",
        }
        credential, source = build_credential(authority.replace("https://", "").rstrip("/") if authority else None)
        return Session(options, credential, arm_endpoint=arm, cloud_name=_unique_cloud_name(arm), cloud_metadata=cloud_metadata, ca_bundle=ca_bundle, credential_source=source)
    name = _CLOUD_ALIASES.get((options.cloud or "AzureCloud").lower(), "AzureCloud")
    arm, authority, _storage = CLOUDS[name]
    credential, source = build_credential(authority if name != "AzureCloud" else None)
    ca_bundle = combined_ca_bundle(options.ca_bundle) if options.ca_bundle else None
    return Session(options, credential, arm_endpoint=arm, cloud_name=name, cloud_metadata=None, ca_bundle=ca_bundle, credential_source=source)


def _connect_sandbox(options: ConnectionOptions, time_scale: float | None) -> Session:
    try:
        from rdeploy_tui.sandbox.server import Sandbox
    except ImportError as exc:  # pragma: no cover - the sandbox ships with rdeploy-tui
        raise RdeployError("The built-in sandbox is not available in this installation.", "Reinstall rdeploy-tui.", details=str(exc)) from None
    if time_scale is None:
        try:
            time_scale = float(os.environ.get(SANDBOX_TIME_SCALE_ENV, "1"))
        except ValueError:
            raise RdeployError(f"{SANDBOX_TIME_SCALE_ENV} must be a number.", f"Unset it or set e.g. {SANDBOX_TIME_SCALE_ENV}=0.1.", code="Usage") from None
    folder = state_dir() / "sandbox"
    try:
        sandbox = Sandbox(folder, time_scale=time_scale).start()
    except Exception as exc:  # StateFolderBusy and friends carry a user-facing message
        raise RdeployError(f"The built-in sandbox could not start: {exc}", "Close the other rdeploy-tui using the sandbox, then run again.", code="SandboxBusy") from None
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


def combined_ca_bundle(extra: str) -> str:
    """certifi's CAs plus `extra`, so the public storage/login endpoints still verify next to a private CA."""
    import certifi

    extra_pem = Path(extra).read_bytes()
    folder = state_dir() / "tls"
    folder.mkdir(parents=True, exist_ok=True)
    import hashlib

    target = folder / f"ca-bundle-{hashlib.sha256(extra_pem).hexdigest()[:12]}.pem"
    if not target.exists():
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + extra_pem)
        os.replace(tmp, target)
    return str(target)


def _arm_metadata(arm: str, ca_bundle: str | None) -> dict[str, Any]:
    """ARM's /metadata/endpoints (Azure Stack and sovereign clouds publish one); {} when absent."""
    import ssl

    import httpx

    try:
        verify = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        response = httpx.get(f"{arm}/metadata/endpoints", params={"api-version": "2022-09-01"}, verify=verify, timeout=5)
        if response.status_code == 200:
            data = response.json()
            return data if isinstance(data, dict) else {}
    except (httpx.HTTPError, ValueError):
        pass
    return {}


def _unique_cloud_name(arm: str) -> str:
    # azure-ai-ml keeps the FIRST definition of a cloud name for the whole process: one name per base URL.
    from urllib.parse import urlsplit

    parts = urlsplit(arm)
    return f"Rdeploy-{parts.hostname}-{parts.port or 443}"


__all__ = ["ConnectionOptions", "Identity", "Session", "connect", "session_for_sandbox", "identity_from_token", "build_credential", "explain"]
