"""Where Azure is and who we are there: the one client factory.

    options = ConnectionOptions.from_args(args)      # --sandbox / --cloud / --arm-endpoint / --ca-bundle
    session = connect(options)                        # starts the sandbox in-process when asked
    session.identity()                                # who is signed in (name, tenant) from the token

Every Azure client in rdeploy-tui is made by a Session: management clients (subscriptions, ACR,
ACR Tasks), MLClient and blob clients all get the same base URL, credential, CA bundle and retry
policy, so real Azure, a sovereign cloud, Azure Stack-like ARM endpoints and the sandbox differ only here.

A custom ARM endpoint (--arm-endpoint) describes itself at /metadata/endpoints: the sign-in authority
(authentication.loginEndpoint; AD FS when it ends in /adfs) and the token audiences. Sign-in goes there with
MSAL's instance discovery off (it would ask login.microsoftonline.com to vouch for the host), and --ca-bundle
is trusted by every client including the sign-in and the blob client azure-ai-ml builds internally.
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
from rdeploy_tui.connection_options import ConnectionOptions
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.logfile import state_dir

# name -> (ARM endpoint, Entra authority host, storage suffix)
CLOUDS: dict[str, tuple[str, str, str]] = {
    "AzureCloud": ("https://management.azure.com", "login.microsoftonline.com", "core.windows.net"),
    "AzureChinaCloud": ("https://management.chinacloudapi.cn", "login.chinacloudapi.cn", "core.chinacloudapi.cn"),
    "AzureUSGovernment": ("https://management.usgovcloudapi.net", "login.microsoftonline.us", "core.usgovcloudapi.net"),
}
_CLOUD_ALIASES = {name.lower(): name for name in CLOUDS} | {"public": "AzureCloud", "china": "AzureChinaCloud", "usgov": "AzureUSGovernment"}
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
    canonical = _CLOUD_ALIASES.get((name or "AzureCloud").lower())
    if canonical is None:
        raise RdeployError(f"Unknown Azure cloud {name!r}.", f"Use one of {', '.join(CLOUDS)}, or --arm-endpoint URL for any other ARM endpoint.", code="Usage")
    arm, login_host, storage = CLOUDS[canonical]
    return CloudEndpoints(canonical, arm, "https://" + login_host, arm, storage)


def endpoints_from_metadata(arm: str, metadata: Any) -> CloudEndpoints:
    """CloudEndpoints for a custom ARM endpoint from its /metadata/endpoints answer (either shape; {} when absent).

    The token audience is the ARM URL when the metadata lists it among authentication.audiences (public Azure does),
    else the first audience (Azure Stack Hub lists only its own, e.g. https://management.<tenant>.onmicrosoft.com/<guid>),
    the way azure-cli and the Azure SDK samples for Azure Stack choose it. Without metadata: public Entra, audience = ARM.
    """
    arm = arm.rstrip("/")
    entry = _metadata_entry(arm, metadata)
    auth = entry.get("authentication") if isinstance(entry.get("authentication"), dict) else {}
    login = str(auth.get("loginEndpoint") or "https://login.microsoftonline.com").rstrip("/")
    tenant = None
    if login.lower().endswith("/adfs"):  # AD FS: authority is the host, the "tenant" is adfs (MSAL's convention)
        login, tenant = login[: -len("/adfs")], "adfs"
    audiences = [str(a) for a in auth.get("audiences") or [] if a]
    if not audiences or any(a.rstrip("/").lower() == arm.lower() for a in audiences):
        audience = arm
    else:
        audience = audiences[0].rstrip("/")
    suffixes = entry.get("suffixes") if isinstance(entry.get("suffixes"), dict) else {}
    portal = str(entry.get("portal") or entry.get("portalEndpoint") or arm + "/")
    name = str(entry.get("name") or "") or _unique_cloud_name(arm)
    return CloudEndpoints(name, arm, login, audience, str(suffixes.get("storage") or "core.windows.net"), portal, tenant)


def _metadata_entry(arm: str, metadata: Any) -> dict[str, Any]:
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

# Retries for every client: azure-core retries 429/5xx/connection errors with exponential back-off,
# honouring Retry-After; bounded so a dead network is reported within about a minute.
RETRY = {"retry_total": 5, "retry_backoff_factor": 0.8, "retry_backoff_max": 20}
SANDBOX_TIME_SCALE_ENV = "RDEPLOY_SANDBOX_TIME_SCALE"


def check_options(options: ConnectionOptions) -> None:
    """Raise RdeployError for contradictory or malformed options."""
    chosen = [name for name, on in (("--sandbox", options.sandbox), ("--cloud", options.cloud), ("--arm-endpoint", options.arm_endpoint)) if on]
    if len(chosen) > 1:
        raise RdeployError(f"Choose one of {', '.join(chosen)}, not several.", "Run again with only one of them.", code="Usage")
    if options.cloud and options.cloud.lower() not in _CLOUD_ALIASES:
        raise RdeployError(f"Unknown Azure cloud {options.cloud!r}.", f"Use one of {', '.join(CLOUDS)}, or --arm-endpoint URL.", code="Usage")
    if options.arm_endpoint and not options.arm_endpoint.lower().startswith("https://"):
        raise RdeployError(f"--arm-endpoint must be an https:// URL, got {options.arm_endpoint!r}.", "Azure sends tokens only over HTTPS.", code="Usage")
    if options.ca_bundle and not Path(options.ca_bundle).is_file():
        raise RdeployError(f"--ca-bundle {options.ca_bundle} is not a file.", "Give the path of a PEM file with the CA certificates.", code="Usage")


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
        authority: str | None = None,
        audience: str | None = None,
    ) -> None:
        self.options = options
        self.credential = credential
        self.arm_endpoint = arm_endpoint.rstrip("/")
        self.cloud_name = cloud_name
        self.cloud_metadata = cloud_metadata  # None for the clouds azure-ai-ml knows by name
        self.ca_bundle = ca_bundle
        self.credential_source = credential_source
        self.sandbox = sandbox  # the in-process rdeploy_tui.sandbox Sandbox, when --sandbox
        self.authority = authority  # where the credential signs in (None: the sandbox's own credential)
        self.audience = (audience or arm_endpoint).rstrip("/")  # the resource ARM tokens are asked for
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
        """For the management clients and sign-in. (MLClient always asks for its resource_manager + /.default.)"""
        return [self.audience + "/.default"]

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
        # Azure ML answers endpoint operations without Retry-After, so the SDK would poll them every 30 s: a
        # ~20 s traffic update would cost 30 s on the deploy's critical path. 5 s is what deployments poll at.
        # The sandbox sends retry-after-ms; there 1 s only caps operations that do not.
        kwargs["polling_interval"] = 1 if self.is_sandbox else 5
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


def build_credential(authority: str | None = None, *, ca_bundle: str | None = None) -> tuple[Any, str]:
    """A credential chain over the sign-in sources that are present here, and a label for them.

    Only sources that exist are tried, so a laptop never waits on a metadata endpoint that is not
    there: environment (service principal / workload identity) when its variables are set; the Azure
    CLI when `az` is installed; managed identity only when the host advertises it (IDENTITY_ENDPOINT /
    MSI_ENDPOINT, as Azure ML compute instances, App Service and Arc do).

    `authority` (https://host[:port]) is where the service principal signs in; for a host MSAL does not know
    (Azure Stack Hub, a private cloud, the sandbox) instance discovery is turned off: MSAL would otherwise ask
    login.microsoftonline.com to vouch for it. `ca_bundle` is trusted for the sign-in requests too.
    """
    quiet_sdk()
    from azure.identity import AzureCliCredential, ChainedTokenCredential, EnvironmentCredential, ManagedIdentityCredential

    sources: list[tuple[Any, str]] = []
    kw: dict[str, Any] = {}
    if authority:
        kw["authority"] = authority
        if not _well_known_authority(authority):
            kw["disable_instance_discovery"] = True
    if ca_bundle:
        kw["connection_verify"] = ca_bundle
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
    earlier endpoints are found again. Its pace: RDEPLOY_SANDBOX_TIME_SCALE (or `sandbox_time_scale`), default
    sandbox.durations.DEMO_TIME_SCALE (Azure's durations / 20: a first deploy in ~40 s; 1 = Azure's own ~11 min).
    """
    options = options or ConnectionOptions()
    check_options(options)
    quiet_sdk()
    if options.sandbox:
        return _connect_sandbox(options, sandbox_time_scale)
    options = _cloud_from_environment(options)
    ca_bundle = _trust_ca_bundle(options.ca_bundle) if options.ca_bundle else None
    if options.arm_endpoint:
        cloud = endpoints_from_metadata(options.arm_endpoint, _arm_metadata(options.arm_endpoint.rstrip("/"), ca_bundle, options.ca_bundle))
        cloud_metadata = {
            "resource_manager": cloud.arm + "/",
            "active_directory": cloud.authority + "/",
            "azure_portal": cloud.portal,
            "aml_resource_id": cloud.arm + "/",
            "storage_endpoint": cloud.storage_suffix,
            "registry_discovery_endpoint": cloud.arm + "/",
        }
        if cloud.tenant == "adfs" and os.environ.get("AZURE_CLIENT_ID") and os.environ.get("AZURE_TENANT_ID", "").lower() != "adfs":
            raise RdeployError(
                f"{cloud.arm} signs in with AD FS ({cloud.authority}/adfs), where the tenant is always 'adfs'.",
                "Set AZURE_TENANT_ID=adfs for the service principal (or sign in with `az login` on a cloud registered with `az cloud register`).",
                code="Usage",
            )
        credential, source = build_credential(cloud.authority, ca_bundle=ca_bundle)
        return Session(
            options, credential, arm_endpoint=cloud.arm, cloud_name=_unique_cloud_name(cloud.arm), cloud_metadata=cloud_metadata,
            ca_bundle=ca_bundle, credential_source=source, authority=cloud.authority, audience=cloud.audience,
        )
    cloud = sovereign_cloud(options.cloud)
    # AzureCloud: azure-identity's default authority, which honours AZURE_AUTHORITY_HOST.
    credential, source = build_credential(cloud.authority if cloud.name != "AzureCloud" else None, ca_bundle=ca_bundle)
    return Session(
        options, credential, arm_endpoint=cloud.arm, cloud_name=cloud.name, cloud_metadata=None, ca_bundle=ca_bundle,
        credential_source=source, authority=cloud.authority, audience=cloud.audience,
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
        raise RdeployError("The built-in sandbox is not available in this installation.", "Reinstall rdeploy-tui.", details=str(exc)) from None
    if time_scale is None:
        from rdeploy_tui.sandbox.durations import DEMO_TIME_SCALE  # Azure's pace / 20: a first deploy in ~40 s

        try:
            time_scale = float(os.environ.get(SANDBOX_TIME_SCALE_ENV) or DEMO_TIME_SCALE)
        except ValueError:
            raise RdeployError(f"{SANDBOX_TIME_SCALE_ENV} must be a number.", f"Unset it or set e.g. {SANDBOX_TIME_SCALE_ENV}=0.1.", code="Usage") from None
    folder = default_state_dir()  # the folder `rdeploy-tui sandbox` serves too
    try:
        sandbox = Sandbox(folder, time_scale=time_scale).start()
    except Exception as exc:  # StateFolderBusy and friends carry a user-facing message
        raise RdeployError(
            f"The built-in sandbox could not start: {exc}",
            "Close the other rdeploy-tui using the sandbox, then run again; or, while `rdeploy-tui sandbox` serves it, "
            "connect to that one with the --arm-endpoint and --ca-bundle it printed.",
            code="SandboxBusy",
        ) from None
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
    """What this process already trusts plus `extra`: the user's REQUESTS_CA_BUNDLE when it names a file
    (a TLS-inspecting proxy's CA must keep working), else certifi's public roots. The result is set
    as REQUESTS_CA_BUNDLE by the callers, so a bundle that already holds `extra` is used as it is."""
    import hashlib

    import certifi

    extra_pem = Path(extra).read_bytes()
    current = os.environ.get("REQUESTS_CA_BUNDLE") or ""
    base = Path(current) if current and Path(current).is_file() else Path(certifi.where())
    base_pem = base.read_bytes()
    if extra_pem.strip() and extra_pem.strip() in base_pem:
        return str(base)  # connecting again in the same process: do not nest bundles
    folder = state_dir() / "tls"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"ca-bundle-{hashlib.sha256(base_pem + b'|' + extra_pem).hexdigest()[:12]}.pem"
    if not target.exists():
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(base_pem + b"\n" + extra_pem)
        os.replace(tmp, target)
    return str(target)


def _trust_ca_bundle(extra: str) -> str:
    """certifi + `extra`, trusted by every client of this process: the blob client azure-ai-ml builds internally
    ignores connection_verify and only reads REQUESTS_CA_BUNDLE. Raises RdeployError when `extra` holds no CA."""
    import ssl

    try:
        ssl.create_default_context(cafile=extra)
    except (ssl.SSLError, ValueError, OSError) as exc:
        raise RdeployError(
            f"--ca-bundle {extra} holds no usable PEM certificates ({getattr(exc, 'reason', None) or exc}).",
            "Give a PEM file (-----BEGIN CERTIFICATE-----) with the CA that signed the ARM endpoint's certificate.",
            code="Usage",
        ) from None
    bundle = combined_ca_bundle(extra)
    os.environ["REQUESTS_CA_BUNDLE"] = bundle
    return bundle


def _arm_metadata(arm: str, ca_bundle: str | None, given_bundle: str | None = None) -> Any:
    """ARM's /metadata/endpoints answer (Azure, sovereign clouds and Azure Stack Hub publish it); {} when absent.

    An untrusted certificate or an unreachable endpoint is reported here, before any sign-in, naming the cause."""
    import ssl

    import httpx

    verify: Any = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
    for version in METADATA_API_VERSIONS:
        try:
            response = httpx.get(f"{arm}/metadata/endpoints", params={"api-version": version}, verify=verify, timeout=10)
        except httpx.ConnectError as exc:
            raise _connect_problem(arm, exc, given_bundle) from None
        except httpx.HTTPError as exc:
            raise RdeployError(
                f"{arm} did not answer ARM's metadata request ({type(exc).__name__}: {exc}).",
                "Check --arm-endpoint (the Azure Resource Manager URL, e.g. https://management.local.azurestack.external) and the network.",
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


def _connect_problem(arm: str, exc: BaseException, given_bundle: str | None) -> RdeployError:
    import ssl

    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ssl.SSLCertVerificationError) or (cause is not None and "CERTIFICATE_VERIFY_FAILED" in str(cause)):
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
            "Pass --ca-bundle FILE with the PEM certificate of the CA that signed it (for Azure Stack Hub: its root CA), then run again.",
            details=str(cause),
            code="CertificateError",
        )
    return RdeployError(
        f"Cannot reach {arm} ({exc}).",
        "Check --arm-endpoint (the Azure Resource Manager URL, e.g. https://management.local.azurestack.external) and the network.",
        details=str(exc),
        code="NetworkError",
    )


def _unique_cloud_name(arm: str) -> str:
    # azure-ai-ml keeps the FIRST definition of a cloud name for the whole process: one name per base URL.
    from urllib.parse import urlsplit

    parts = urlsplit(arm)
    return f"Rdeploy-{parts.hostname}-{parts.port or 443}"


__all__ = ["CloudEndpoints", "ConnectionOptions", "Identity", "Session", "connect", "sovereign_cloud", "endpoints_from_metadata", "session_for_sandbox", "identity_from_token", "build_credential", "explain"]
