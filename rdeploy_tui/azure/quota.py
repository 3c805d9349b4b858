"""A VM family's vCPU quota in the workspace's region, from Azure ML's usages (Usages - List,
`GET /subscriptions/{s}/providers/Microsoft.MachineLearningServices/locations/{region}/usages`, 2024-10-01): what
autoscale's maximum is checked against before it is set (spec.rules.quota_warning)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from rdeploy_tui.azure.errors import azure_call
from rdeploy_tui.azure.workspace import Workspace
from rdeploy_tui.spec.vm_sizes import VM_SIZES, usage_name

API_VERSION = "2024-10-01"


@dataclass(frozen=True)
class FamilyUsage:
    name: str  # "Standard DSv2 Family Cluster Dedicated vCPUs"
    used: int
    limit: int  # -1: no limit


def family_usage(ws: Workspace, instance_type: str) -> FamilyUsage | None:
    """The quota of `instance_type`'s family in the workspace's region (None: a size or family Azure does not list)."""
    from azure.core.rest import HttpRequest

    size = VM_SIZES.get(instance_type.lower())
    region = ws.info.location
    if size is None or not region:
        return None
    path = (
        f"/subscriptions/{quote(ws.subscription_id, safe='')}/providers/Microsoft.MachineLearningServices"
        f"/locations/{quote(region, safe='')}/usages"
    )
    pipeline = ws.connection.arm_pipeline()
    request = HttpRequest("GET", pipeline.format_url(path), params={"api-version": API_VERSION})
    wanted = usage_name(size.family).lower()
    with azure_call(f"reading the vCPU quota of {size.family} in {region}"):
        while True:
            response = pipeline._pipeline.run(request, stream=False).http_response  # as the generated clients do
            if response.status_code != 200:
                from azure.core.exceptions import HttpResponseError
                from azure.mgmt.core.exceptions import ARMErrorFormat

                raise HttpResponseError(response=response, error_format=ARMErrorFormat)
            page = response.json() or {}
            for item in page.get("value") or []:
                name = str((item.get("name") or {}).get("value") or "")
                if name.lower() == wanted and str(item.get("type", "")).endswith("vmFamily/usages"):
                    return FamilyUsage(name, int(item.get("currentValue") or 0), int(item.get("limit") or 0))
            if not page.get("nextLink"):
                return None
            request = HttpRequest("GET", page["nextLink"])


def autoscale_quota_warning(ws: Workspace, instance_type: str, maximum: int, current: int) -> str | None:
    """spec.rules.quota_warning against the family's quota read now; reading it is best effort (a role without
    .../locations/usages/read still sets autoscale), so a failure is said instead."""
    from rdeploy_tui.errors import RdeployError
    from rdeploy_tui.spec.rules import quota_warning

    try:
        usage = family_usage(ws, instance_type)
    except RdeployError as exc:
        return f"the vCPU quota could not be read to check autoscale's max against it ({exc.what})"
    if usage is None:
        return None
    return quota_warning(instance_type, maximum, current, usage.used, usage.limit)
