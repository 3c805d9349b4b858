"""Which subscription and workspace the user most likely means, and the lists to choose from.

Local hints first (free, instant): a compute instance's own variables, a config.json downloaded
from the studio, the az CLI's defaults. Then the lists Azure gives (subscriptions, workspaces).
"""

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rdeploy_tui import bounded_read
from rdeploy_tui.azure.clients import AzureConnection
from rdeploy_tui.azure.errors import azure_call
from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    from azure.ai.ml.entities import Workspace


def resource_id_pattern(resource_type: str) -> re.Pattern[str]:
    """Finds an ARM resource ID of `resource_type` (e.g. "Microsoft.ContainerRegistry/registries") in a
    text, such as a URL that carries one; groups: sub, rg, name."""
    return re.compile(
        r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
        + re.escape(resource_type)
        + r"/(?P<name>[^/?]+)",
        re.IGNORECASE,
    )


_WS_PATH = resource_id_pattern("Microsoft.MachineLearningServices/workspaces")


@dataclass(frozen=True)
class Subscription:
    id: str
    name: str
    tenant_id: str | None
    state: str  # Enabled, Disabled, Warned ...
    is_default: bool = False


@dataclass(frozen=True)
class WorkspaceHint:
    """A workspace named by the environment, and where that came from (shown to the user)."""

    subscription_id: str | None
    resource_group: str | None
    name: str | None
    source: str  # "compute instance", "config.json at PATH", "az CLI defaults"


@dataclass(frozen=True)
class WorkspaceInfo:
    subscription_id: str
    resource_group: str
    name: str
    location: str | None
    id: str
    container_registry: str | None  # ACR resource id; None until the workspace's first image build


def azure_config_dir() -> Path:
    return Path(os.environ.get("AZURE_CONFIG_DIR") or Path.home() / ".azure")


def default_subscription_id() -> str | None:
    """AZURE_SUBSCRIPTION_ID, else the subscription `az account set` chose (azureProfile.json)."""
    for var in ("AZURE_SUBSCRIPTION_ID", "AZUREML_ARM_SUBSCRIPTION", "CI_SUBSCRIPTION_ID"):
        if os.environ.get(var):
            return os.environ[var]
    path = azure_config_dir() / "azureProfile.json"
    try:
        profile = bounded_read.read_json(path, bounded_read.AZ_PROFILE)  # the az CLI writes a BOM: accepted
    except (OSError, bounded_read.FileRefused):
        return None
    for sub in profile.get("subscriptions", []) if isinstance(profile, dict) else []:
        if isinstance(sub, dict) and sub.get("isDefault") and sub.get("id"):
            return str(sub["id"])
    return None


def list_subscriptions(connection: AzureConnection) -> list[Subscription]:
    """Subscriptions the signed-in identity can see, the default first. Raises RdeployError (none: how to get one)."""
    default = default_subscription_id()
    with azure_call("listing subscriptions"):
        client = connection.subscription_client()
        found = [
            Subscription(
                id=s.subscription_id,
                name=s.display_name or s.subscription_id,
                tenant_id=getattr(s, "tenant_id", None),
                state=_enum_text(getattr(s, "state", "")),
                is_default=(s.subscription_id or "").lower() == (default or "").lower(),
            )
            for s in client.subscriptions.list()
            if s.subscription_id  # always there in ARM's answer; the SDK's model leaves every field optional
        ]
    if not found:
        who = connection.identity()
        raise RdeployError(
            f"{who.name} has no Azure subscription in tenant {who.tenant_id or '(unknown)'}.",
            "Ask for access to a subscription (Reader or more), sign in to another tenant with "
            "`az login --tenant TENANT`, or try rdeploy-tui with --sandbox.",
            code="NoSubscription",
        )
    if default is None and len(found) == 1:
        found[0] = Subscription(**{**found[0].__dict__, "is_default": True})
    found.sort(key=lambda s: (not s.is_default, s.state.lower() != "enabled", s.name.lower()))
    return found


def _enum_text(value: object) -> str:
    """'Enabled' from an SDK enum or a string (str() of an enum is 'SubscriptionState.ENABLED')."""
    return str(getattr(value, "value", value) or "")


