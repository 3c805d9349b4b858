"""AzureConnection: one connection to one Azure (public or sovereign cloud, or any ARM endpoint), the factory of
every Azure client in rdeploy-tui. Management clients (subscriptions, ACR, ACR Tasks), MLClient, blob clients and
the plain ARM pipeline all get the same base URL, credential, CA bundle, retry policy and pace recorder, so clouds
differ only in how the connection was made (rdeploy_tui.azure.connection.connect)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rdeploy_tui.azure.capture import quiet_ml, quiet_sdk
from rdeploy_tui.azure.credentials import Identity, identity_from_token
from rdeploy_tui.azure.errors import azure_call
from rdeploy_tui.azure.pace import Pace
from rdeploy_tui.connection_options import ConnectionOptions

if TYPE_CHECKING:  # the SDKs are imported when a client is first made (azure.ai.ml alone costs ~1.5 s)
    from azure.ai.ml import MLClient
    from azure.core.credentials import TokenCredential
    from azure.core.rest import HttpRequest, HttpResponse
    from azure.mgmt.containerregistry import ContainerRegistryManagementClient
    from azure.mgmt.containerregistrytasks import ContainerRegistryTasksMgmtClient
    from azure.mgmt.core import ARMPipelineClient
    from azure.mgmt.monitor import MonitorManagementClient
    from azure.mgmt.resource.subscriptions import SubscriptionClient
    from azure.storage.blob import BlobClient

# Retries for every client: azure-core retries 429/5xx/connection errors with exponential back-off,
# honouring Retry-After; bounded so a dead network is reported within about a minute.
RETRY = {"retry_total": 5, "retry_backoff_factor": 0.8, "retry_backoff_max": 20}
# Seconds between polls of a long-running operation that sends no Retry-After. Azure ML's endpoint operations send
# none: the SDK's default 30 s would make a ~20 s traffic update cost 30 s on the deploy's critical path; 5 s is what
# azure-ai-ml's deployment operations poll at (LROConfigurations.POLL_INTERVAL). A Retry-After always wins.
LRO_INTERVAL_S = 5
# The clouds MLClient has defined in this process (azure.ai.ml keeps them in a module-global table).
_CLOUDS_DEFINED: set[str] = set()


class AzureConnection:
    """A connection to one Azure: credential + client factory. Thread-safe for use from worker threads.

    Close it (or use `with`) to release what was started for it (`on_close`, e.g. by rdeploy_tui.launch)."""

    def __init__(
        self,
        options: ConnectionOptions,
        credential: TokenCredential,
        *,
        arm_endpoint: str,
        cloud_name: str,
        cloud_metadata: dict[str, str] | None,
        ca_bundle: str | None,
        credential_source: str,
        authority: str | None = None,
        audience: str | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.options = options
        self.credential = credential
        self.arm_endpoint = arm_endpoint.rstrip("/")
        self.cloud_name = cloud_name
        self.cloud_metadata = cloud_metadata  # None for the clouds azure-ai-ml knows by name
        self.ca_bundle = ca_bundle
        self.credential_source = credential_source
        self.authority = authority  # where the credential signs in
        self.audience = (audience or arm_endpoint).rstrip("/")  # the resource ARM tokens are asked for
        self.pace = Pace()  # what Azure says about its own pace (Retry-After, operation timeouts)
        self._on_close = on_close
        self._lock = threading.Lock()
        self._ml_clients: dict[tuple[str, str | None, str | None], MLClient] = {}
        self._identity: Identity | None = None
        self._arm_pipeline: ARMPipelineClient[HttpRequest, HttpResponse] | None = None

    # ----- lifecycle -----
    def close(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    def __enter__(self) -> AzureConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def command(self, *words: str) -> str:
        """A next command to print that reaches this same Azure (ConnectionOptions.command)."""
        return self.options.command(*words)

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
            self._identity = identity_from_token(
                token.token, getattr(self.credential, "source", self.credential_source)
            )
        return self._identity

    def access_token(self) -> str:
        """A bearer token for ARM; never log it."""
        with azure_call("signing in"):
            return self.credential.get_token(*self.scopes).token

    # ----- clients -----
    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {**RETRY, "raw_response_hook": self.pace.observe}
        if self.ca_bundle:
            kwargs["connection_verify"] = self.ca_bundle
        return kwargs

    def mgmt_kwargs(self) -> dict[str, Any]:
        return {"base_url": self.arm_endpoint, "credential_scopes": self.scopes, **self.client_kwargs()}

    def subscription_client(self) -> SubscriptionClient:
        quiet_sdk()
        from azure.mgmt.resource.subscriptions import SubscriptionClient

        return SubscriptionClient(self.credential, **self.mgmt_kwargs())

    def registry_client(self, subscription_id: str) -> ContainerRegistryManagementClient:
        quiet_sdk()
        from azure.mgmt.containerregistry import ContainerRegistryManagementClient

        return ContainerRegistryManagementClient(self.credential, subscription_id, **self.mgmt_kwargs())

    def tasks_client(self, subscription_id: str) -> ContainerRegistryTasksMgmtClient:
        quiet_sdk()
        from azure.mgmt.containerregistrytasks import ContainerRegistryTasksMgmtClient

        return ContainerRegistryTasksMgmtClient(self.credential, subscription_id, **self.mgmt_kwargs())

    def monitor_client(self, subscription_id: str) -> MonitorManagementClient:
        """Azure Monitor (metrics, autoscale settings, the activity log): only when they are asked for (~0.1 s)."""
        quiet_sdk()
        from azure.mgmt.monitor import MonitorManagementClient

        return MonitorManagementClient(self.credential, subscription_id, **self.mgmt_kwargs())

    def blob_client(self, sas_url: str) -> BlobClient:
        quiet_sdk()
        from azure.storage.blob import BlobClient

        return BlobClient.from_blob_url(sas_url, **self.client_kwargs())

    def arm_pipeline(self) -> ARMPipelineClient[HttpRequest, HttpResponse]:
        """azure-core's ARM pipeline alone (ARMPipelineClient: this connection's credential, retries, CA bundle and SDK
        logging), for the REST calls of rdeploy_tui.azure.arm_rest: day-2 commands without importing azure.ai.ml."""
        with self._lock:
            if self._arm_pipeline is not None:
                return self._arm_pipeline
        quiet_sdk()
        from azure.core.configuration import Configuration
        from azure.core.pipeline import policies
        from azure.mgmt.core import ARMPipelineClient
        from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

        kwargs = self.client_kwargs()
        # Left unparameterised, as the generated clients leave theirs: azure-core's universal policies are typed for
        # both its request types at once, which no single Configuration[Request, Response] accepts.
        config: Configuration = Configuration(**kwargs)
        config.headers_policy = policies.HeadersPolicy(**kwargs)
        config.user_agent_policy = policies.UserAgentPolicy(sdk_moniker="rdeploy-tui", **kwargs)
        config.proxy_policy = policies.ProxyPolicy(**kwargs)
        config.redirect_policy = policies.RedirectPolicy(**kwargs)
        config.retry_policy = policies.RetryPolicy(**kwargs)
        config.authentication_policy = ARMChallengeAuthenticationPolicy(self.credential, *self.scopes, **kwargs)
        config.custom_hook_policy = policies.CustomHookPolicy(**kwargs)
        config.logging_policy = policies.NetworkTraceLoggingPolicy(**kwargs)
        client: ARMPipelineClient[HttpRequest, HttpResponse] = ARMPipelineClient(
            base_url=self.arm_endpoint, config=config, **kwargs
        )
        with self._lock:
            if self._arm_pipeline is None:
                self._arm_pipeline = client
            return self._arm_pipeline

    def ml_client(
        self, subscription_id: str, resource_group: str | None = None, workspace: str | None = None
    ) -> MLClient:
        """An MLClient (cached per workspace). The first call imports azure.ai.ml (~1.5 s): call it off the UI
        thread."""
        key = (subscription_id, resource_group, workspace)
        with self._lock:
            client = self._ml_clients.get(key)
            if client is not None:
                return client
        # MLClient records its cloud in the process env var AZUREML_CURRENT_CLOUD, and parts of azure.ai.ml read it
        # (some at import time); a value inherited from another process names a cloud this process never defined,
        # even when it is this connection's own name (a parent that reached the same ARM endpoint).
        if os.environ.get("AZUREML_CURRENT_CLOUD") not in (None, *_CLOUDS_DEFINED):
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
        kwargs["polling_interval"] = LRO_INTERVAL_S
        with azure_call("connecting to the workspace"):
            _CLOUDS_DEFINED.add(self.cloud_name)
            client = MLClient(self.credential, subscription_id, resource_group, workspace, **kwargs)
        with self._lock:
            return self._ml_clients.setdefault(key, client)
