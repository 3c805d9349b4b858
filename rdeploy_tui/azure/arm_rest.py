"""Plain ARM REST calls over azure-core's ARM pipeline (AzureConnection.arm_pipeline): the day-2 commands' light path.

`import azure.ai.ml` alone takes ~1.5 s, most of a `rdeploy-tui endpoints list`. The reads and the delete those
commands need are a handful of REST operations; here they go through the same pipeline the generated SDKs use
(credential, retries with back-off, ARM error format, LRO polling), without the generated models.

The api-versions are the ones azure-ai-ml sends for the same operations, so both paths see the same service
behaviour; tests/sandbox/test_rest_online.py records both paths on the sandbox and fails when they differ.
Operations: https://learn.microsoft.com/rest/api/azureml/ (Workspaces, Online Endpoints, Online Deployments,
Environment Versions).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from rdeploy_tui.azure.clients import LRO_INTERVAL_S, AzureConnection
from rdeploy_tui.azure.discovery import WorkspaceInfo, resource_id_pattern
from rdeploy_tui.azure.errors import azure_call
from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    from azure.core.pipeline import PipelineResponse
    from azure.core.polling import LROPoller
    from azure.core.rest import HttpRequest, HttpResponse

# What azure-ai-ml (>=1.35) sends per resource; checked against its requests by the test above.
API_VERSIONS = {
    "workspace": "2024-10-01-preview",
    "endpoint": "2022-02-01-preview",  # online_endpoints: get, list, delete, listKeys, token
    "deployment": "2023-04-01-preview",  # online_deployments: list, get, getLogs
    "environment": "2023-04-01-preview",  # environments.get(name, version)
}
_WS_PATH = resource_id_pattern("Microsoft.MachineLearningServices/workspaces")


def workspace_path(subscription_id: str, resource_group: str, name: str) -> str:
    return (
        f"/subscriptions/{quote(subscription_id, safe='')}/resourceGroups/{quote(resource_group, safe='')}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{quote(name, safe='')}"
    )


def _raise_for(response: HttpResponse) -> None:
    """The exceptions the generated clients raise (explained by azure/errors.py like any SDK error)."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceExistsError,
        ResourceNotFoundError,
        map_error,
    )
    from azure.mgmt.core.exceptions import ARMErrorFormat

    errors = {401: ClientAuthenticationError, 404: ResourceNotFoundError, 409: ResourceExistsError}
    map_error(status_code=response.status_code, response=response, error_map=errors)
    raise HttpResponseError(response=response, error_format=ARMErrorFormat)


def _request(method: str, url: str, api_version: str | None, body: dict[str, Any] | None = None) -> HttpRequest:
    from azure.core.rest import HttpRequest

    params = {"api-version": api_version} if api_version else None
    return HttpRequest(method, url, params=params, json=body)


def _send(connection: AzureConnection, request: HttpRequest) -> PipelineResponse[HttpRequest, HttpResponse]:
    """The PipelineResponse (an LROPoller needs it); a path is made absolute on the connection's ARM endpoint."""
    client = connection.arm_pipeline()
    request.url = client.format_url(request.url)
    return client._pipeline.run(request, stream=False)  # what the generated clients do


def call(
    connection: AzureConnection,
    method: str,
    path: str,
    api: str,
    body: dict[str, Any] | None = None,
    *,
    ok: tuple[int, ...] = (200,),
) -> dict[str, Any] | None:
    """One request; the answer's JSON object (None when empty, or not an object: ARM answers these operations with
    one). Raises azure.core exceptions: call it in azure_call."""
    response = _send(connection, _request(method, path, API_VERSIONS[api], body)).http_response
    if response.status_code not in ok:
        _raise_for(response)
    doc = response.json() if response.content else None
    return doc if isinstance(doc, dict) else None


def get(connection: AzureConnection, path: str, api: str) -> dict[str, Any]:
    """One resource's document. An answer without one raises DecodeError, as the generated clients do when they
    cannot read a body."""
    from azure.core.exceptions import DecodeError

    doc = call(connection, "GET", path, api)
    if doc is None:
        raise DecodeError(f"GET {path} answered without a JSON object")
    return doc


def pages(connection: AzureConnection, path: str, api: str) -> Iterator[dict[str, Any]]:
    """Every item of a list operation, following nextLink (which carries its own query)."""
    request = _request("GET", path, API_VERSIONS[api])
    while True:
        response = _send(connection, request).http_response
        if response.status_code != 200:
            _raise_for(response)
        page = response.json() or {}
        yield from page.get("value") or []
        if not page.get("nextLink"):
            return
        request = _request("GET", page["nextLink"], None)


def begin(connection: AzureConnection, method: str, path: str, api: str) -> LROPoller[None]:
    """Start a long-running operation; an azure.core LROPoller with ARM's polling (Azure-AsyncOperation,
    Location, Retry-After), as the generated clients return. 404 raises ResourceNotFoundError."""
    from azure.core.polling import LROPoller
    from azure.mgmt.core.polling.arm_polling import ARMPolling

    initial = _send(connection, _request(method, path, API_VERSIONS[api]))
    if initial.http_response.status_code not in (200, 201, 202, 204):
        _raise_for(initial.http_response)
    return LROPoller(connection.arm_pipeline(), initial, lambda pipeline_response: None, ARMPolling(LRO_INTERVAL_S))


def workspace_info(subscription_id: str, doc: dict[str, Any]) -> WorkspaceInfo | None:
    """A workspace's REST document -> WorkspaceInfo, as azure/discovery.py reads azure-ai-ml's Workspace
    (None for a hub: it hosts no online endpoints of its own)."""
    if str(doc.get("kind") or "").lower() == "hub":
        return None
    ws_id = doc.get("id") or ""
    match = _WS_PATH.search(ws_id)
    return WorkspaceInfo(
        subscription_id=match["sub"] if match else subscription_id,
        resource_group=match["rg"] if match else "",
        name=doc.get("name") or "",
        location=doc.get("location"),
        id=ws_id,
        container_registry=(doc.get("properties") or {}).get("containerRegistry") or None,
    )


def get_workspace(connection: AzureConnection, subscription_id: str, resource_group: str, name: str) -> WorkspaceInfo:
    """discovery.get_workspace without azure.ai.ml."""
    with azure_call(f"reading workspace {name}", who=connection.identity):
        info = workspace_info(
            subscription_id, get(connection, workspace_path(subscription_id, resource_group, name), "workspace")
        )
    if info is None:
        raise RdeployError(f"Workspace {name} was not found in resource group {resource_group}.", "Check the names.")
    return info
