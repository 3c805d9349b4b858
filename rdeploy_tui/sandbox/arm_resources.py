"""ARM's listings across providers: the generic resources list and the container-registry lists.

    GET /subscriptions/{s}/resources                                  Resources - List (Microsoft.Resources)
    GET /subscriptions/{s}/resourceGroups/{rg}/resources              Resources - List By Resource Group
    GET /subscriptions/{s}/providers/Microsoft.ContainerRegistry/registries                 Registries - List
    GET /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries  Registries - List By RG

`az acr build -r NAME` without -g finds the registry with the first one and `$filter=resourceType eq
'Microsoft.ContainerRegistry/registries'` (azure-cli acr/_utils.py _arm_get_resource_by_name); `az resource list` and
`az acr list` use the others.

Paging is ARM's: {"value": [...], "nextLink": URL} with `$top` as the page size and a `$skiptoken` in nextLink
(https://learn.microsoft.com/rest/api/resources/resources/list: "$top: The number of recommendations per page if a
paged version of this API is being used"; nextLink "The URL to use for getting the next set of results").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from rdeploy_tui.sandbox.arm import RG, SUB, TENANT_ID, system_data
from rdeploy_tui.sandbox.errors import AzureError
from rdeploy_tui.sandbox.http import Request, Response, Router, json_response

REGISTRY_TYPE = "Microsoft.ContainerRegistry/registries"
WORKSPACE_TYPE = "Microsoft.MachineLearningServices/workspaces"
ENDPOINT_TYPE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
DEPLOYMENT_TYPE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"
DEFAULT_PAGE = 1000  # page size without $top: ARM's own default is not published (unknown); 1000 here

# The $filter forms the Resources - List docs give: "resourceType eq 'X'", "name eq 'X'", "location eq 'X'",
# "resourceGroup eq 'X'", "substringof('X', name)", joined with "and" (tag filters are not simulated).
_EQ = re.compile(r"^(?P<field>resourceType|name|location|resourceGroup)\s+eq\s+'(?P<value>[^']*)'$", re.IGNORECASE)
_SUBSTRING = re.compile(r"^substringof\(\s*'(?P<value>[^']*)'\s*,\s*name\s*\)$", re.IGNORECASE)


def generic_resources(sandbox: Any, sub: str, rg: str | None = None) -> list[dict[str, Any]]:
    """Every resource the sandbox holds in the subscription (or resource group), in ARM's GenericResource shape.

    Nested tracked resources (online endpoints and their deployments) are listed too, named "ws/ep" as ARM names them;
    the portal's resource-group view shows them as "Machine learning online endpoint/deployment"."""
    head = f"/subscriptions/{sub}/".lower() + (f"resourcegroups/{rg}/".lower() if rg else "")
    items: list[dict[str, Any]] = []
    with sandbox.state.view() as data:
        for key, doc in data.get("workspaces", {}).items():
            if key.startswith(head):
                items.append(
                    _item(
                        doc["id"],
                        doc["name"],
                        WORKSPACE_TYPE,
                        doc["location"],
                        doc.get("created", 0),
                        doc.get("modified"),
                        sku={"name": "Basic", "tier": "Basic"},
                        kind="Default",
                        identity=_identity(doc["id"]),
                    )
                )
        for key, doc in data.get("registries", {}).items():
            if key.startswith(head):
                items.append(
                    _item(
                        doc["id"],
                        doc["name"],
                        REGISTRY_TYPE,
                        doc["location"],
                        doc.get("created", 0),
                        doc.get("modified"),
                        sku={"name": doc["sku"], "tier": doc["sku"]},
                    )
                )
        for key, doc in data.get("endpoints", {}).items():
            if key.startswith(head):
                ws = doc["workspace"].rsplit("/", 1)[-1]
                items.append(
                    _item(
                        doc["id"],
                        f"{ws}/{doc['name']}",
                        ENDPOINT_TYPE,
                        doc["location"],
                        doc.get("created", 0),
                        doc.get("modified"),
                        kind="Managed",
                        identity=_identity(doc["id"]),
                        tags=doc.get("tags") or {},
                    )
                )
        for key, doc in data.get("deployments", {}).items():
            if key.startswith(head):
                parts = doc["id"].split("/")
                items.append(
                    _item(
                        doc["id"],
                        f"{parts[8]}/{parts[10]}/{doc['name']}",
                        DEPLOYMENT_TYPE,
                        doc["location"],
                        doc.get("created", 0),
                        doc.get("modified"),
                        kind="Managed",
                        tags=doc.get("tags") or {},
                        sku={"name": "Default", "tier": "Standard", "capacity": doc["instance_count"]},
                    )
                )
    return sorted(items, key=lambda item: item["id"].lower())


def _identity(resource_id: str) -> dict[str, str]:
    import uuid

    return {
        "type": "SystemAssigned",
        "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, resource_id)),
        "tenantId": TENANT_ID,
    }