def workspace_hints(start: Path | None = None) -> list[WorkspaceHint]:
    """Every workspace the environment points at, most specific first (no network)."""
    hints: list[WorkspaceHint] = []
    env = os.environ
    # Compute instance / job: MLFLOW_TRACKING_URI carries the full workspace path.
    match = _WS_PATH.search(env.get("MLFLOW_TRACKING_URI", ""))
    if match:
        hints.append(WorkspaceHint(match["sub"], match["rg"], match["name"], "compute instance (MLFLOW_TRACKING_URI)"))
    if env.get("AZUREML_ARM_WORKSPACE_NAME"):
        hints.append(
            WorkspaceHint(
                env.get("AZUREML_ARM_SUBSCRIPTION"),
                env.get("AZUREML_ARM_RESOURCEGROUP"),
                env["AZUREML_ARM_WORKSPACE_NAME"],
                "AZUREML_ARM_* variables",
            )
        )
    if env.get("CI_WORKSPACE"):
        hints.append(
            WorkspaceHint(
                env.get("CI_SUBSCRIPTION_ID") or default_subscription_id(),
                env.get("CI_RESOURCE_GROUP"),
                env["CI_WORKSPACE"],
                "compute instance (CI_WORKSPACE)",
            )
        )
    # config.json, as the studio's "download config file" writes it: cwd and parents, their .azureml, ~/.azureml.
    folder = (start or Path.cwd()).resolve()
    candidates = []
    for parent in [folder, *folder.parents]:
        candidates += [parent / "config.json", parent / ".azureml" / "config.json"]
    candidates.append(Path.home() / ".azureml" / "config.json")
    for path in candidates:
        hint = _config_json_hint(path)
        if hint is not None:
            hints.append(hint)
            break
    # `az configure --defaults group=RG workspace=WS`
    config = configparser.ConfigParser()
    try:
        config.read_string(bounded_read.read_text(azure_config_dir() / "config", bounded_read.AZ_CONFIG))
        defaults = config["defaults"] if config.has_section("defaults") else {}
    except (configparser.Error, OSError, bounded_read.FileRefused):
        defaults = {}
    if defaults.get("workspace"):
        hints.append(
            WorkspaceHint(
                default_subscription_id(), defaults.get("group"), defaults.get("workspace"), "az CLI defaults"
            )
        )
    return hints


def _config_json_hint(path: Path) -> WorkspaceHint | None:
    try:
        data = bounded_read.read_json(path, bounded_read.WORKSPACE_CONFIG)
    except (OSError, bounded_read.FileRefused):
        return None
    if not isinstance(data, dict):
        return None
    name = data.get("workspace_name") or data.get("workspaceName")
    if not name:
        return None
    return WorkspaceHint(
        data.get("subscription_id") or data.get("subscriptionId"),
        data.get("resource_group") or data.get("resourceGroup"),
        name,
        f"config.json at {path}",
    )


def list_workspaces(connection: AzureConnection, subscription_id: str) -> list[WorkspaceInfo]:
    """Azure ML workspaces in a subscription (hubs and projects excluded: they host no online endpoints of their
    own)."""
    with azure_call("listing workspaces", who=connection.identity):
        client = connection.ml_client(subscription_id)
        found = [_info(subscription_id, ws) for ws in client.workspaces.list(scope="subscription")]
    return sorted((w for w in found if w is not None), key=lambda w: (w.resource_group.lower(), w.name.lower()))


def get_workspace(connection: AzureConnection, subscription_id: str, resource_group: str, name: str) -> WorkspaceInfo:
    with azure_call(f"reading workspace {name}", who=connection.identity):
        client = connection.ml_client(subscription_id, resource_group, name)
        info = _info(subscription_id, client.workspaces.get(name))
    if info is None:  # pragma: no cover - the SDK returns a workspace or raises
        raise RdeployError(f"Workspace {name} was not found in resource group {resource_group}.", "Check the names.")
    return info


def _info(subscription_id: str, ws: Workspace | None) -> WorkspaceInfo | None:
    if ws is None or getattr(ws, "_kind", None) in ("hub",):  # a hub hosts no online endpoints of its own
        return None
    ws_id = getattr(ws, "id", None) or ""
    match = _WS_PATH.search(ws_id)
    return WorkspaceInfo(
        subscription_id=match["sub"] if match else subscription_id,
        resource_group=match["rg"] if match else getattr(ws, "resource_group", "") or "",
        name=ws.name or "",
        location=getattr(ws, "location", None),
        id=ws_id,
        container_registry=getattr(ws, "container_registry", None) or None,
    )
