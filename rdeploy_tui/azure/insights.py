"""The ARM ids of what Azure Monitor reads (its client: AzureConnection.monitor_client): shared by monitor.py
(metrics) and autoscale.py (autoscale settings, the activity log)."""

from __future__ import annotations

from rdeploy_tui.azure.arm_rest import workspace_path
from rdeploy_tui.azure.workspace import Workspace


def endpoint_id(ws: Workspace, endpoint: str) -> str:
    return workspace_path(ws.subscription_id, ws.resource_group, ws.name) + f"/onlineEndpoints/{endpoint}"


def deployment_id(ws: Workspace, endpoint: str, deployment: str) -> str:
    return endpoint_id(ws, endpoint) + f"/deployments/{deployment}"
