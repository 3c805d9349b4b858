"""Azure Monitor's management client (azure-mgmt-monitor) on a session, and the ARM ids of what it reads: shared by
monitor.py (metrics) and autoscale.py (autoscale settings, the activity log)."""

from __future__ import annotations

from typing import Any

from rdeploy_tui.azure.arm_rest import workspace_path
from rdeploy_tui.azure.workspace import Workspace


def monitor_client(session: Any, subscription_id: str) -> Any:
    """azure-mgmt-monitor's client on this session's ARM endpoint (any cloud, custom ARM or the sandbox)."""
    from rdeploy_tui.azure.capture import quiet_sdk

    quiet_sdk()
    from azure.mgmt.monitor import MonitorManagementClient  # ~0.1 s: only when metrics or autoscale are asked for

    return MonitorManagementClient(session.credential, subscription_id, **session.mgmt_kwargs())


def endpoint_id(ws: Workspace, endpoint: str) -> str:
    return workspace_path(ws.subscription_id, ws.resource_group, ws.name) + f"/onlineEndpoints/{endpoint}"


def deployment_id(ws: Workspace, endpoint: str, deployment: str) -> str:
    return endpoint_id(ws, endpoint) + f"/deployments/{deployment}"