def _item(
    resource_id: str, name: str, type_: str, location: str, created: float, modified: float | None = None, **extra: Any
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": resource_id,
        "name": name,
        "type": type_,
        "location": location,
        "tags": extra.pop("tags", {}),
    }
    item.update({k: v for k, v in extra.items() if v is not None})
    # Items carry systemData as the generic list answers it (azure-cli recordings test_acr_abac_run,
    # test_acr_import_no_wait: createdBy/At, lastModifiedBy/At and their types on every registry item).
    item["systemData"] = system_data(created, modified)
    item["_created"] = created
    return item


def _field_is(getter: Callable[[dict[str, Any]], str], value: str, item: dict[str, Any]) -> bool:
    return getter(item).lower() == value


def _name_contains(needle: str, item: dict[str, Any]) -> bool:
    return needle in item["name"].lower()


def _matches(filter_text: str | None) -> Callable[[dict[str, Any]], bool]:
    if not filter_text:
        return lambda item: True
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for clause in re.split(r"\s+and\s+", filter_text.strip(), flags=re.IGNORECASE):
        clause = clause.strip()
        eq = _EQ.match(clause)
        if eq:
            field, value = eq["field"].lower(), eq["value"].lower()
            getter: Callable[[dict[str, Any]], str] = {
                "resourcetype": lambda item: item["type"],
                "name": lambda item: item["name"],
                "location": lambda item: item["location"],
                "resourcegroup": lambda item: item["id"].split("/")[4],
            }[field]
            tests.append(functools.partial(_field_is, getter, value))
            continue
        sub = _SUBSTRING.match(clause)
        if sub:
            needle = sub["value"].lower()
            tests.append(functools.partial(_name_contains, needle))
            continue
        # What ARM answers for a filter it cannot parse is not published; the sandbox says which part it does not know.
        raise AzureError(
            400,
            "InvalidFilterInQueryString",
            f"The $filter clause '{clause}' is not supported by the sandbox. "
            "Use resourceType, name, location or resourceGroup with eq, or substringof('text', name).",
        )
    return lambda item: all(test(item) for test in tests)


def page(sandbox: Any, request: Request, items: list[dict[str, Any]], default_size: int = DEFAULT_PAGE) -> Response:
    """One page of `items` as ARM pages a list: value + nextLink (absent on the last page)."""
    top = request.param("$top")
    size = int(top) if top and top.isdigit() and int(top) > 0 else default_size
    skip_token = request.param("$skiptoken") or "0"
    start = int(skip_token) if skip_token.isdigit() else 0
    chunk = items[start : start + size]
    body: dict[str, Any] = {"value": [{k: v for k, v in item.items() if not k.startswith("_")} for item in chunk]}
    if start + size < len(items):
        query = {k: v for k, v in request.query.items() if k.lower() != "$skiptoken"}
        query["$skiptoken"] = str(start + size)
        body["nextLink"] = f"{sandbox.base_url}{request.path}?{urlencode(query)}"
    return json_response(200, body)


def _expand(items: list[dict[str, Any]], expand: str | None) -> list[dict[str, Any]]:
    """`$expand=createdTime,changedTime,provisioningState` adds those fields (Resources - List docs)."""
    wanted = {part.strip().lower() for part in (expand or "").split(",") if part.strip()}
    if not wanted:
        return items
    out = []
    for item in items:
        created = system_data(item["_created"])["createdAt"]
        extra = {"createdTime": created, "changedTime": created, "provisioningState": "Succeeded"}
        out.append({**item, **{k: v for k, v in extra.items() if k.lower() in wanted}})
    return out


def register(router: Router, sandbox: Any) -> None:
    def listing(request: Request, sub: str, rg: str | None = None) -> Response:
        if rg is not None:
            _require_group(sandbox, sub, rg)
        keep = _matches(request.param("$filter"))
        items = [item for item in generic_resources(sandbox, sub, rg) if keep(item)]
        return page(sandbox, request, _expand(items, request.param("$expand")))

    router.add("GET", SUB + r"/resources", listing)
    router.add("GET", RG + r"/resources", listing)

    def registries(request: Request, sub: str, rg: str | None = None) -> Response:
        from rdeploy_tui.sandbox.acr_registry import registry_body

        if rg is not None:
            _require_group(sandbox, sub, rg)
        head = f"/subscriptions/{sub}/".lower() + (f"resourcegroups/{rg}/".lower() if rg else "")
        with sandbox.state.view() as data:
            docs = [dict(doc) for key, doc in sorted(data.get("registries", {}).items()) if key.startswith(head)]
        return page(sandbox, request, [registry_body(doc, request.api_version) for doc in docs])

    router.add("GET", SUB + r"/providers/Microsoft\.ContainerRegistry/registries", registries)
    router.add("GET", RG + r"/providers/Microsoft\.ContainerRegistry/registries", registries)


def _require_group(sandbox: Any, sub: str, rg: str) -> None:
    with sandbox.state.view() as data:
        known = f"/subscriptions/{sub}/resourcegroups/{rg}".lower() in data.get("resource_groups", {})
    if not known:
        raise AzureError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
