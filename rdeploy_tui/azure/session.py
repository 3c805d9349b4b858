"""A Session: one connection to one Azure (real cloud, custom ARM endpoint or sandbox), the factory of every
Azure client in rdeploy-tui. Management clients (subscriptions, ACR, ACR Tasks), MLClient and blob clients all get
the same base URL, credential, CA bundle and retry policy, so clouds differ only in how the Session was made
(rdeploy_tui.azure.connection.connect)."""

from __future__ import annotations

import os
import threading
from typing import Any

from rdeploy_tui.azure.capture import quiet_ml, quiet_sdk
from rdeploy_tui.azure.credentials import Identity, identity_from_token
from rdeploy_tui.azure.errors import azure_call
from rdeploy_tui.connection_options import ConnectionOptions

# Retries for every client: azure-core retries 429/5xx/connection errors with exponential back-off,
# honouring Retry-After; bounded so a dead network is reported within about a minute.
RETRY = {"retry_total": 5, "retry_backoff_factor": 0.8, "retry_backoff_max": 20}


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
        self._arm_pipeline: Any = None

    # ----- lifecycle -----
    _owns_sandbox = False

    def close(self) -> None:
        if self._owns_sandbox and self.sandbox is not None:
            self.sandbox.stop()
            self._owns_sandbox = False

    def __enter__(self) -> Session:
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
    def lro_interval_s(self) -> int:
        """Seconds between polls of a long-running operation that sends no Retry-After. Azure ML's endpoint
        operations send none: the SDK's default 30 s would make a ~20 s traffic update cost 30 s on the deploy's
        critical path; 5 s is what deployments poll at. The sandbox sends retry-after-ms; 1 s only caps the rest."""
        return 1 if self.is_sandbox else 5

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

    def arm_pipeline(self) -> Any:
        """azure-core's ARM pipeline alone (ARMPipelineClient: this session's credential, retries, CA bundle and SDK
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
        config: Any = Configuration(**kwargs)
        config.headers_policy = policies.HeadersPolicy(**kwargs)
        config.user_agent_policy = policies.UserAgentPolicy(sdk_moniker="rdeploy-tui", **kwargs)
        config.proxy_policy = policies.ProxyPolicy(**kwargs)
        config.redirect_policy = policies.RedirectPolicy(**kwargs)
        config.retry_policy = policies.RetryPolicy(**kwargs)
        config.authentication_policy = ARMChallengeAuthenticationPolicy(self.credential, *self.scopes, **kwargs)
        config.custom_hook_policy = policies.CustomHookPolicy(**kwargs)
        config.logging_policy = policies.NetworkTraceLoggingPolicy(**kwargs)
        client = ARMPipelineClient(base_url=self.arm_endpoint, config=config, **kwargs)
        with self._lock:
            if self._arm_pipeline is None:
                self._arm_pipeline = client
            return self._arm_pipeline

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
        kwargs["polling_interval"] = self.lro_interval_s
        with azure_call("connecting to the workspace"):
            client = MLClient(self.credential, subscription_id, resource_group, workspace, **kwargs)
        with self._lock:
            return self._ml_clients.setdefault(key, client)
