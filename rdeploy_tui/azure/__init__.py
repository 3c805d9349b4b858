"""The Azure layer: the only code in rdeploy-tui that talks to Azure (public, sovereign, or any custom ARM endpoint).

Cheap to import (no SDK is imported until a call needs it; azure.ai.ml, ~1.5 s, only on the first
workspace call). Every public call may block on the network: from the TUI, call it in a thread
worker. Every failure is an `RdeployError(what, next_step, details=, code=)`; nothing else escapes,
and nothing here prints (SDK output is captured: see capture.py).

Typical use (the wizard follows the same order):

    from rdeploy_tui import azure

    connection = azure.connect(azure.ConnectionOptions.from_args(args))  # (--sandbox: rdeploy_tui.launch.connect)
    who = connection.identity()                     # Identity(name, tenant_id, kind, source); or RdeployError
    subs = azure.list_subscriptions(connection)     # default (az CLI / AZURE_SUBSCRIPTION_ID) first
    hints = azure.workspace_hints()                 # compute instance vars, config.json, az defaults (no network)
    wss = azure.list_workspaces(connection, subs[0].id)
    ws = azure.Workspace.open(connection, sub, rg, name)
    ws.registry()                                   # Registry(name, login_server ...); or RdeployError NoRegistry
    ws.list_models(); ws.list_model_versions("m"); ws.resolve_model_version("m", "latest") -> "3"

    eps = azure.Endpoints(ws)                       # endpoints list/show/logs/traffic/delete
    eps = azure.RestEndpoints(ws)                   # the same; reads, keys and delete without azure.ai.ml (day-2 CLI)
    azure.endpoint_target(ws, "my-endpoint")        # scoring URI + key/token, for rdeploy_tui.scoring's client
    azure.score(ws, "my-endpoint", {"x": [1]})      # rdeploy_tui.scoring.result.ScoreResult; 424 etc. -> RdeployError

The deploy itself is rdeploy_tui.pipeline.runner.run_deploy (steps on the run engine): build_image and Endpoints.

Modules: connection.py (connect: a named cloud or a custom ARM endpoint), clouds.py, credentials.py, ca_bundle.py,
clients.py (AzureConnection, the factory of every client), pace.py + deadlines.py (how often to poll and how long to
wait, from Azure's own headers and limits), discovery.py (subscriptions, workspaces), workspace.py (a workspace, its
ACR, its models), acr.py + acr_login.py (the image build; a registry token for docker), online.py (endpoints and
deployments), arm_rest.py + rest_online.py (the same reads and delete over plain ARM REST), scoring.py (where to
score, with which key), insights.py + monitor.py (Azure Monitor's metrics), autoscale.py (autoscale settings and
scale events), quota.py (a VM family's free vCPUs), prices.py (list prices), errors.py (a failure -> what to do next:
KNOWN_FAILURES), capture.py (the SDKs' output, captured and redacted).
"""

from __future__ import annotations

from rdeploy_tui.azure.acr import BuildResult, build_image, find_built_image, make_context_archive
from rdeploy_tui.azure.capture import quiet_sdk, redact, sdk_lines
from rdeploy_tui.azure.clients import AzureConnection
from rdeploy_tui.azure.clouds import CLOUDS
from rdeploy_tui.azure.connection import connect
from rdeploy_tui.azure.credentials import Identity, on_compute_instance
from rdeploy_tui.azure.discovery import (
    Subscription,
    WorkspaceHint,
    WorkspaceInfo,
    default_subscription_id,
    list_subscriptions,
    list_workspaces,
    workspace_hints,
)
from rdeploy_tui.azure.errors import explain
from rdeploy_tui.azure.online import LOG_CONTAINERS, DeploymentInfo, EndpointInfo, Endpoints
from rdeploy_tui.azure.rest_online import RestEndpoints
from rdeploy_tui.azure.scoring import endpoint_target, score
from rdeploy_tui.azure.workspace import ModelInfo, Registry, Workspace
from rdeploy_tui.connection_options import ConnectionOptions

__all__ = [
    "CLOUDS",
    "LOG_CONTAINERS",
    "AzureConnection",
    "BuildResult",
    "ConnectionOptions",
    "DeploymentInfo",
    "EndpointInfo",
    "Endpoints",
    "Identity",
    "ModelInfo",
    "Registry",
    "RestEndpoints",
    "Subscription",
    "Workspace",
    "WorkspaceHint",
    "WorkspaceInfo",
    "build_image",
    "connect",
    "default_subscription_id",
    "endpoint_target",
    "explain",
    "find_built_image",
    "list_subscriptions",
    "list_workspaces",
    "make_context_archive",
    "on_compute_instance",
    "quiet_sdk",
    "redact",
    "score",
    "sdk_lines",
    "workspace_hints",
]
