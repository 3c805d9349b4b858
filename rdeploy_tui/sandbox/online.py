"""Managed online endpoints and deployments, as long-running operations the SDK pollers follow.

PUT/DELETE answer at once (201/200/202 + Azure-AsyncOperation .../mfeOperationsStatus/{op} + retry-after-ms)
and a background operation moves the resource along: Creating/Updating -> Succeeded/Failed, Deleting -> gone.
A deployment becomes Succeeded only once its plumber API answers its readiness route (hosting.py).

State collections (keys are lower-cased resource ids, operation ids as issued):
    endpoints   {id, name, workspace, location, auth_mode, description, tags, traffic, mirror_traffic, state, created,
                 modified}
    deployments {id, name, endpoint, workspace, location, instance_type, instance_count, properties, state, error,
                 created, modified, storage_log}
    operations  {id, action, resource, status, error, start, end, location, subscription}
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from rdeploy_tui.sandbox import ml
from rdeploy_tui.sandbox.arm import TENANT_ID, WS, find_workspace, iso, system_data, workspace_id
from rdeploy_tui.sandbox.auth import SANDBOX_USER_OID
from rdeploy_tui.sandbox.durations import (  # simulated seconds at time scale 1, and why
    DEPLOYMENT_DELETE_S,
    DEPLOYMENT_PROVISION_S,
    DEPLOYMENT_START_S,
    ENDPOINT_CREATE_S,
    ENDPOINT_DELETE_S,
    ENDPOINT_UPDATE_S,
    LRO_TIMEOUT_S,
    POLL_HINT_S,
    iso_duration,
)
from rdeploy_tui.sandbox.errors import AzureError, not_found
from rdeploy_tui.sandbox.http import Request, Response, Router, json_response
from rdeploy_tui.spec.vm_sizes import SOURCE_URL as VM_SOURCE_URL
from rdeploy_tui.spec.vm_sizes import VM_SIZES

# The sizes a managed online deployment may use, with their cores: Microsoft's published SKU list (vm_sizes.py cites
# it).
SKU_CORES = {key: size.vcpus for key, size in VM_SIZES.items()}
QUOTA_HEADROOM = 1.2  # Azure asks for 20 % extra cores when creating or updating a deployment
MAX_INSTANCES = 50
MAX_DEPLOYMENTS_PER_ENDPOINT = 20
NAME_RE = re.compile(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")

EP = WS + r"/onlineEndpoints/(?P<endpoint>[^/]+)"
DEP = EP + r"/deployments/(?P<deployment>[^/]+)"
BUSY = ("Creating", "Updating", "Deleting")

DEFAULT_PROBE = {
    "initialDelay": "PT10S",
    "period": "PT10S",
    "timeout": "PT2S",
    "successThreshold": 1,
    "failureThreshold": 30,
}
DEFAULT_REQUEST_SETTINGS = {"requestTimeout": "PT5S", "maxConcurrentRequestsPerInstance": 1, "maxQueueWait": "PT0.5S"}


# ----- lookups ----------------------------------------------------------------------------------------
def endpoint_id(ws_id: str, name: str) -> str:
    return f"{ws_id}/onlineEndpoints/{name}"


def get_endpoint(sandbox: Any, ep_id: str) -> dict[str, Any] | None:
    with sandbox.state.view() as data:
        doc = data.get("endpoints", {}).get(ep_id.lower())
        return None if doc is None else _copy(doc)


def endpoint_by_name(sandbox: Any, name: str) -> dict[str, Any] | None:
    with sandbox.state.view() as data:
        for doc in data.get("endpoints", {}).values():
            if doc["name"].lower() == name.lower():
                return _copy(doc)
    return None


def deployments_of(sandbox: Any, ep_id: str) -> list[dict[str, Any]]:
    head = (ep_id + "/deployments/").lower()
    with sandbox.state.view() as data:
        return [_copy(d) for k, d in data.get("deployments", {}).items() if k.startswith(head)]


def get_deployment(sandbox: Any, dep_id: str) -> dict[str, Any] | None:
    with sandbox.state.view() as data:
        doc = data.get("deployments", {}).get(dep_id.lower())
        return None if doc is None else _copy(doc)


def update_doc(sandbox: Any, collection: str, resource_id: str, **changes: Any) -> None:
    with sandbox.state.edit() as data:
        doc = data.get(collection, {}).get(resource_id.lower())
        if doc is not None:
            doc.update(changes, modified=time.time())


def _copy(doc: dict[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(doc)


# ----- operations -------------------------------------------------------------------------------------
def start_operation(
    sandbox: Any, action: str, resource_id: str, location: str, ws_guid: str, api_version: str | None = None
) -> tuple[str, dict[str, str]]:
    """Record an operation, start its worker, and return (op_id, the headers telling the client where to poll).

    As Azure ML answers (azure-sdk-for-python recordings test_online_deployment*): Azure-AsyncOperation (the
    operation's status), Location (the resource for a create or update; mfeOperationResults for a delete) and
    x-ms-async-operation-timeout PT30M (scaled: durations.py). Operation ids: "oeidp:{workspace}:{uuid}" for endpoints
    as the newer recordings in Azure/azure-sdk-assets name them (shared/azure-facts.md; "oe:" in 2022), "od:..." for
    deployments as the 2022 recordings do (no newer one read)."""
    sub = resource_id.split("/")[2]
    op_id = f"{'oeidp' if action.startswith('endpoint') else 'od'}:{ws_guid}:{uuid.uuid4()}"
    api = api_version or "2023-04-01-preview"
    base = f"{sandbox.base_url}/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/{location}"
    status_uri = f"{base}/mfeOperationsStatus/{op_id}?api-version={api}"
    with sandbox.state.edit() as data:
        sandbox.state.collection(data, "operations")[op_id] = {
            "id": op_id,
            "action": action,
            "resource": resource_id,
            "status": "InProgress",
            "error": None,
            "start": time.time(),
            "end": None,
            "location": location,
            "subscription": sub,
        }
        collection = "endpoints" if action.startswith("endpoint") else "deployments"
        doc = data.get(collection, {}).get(resource_id.lower())
        if doc is not None:
            doc["async_uri"] = status_uri  # properties.properties.AzureAsyncOperationUri in the resource's body
    headers = {
        "Azure-AsyncOperation": status_uri,
        "x-ms-async-operation-timeout": iso_duration(sandbox.scaled(LRO_TIMEOUT_S)),
        **sandbox.retry_after_headers(POLL_HINT_S),
    }
    if action.endswith("delete"):
        headers["Location"] = f"{base}/mfeOperationResults/{op_id}?api-version={api}"
    else:
        headers["Location"] = f"{sandbox.base_url}{resource_id}?api-version={api}"
        headers["x-ms-async-operation-timeout"] = _operation_timeout(sandbox, action)
    sandbox.spawn(WORKERS[action], sandbox, op_id, name=f"sandbox-{action}")
    return op_id, headers


# Azure ML announces how long a create or update may run: `x-ms-async-operation-timeout: PT30M` on the PUT of an
# online endpoint or deployment (the header of ARM's async operations, azure-resource-manager-rpc async-api-reference).
# The sandbox announces the same, scaled like its durations; a deployment adds the real seconds R may take to start
# (hosting.READY_TIMEOUT_S, never scaled), so the announcement covers what the sandbox may really take (a documented
# difference: docs/sandbox-fidelity.md).
def _operation_timeout(sandbox: Any, action: str) -> str:
    from rdeploy_tui.sandbox.hosting import READY_TIMEOUT_S

    real_start = READY_TIMEOUT_S if action.startswith("deployment") else 0.0
    return iso_duration(sandbox.scaled(LRO_TIMEOUT_S) + real_start)


def finish_operation(sandbox: Any, op_id: str, error: dict[str, str] | None = None) -> None:
    with sandbox.state.edit() as data:
        op = data.get("operations", {}).get(op_id)
        if op is not None:
            op.update(status="Failed" if error else "Succeeded", error=error, end=time.time())


def _operation(sandbox: Any, op_id: str) -> dict[str, Any] | None:
    with sandbox.state.view() as data:
        op = data.get("operations", {}).get(op_id)
        return None if op is None else dict(op)


def resume(sandbox: Any) -> None:
    """After a restart: finish the operations that were in flight and start the deployments that were running."""
    with sandbox.state.view() as data:
        pending = [dict(op) for op in data.get("operations", {}).values() if op["status"] == "InProgress"]
        running = [d["id"] for d in data.get("deployments", {}).values() if d["state"] == "Succeeded"]
    for op in pending:
        sandbox.spawn(WORKERS[op["action"]], sandbox, op["id"], name=f"sandbox-{op['action']}")
    provisioning = {op["resource"].lower() for op in pending if op["action"].startswith("deployment-")}
    for dep_id in running:
        if dep_id.lower() in provisioning:
            continue  # its unfinished operation starts (or stops) the container; one process per deployment
        sandbox.restarting.add(dep_id.lower())
        sandbox.spawn(_restart_container, sandbox, dep_id, name="sandbox-restart-deployment")


# ----- workers ----------------------------------------------------------------------------------------
def _endpoint_settle(sandbox: Any, op_id: str) -> None:
    op = _operation(sandbox, op_id)
    if op is None:
        return
    seconds = ENDPOINT_CREATE_S if op["action"] == "endpoint-create" else ENDPOINT_UPDATE_S
    if not sandbox.sleep(seconds):
        return
    update_doc(sandbox, "endpoints", op["resource"], state="Succeeded")
    finish_operation(sandbox, op_id)


def _endpoint_delete(sandbox: Any, op_id: str) -> None:
    op = _operation(sandbox, op_id)
    if op is None:
        return
    for dep in deployments_of(sandbox, op["resource"]):
        sandbox.hosting.stop(dep["id"])
    if not sandbox.sleep(ENDPOINT_DELETE_S):
        return
    with sandbox.state.edit() as data:
        data.get("endpoints", {}).pop(op["resource"].lower(), None)
        head = (op["resource"] + "/deployments/").lower()
        for key in [k for k in data.get("deployments", {}) if k.startswith(head)]:
            del data["deployments"][key]
    finish_operation(sandbox, op_id)


def _deployment_provision(sandbox: Any, op_id: str) -> None:
    from rdeploy_tui.sandbox.hosting import ContainerFailure

    op = _operation(sandbox, op_id)
    if op is None:
        return
    dep_id = op["resource"]
    dep = get_deployment(sandbox, dep_id)
    if dep is None:
        return
    ep_id = dep["endpoint"]
    fault = dep.get("fault")
    try:
        _storage_init(sandbox, dep)
        if not sandbox.sleep(DEPLOYMENT_PROVISION_S):
            return
        if fault == "out-of-quota":
            raise ContainerFailure("OutOfQuota", dep.get("fault_message") or _quota_message(dep, sandbox.quota_cores))
        if fault == "image-pull-failure":
            raise ContainerFailure(
                "ImagePullFailure",
                f"The image '{_image_ref(sandbox, dep)}' could not be pulled. Check that it exists in the workspace's "
                "container registry and that the endpoint's identity may pull from it (AcrPull).",
            )
        sandbox.hosting.start(dep, simulate_probe_failure=(fault == "resource-not-ready"))
        if not sandbox.sleep(DEPLOYMENT_START_S):
            return
    except ContainerFailure as failure:
        error = {"code": failure.code, "message": failure.message}
        update_doc(sandbox, "deployments", dep_id, state="Failed", error=error)
        update_doc(sandbox, "endpoints", ep_id, state="Succeeded")
        finish_operation(sandbox, op_id, error)
        return
    update_doc(sandbox, "deployments", dep_id, state="Succeeded", error=None)
    update_doc(sandbox, "endpoints", ep_id, state="Succeeded")
    finish_operation(sandbox, op_id)


def _storage_init(sandbox: Any, dep: dict[str, Any]) -> None:
    model = dep["properties"].get("model") or ""
    lines = [
        f"{iso(time.time())} storage-initializer: downloading model {model.split('/models/')[-1] or '(none)'}",
        f"{iso(time.time())} storage-initializer: downloading code "
        f"{dep['properties'].get('codeConfiguration', {}).get('codeId', '').split('/codes/')[-1]}",
        f"{iso(time.time())} storage-initializer: all files downloaded; mounting into the inference-server container",
    ]
    update_doc(sandbox, "deployments", dep["id"], storage_log=lines)


def _deployment_delete(sandbox: Any, op_id: str) -> None:
    op = _operation(sandbox, op_id)
    if op is None:
        return
    sandbox.hosting.stop(op["resource"])
    if not sandbox.sleep(DEPLOYMENT_DELETE_S):
        return
    dep = get_deployment(sandbox, op["resource"])
    with sandbox.state.edit() as data:
        data.get("deployments", {}).pop(op["resource"].lower(), None)
    if dep is not None:
        update_doc(sandbox, "endpoints", dep["endpoint"], state="Succeeded")
    finish_operation(sandbox, op_id)


def _restart_container(sandbox: Any, dep_id: str) -> None:
    from rdeploy_tui.sandbox.hosting import ContainerFailure

    try:
        dep = get_deployment(sandbox, dep_id)
        if dep is None:
            return
        try:
            sandbox.hosting.start(dep)
        except ContainerFailure:
            pass  # the deployment stays Succeeded but unhealthy, as a crash-looping container would; its logs say why
    finally:
        sandbox.restarting.discard(dep_id.lower())


WORKERS: dict[str, Callable[[Any, str], None]] = {
    "endpoint-create": _endpoint_settle,
    "endpoint-update": _endpoint_settle,
    "endpoint-delete": _endpoint_delete,
    "deployment-create": _deployment_provision,
    "deployment-update": _deployment_provision,
    "deployment-delete": _deployment_delete,
}


def endpoint_key(sandbox: Any, doc: dict[str, Any], slot: str) -> str:
    """The endpoint's key in `slot` (primary/secondary); regenerateKeys moves the slot to its next generation."""
    generation = int((doc.get("key_generations") or {}).get(slot, 0))
    return sandbox.signer.endpoint_key(doc["id"], slot if generation == 0 else f"{slot}#{generation}")


# ----- REST shapes ------------------------------------------------------------------------------------
def endpoint_body(sandbox: Any, doc: dict[str, Any]) -> dict[str, Any]:
    """The OnlineEndpoint as Azure ML answers it (recordings test_online_deployment*): scoringUri and swaggerUri null
    until the endpoint is first ready, compute null for managed endpoints, the last operation's status URI."""
    ready = doc["state"] in ("Succeeded", "Updating")
    scoring = f"{sandbox.base_url}/endpoints/{doc['name']}/score" if ready else None
    swagger = f"{sandbox.base_url}/endpoints/{doc['name']}/swagger.json" if ready else None
    return {
        "id": doc["id"],
        "name": doc["name"],
        "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
        "location": doc["location"],
        "kind": "Managed",
        "tags": doc.get("tags") or {},
        "identity": {
            "type": "SystemAssigned",
            "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, doc["id"])),
            "tenantId": doc.get("tenant", ""),
        },
        "systemData": system_data(doc["created"], doc["modified"]),
        "properties": {
            "authMode": doc["auth_mode"],
            "description": doc.get("description"),
            "properties": {
                "azureml.onlineendpointid": doc["id"].lower(),
                "AzureAsyncOperationUri": doc.get("async_uri") or "",
            },
            "compute": None,
            "traffic": doc.get("traffic") or {},
            "mirrorTraffic": doc.get("mirror_traffic") or {},
            "scoringUri": scoring,
            "swaggerUri": swagger,
            "provisioningState": doc["state"],
            "publicNetworkAccess": "Enabled",
        },
    }


def deployment_body(doc: dict[str, Any]) -> dict[str, Any]:
    props = dict(doc["properties"])
    props.setdefault("description", None)
    props.setdefault("codeConfiguration", None)
    props.setdefault("environmentId", None)
    props.setdefault("modelMountPath", None)
    props.setdefault("privateNetworkConnection", False)
    props.update(
        provisioningState=doc["state"],
        instanceType=doc["instance_type"],
        endpointComputeType="Managed",
        scaleSettings=props.get("scaleSettings") or {"scaleType": "Default"},
        requestSettings={**DEFAULT_REQUEST_SETTINGS, **(props.get("requestSettings") or {})},
        livenessProbe={**DEFAULT_PROBE, **(props.get("livenessProbe") or {})},
        readinessProbe={**DEFAULT_PROBE, **(props.get("readinessProbe") or {})},
        appInsightsEnabled=bool(props.get("appInsightsEnabled")),
        egressPublicNetworkAccess=props.get("egressPublicNetworkAccess") or "Enabled",
        environmentVariables=props.get("environmentVariables") or {},
        properties={**(props.get("properties") or {}), "AzureAsyncOperationUri": doc.get("async_uri") or ""},
    )
    return {
        "id": doc["id"],
        "name": doc["name"],
        "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
        "location": doc["location"],
        "kind": "Managed",
        "tags": doc.get("tags") or {},
        "sku": {"name": "Default", "tier": "Standard", "capacity": doc["instance_count"]},
        "systemData": system_data(doc["created"], doc["modified"]),
        "properties": props,
    }


# ----- validation -------------------------------------------------------------------------------------
def _check_name(kind: str, name: str) -> None:
    if not (3 <= len(name) <= 32) or not NAME_RE.match(name):
        raise AzureError(
            400,
            "BadArgument",
            f"{kind} name '{name}' is invalid: use 3-32 letters, digits and '-', starting with a letter and not "
            "ending with '-'.",
        )


def _cores(instance_type: str) -> int:
    cores = SKU_CORES.get(instance_type.lower())
    if cores is None:
        # Azure refuses a size outside its SKU list with 400 BadArgument; its exact text is not published (unknown),
        # so the message names the list instead: https://learn.microsoft.com/azure/machine-learning/reference-managed-online-endpoints-vm-sku-list
        raise AzureError(
            400,
            "BadArgument",
            f"The instance type '{instance_type}' is not supported for managed online deployments. "
            f"Use a VM size from the managed online endpoints SKU list: {VM_SOURCE_URL}",
        )
    return cores


def _quota_message(dep: dict[str, Any], quota: int, used: int = 0) -> str:
    needed = int(_cores(dep["instance_type"]) * dep["instance_count"] * QUOTA_HEADROOM + 0.999)
    # The out-of-quota fault stands for cores in use elsewhere: the numbers must show the shortage (issue 15).
    used = max(used, quota - needed + 1)
    return (
        f"Not enough quota available for {dep['instance_type']} in subscription {dep['id'].split('/')[2]}. "
        f"Current usage/limit: {used}/{quota}. Additional needed: {needed} (instance count x cores + 20% headroom). "
        "Request a quota increase for the VM family, choose a smaller instance type or fewer instances, "
        "or delete deployments you no longer need."
    )


def _used_cores(sandbox: Any, sub: str, skip: str) -> int:
    used = 0
    with sandbox.state.view() as data:
        for key, dep in data.get("deployments", {}).items():
            if key.split("/")[2] == sub.lower() and key != skip.lower() and dep["state"] != "Failed":
                used += SKU_CORES.get(dep["instance_type"].lower(), 0) * dep["instance_count"]
    return used


def _image_ref(sandbox: Any, dep: dict[str, Any]) -> str:
    env = ml.asset_by_id(sandbox, dep["properties"].get("environmentId") or "")
    return (env or {}).get("properties", {}).get("image") or "(no image)"


# ----- routes -----------------------------------------------------------------------------------------
def register(router: Router, sandbox: Any) -> None:
    def workspace(sub: str, rg: str, ws: str) -> dict[str, Any]:
        return find_workspace(sandbox, sub, rg, ws)

    def endpoint_or_404(sub: str, rg: str, ws: str, endpoint: str) -> dict[str, Any]:
        doc = get_endpoint(sandbox, endpoint_id(workspace_id(sub, rg, ws), endpoint))
        if doc is None:
            raise not_found("Microsoft.MachineLearningServices/workspaces/onlineEndpoints", f"{ws}/{endpoint}", rg)
        return doc

    def deployment_or_404(sub: str, rg: str, ws: str, endpoint: str, deployment: str) -> dict[str, Any]:
        ep = endpoint_or_404(sub, rg, ws, endpoint)
        doc = get_deployment(sandbox, f"{ep['id']}/deployments/{deployment}")
        if doc is None:
            raise not_found(
                "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
                f"{ws}/{endpoint}/{deployment}",
                rg,
            )
        return doc

    # --- operation status ---
    @router.route(
        "GET",
        r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.MachineLearningServices/locations/(?P<loc>[^/]+)/mfeOperationsStatus/(?P<op>[^/]+)",
    )
    def operation_status(request: Request, sub: str, loc: str, op: str) -> Response:
        doc = _operation(sandbox, op)
        if doc is None:
            raise AzureError(404, "NotFound", f"Operation {op} was not found.")
        # As recorded: while running {id, name, startTime, percentComplete: 0.0, status: "Updating"} (for creates,
        # updates and deletes alike), then endTime, percentComplete 100.0 and the final status.
        running = doc["status"] == "InProgress"
        body: dict[str, Any] = {"id": request.path, "name": op, "startTime": iso(doc["start"])}
        if not running:
            body["endTime"] = iso(doc["end"] or doc["start"])
        body["percentComplete"] = 0.0 if running else 100.0
        body["status"] = "Updating" if running else doc["status"]
        if doc["error"]:
            body["error"] = dict(doc["error"])
        headers = sandbox.retry_after_headers(POLL_HINT_S) if doc["status"] == "InProgress" else {}
        return json_response(200, body, headers)

    @router.route(
        "GET",
        r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.MachineLearningServices/locations/(?P<loc>[^/]+)/mfeOperationResults/(?P<op>[^/]+)",
    )
    def operation_result(request: Request, sub: str, loc: str, op: str) -> Response:
        doc = _operation(sandbox, op)
        if doc is None:
            raise AzureError(404, "NotFound", f"Operation {op} was not found.")
        if doc["status"] == "InProgress":
            return Response(
                202,
                b"",
                {
                    "Location": sandbox.base_url + request.path + "?api-version=2023-04-01-preview",
                    **sandbox.retry_after_headers(POLL_HINT_S),
                },
            )
        return Response(200, b"", {})

    # --- endpoints ---
    @router.route("GET", WS + r"/onlineEndpoints")
    def list_endpoints(request: Request, sub: str, rg: str, ws: str) -> Response:
        ws_id = workspace(sub, rg, ws)["id"]
        head = (ws_id + "/onlineEndpoints/").lower()
        with sandbox.state.view() as data:
            docs = [_copy(d) for k, d in data.get("endpoints", {}).items() if k.startswith(head)]
        return json_response(
            200, {"value": [endpoint_body(sandbox, d) for d in sorted(docs, key=lambda d: d["created"])]}
        )

    @router.route("GET", EP)
    def get_endpoint_route(request: Request, sub: str, rg: str, ws: str, endpoint: str) -> Response:
        return json_response(200, endpoint_body(sandbox, endpoint_or_404(sub, rg, ws, endpoint)))

    @router.route("PUT", EP)
    def put_endpoint(request: Request, sub: str, rg: str, ws: str, endpoint: str) -> Response:
        return _write_endpoint(request, sub, rg, ws, endpoint, merge=False)

    @router.route("PATCH", EP)
    def patch_endpoint(request: Request, sub: str, rg: str, ws: str, endpoint: str) -> Response:
        return _write_endpoint(request, sub, rg, ws, endpoint, merge=True)

    def _write_endpoint(request: Request, sub: str, rg: str, ws: str, endpoint: str, *, merge: bool) -> Response:
        ws_doc = workspace(sub, rg, ws)
        _check_name("Endpoint", endpoint)
        ep_id = endpoint_id(ws_doc["id"], endpoint)
        body = request.json()
        if not merge:
            _check_endpoint_put(body)
        props = body.get("properties") or {}
        existing = get_endpoint(sandbox, ep_id)
        if existing is None:
            if merge:
                raise not_found("Microsoft.MachineLearningServices/workspaces/onlineEndpoints", f"{ws}/{endpoint}", rg)
            other = endpoint_by_name(sandbox, endpoint)
            if other is not None:
                raise AzureError(
                    409,
                    "Conflict",
                    f"An endpoint named '{endpoint}' already exists in region {other['location']}. Endpoint names "
                    "must be unique within a region; choose another name.",
                )
            auth_mode = props.get("authMode") or "Key"
            if auth_mode.lower() not in ("key", "amltoken", "aadtoken"):
                raise AzureError(
                    400, "BadArgument", f"authMode '{auth_mode}' is invalid: use Key, AMLToken or AADToken."
                )
            _check_traffic(sandbox, ep_id, props.get("traffic") or {})
            _check_mirror(sandbox, ep_id, props.get("traffic") or {}, props.get("mirrorTraffic") or {})
            now = time.time()
            doc = {
                "id": ep_id,
                "name": endpoint,
                "workspace": ws_doc["id"],
                "location": body.get("location") or ws_doc["location"],
                "auth_mode": auth_mode,
                "description": props.get("description"),
                "tags": body.get("tags") or {},
                "traffic": props.get("traffic") or {},
                "mirror_traffic": props.get("mirrorTraffic") or {},
                "state": "Creating",
                "created": now,
                "modified": now,
            }
            with sandbox.state.edit() as data:
                sandbox.state.collection(data, "endpoints")[ep_id.lower()] = doc
            _, headers = start_operation(
                sandbox, "endpoint-create", ep_id, doc["location"], ws_doc["workspace_guid"], request.api_version
            )
            return json_response(201, endpoint_body(sandbox, get_endpoint(sandbox, ep_id) or doc), headers)
        if existing["state"] in BUSY:
            raise _busy("endpoint", endpoint, existing["state"])
        changes: dict[str, Any] = {"state": "Updating"}
        if "traffic" in props:
            _check_traffic(sandbox, ep_id, props.get("traffic") or {})
            changes["traffic"] = props.get("traffic") or {}
        if "mirrorTraffic" in props:
            changes["mirror_traffic"] = props.get("mirrorTraffic") or {}
        _check_mirror(
            sandbox,
            ep_id,
            changes.get("traffic", existing.get("traffic") or {}),
            changes.get("mirror_traffic", existing.get("mirror_traffic") or {}),
        )
        if "description" in props:
            changes["description"] = props["description"]
        if "tags" in body:
            changes["tags"] = body.get("tags") or {}
        if props.get("authMode") and props["authMode"].lower() != existing["auth_mode"].lower():
            raise AzureError(
                400, "BadArgument", "The authMode of an existing endpoint cannot be changed; create a new endpoint."
            )
        update_doc(sandbox, "endpoints", ep_id, **changes)
        _, headers = start_operation(
            sandbox, "endpoint-update", ep_id, existing["location"], ws_doc["workspace_guid"], request.api_version
        )
        # 201 for an update too: Azure ML answered the PUT that moved traffic with 201 (recording
        # test_online_deployment).
        return json_response(201, endpoint_body(sandbox, get_endpoint(sandbox, ep_id) or existing), headers)

    @router.route("DELETE", EP)
    def delete_endpoint(request: Request, sub: str, rg: str, ws: str, endpoint: str) -> Response:
        ws_doc = workspace(sub, rg, ws)
        ep_id = endpoint_id(ws_doc["id"], endpoint)
        doc = get_endpoint(sandbox, ep_id)
        if doc is None:
            return Response(204, b"", {})
        if doc["state"] == "Deleting":
            raise _busy("endpoint", endpoint, "Deleting")
        update_doc(sandbox, "endpoints", ep_id, state="Deleting")
        _, headers = start_operation(
            sandbox, "endpoint-delete", ep_id, doc["location"], ws_doc["workspace_guid"], request.api_version
        )
        return json_response(202, None, headers)  # the recorded body is JSON null

    @router.route("POST", EP + r"/listKeys")
    def list_keys(request: Request, sub: str, rg: str, ws: str, endpoint: str) -> Response:
        doc = endpoint_or_404(sub, rg, ws, endpoint)
        if doc["auth_mode"].lower() != "key":
            raise AzureError(
                400,
                "BadArgument",
                f"Endpoint '{endpoint}' uses {doc['auth_mode']} authentication; keys are only available with authMode "
                "Key. Ask for a token instead.",
            )
        return json_response(
            200,
            {
                "primaryKey": endpoint_key(sandbox, doc, "primary"),
                "secondaryKey": endpoint_key(sandbox, doc, "secondary"),
            },
        )

    @router.route("POST", EP + r"/regenerateKeys")
    def regenerate_keys(request: Request, sub: str, rg: str, ws: str, endpoint: str) -> Response:
        """OnlineEndpoints_RegenerateKeys (mfe.json): body RegenerateEndpointKeysRequest {keyType: Primary|Secondary,
        keyValue?}; 202 with Location (an operation result) and Retry-After; `az ml online-endpoint regenerate-keys`.
        The old key stops working at once (the sandbox has no propagation delay)."""
        doc = endpoint_or_404(sub, rg, ws, endpoint)
        body = request.json()
        slot = str(body.get("keyType") or "")
        if slot.lower() not in ("primary", "secondary"):
            raise AzureError(400, "BadRequest", f"keyType must be Primary or Secondary, not {slot!r}.")
        if doc["auth_mode"].lower() != "key":
            raise AzureError(
                400, "BadArgument", f"Endpoint '{endpoint}' uses {doc['auth_mode']} authentication; it has no keys."
            )
        generations = dict(doc.get("key_generations") or {})
        generations[slot.lower()] = int(generations.get(slot.lower(), 0)) + 1
        update_doc(sandbox, "endpoints", doc["id"], key_generations=generations)
        ws_doc = workspace(sub, rg, ws)
        op_id = f"oeidp:{ws_doc['workspace_guid']}:{uuid.uuid4()}"
        with sandbox.state.edit() as data:
            now = time.time()
            sandbox.state.collection(data, "operations")[op_id] = {
                "id": op_id,
                "action": "endpoint-keys",
                "resource": doc["id"],
                "status": "Succeeded",
                "error": None,
                "start": now,
                "end": now,
                "location": doc["location"],
                "subscription": sub,
            }
        base = (
            f"{sandbox.base_url}/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/"
            f"{doc['location']}"
        )
        headers = {
            "Location": f"{base}/mfeOperationResults/{op_id}?api-version={request.api_version}",
            "Retry-After": "1",  # whole seconds (RFC 9110); the key is new already
        }
        return json_response(202, None, headers)

    @router.route("POST", EP + r"/token")
    def get_token(request: Request, sub: str, rg: str, ws: str, endpoint: str) -> Response:
        doc = endpoint_or_404(sub, rg, ws, endpoint)
        if doc["auth_mode"].lower() != "amltoken":
            raise AzureError(
                400,
                "BadArgument",
                f"Endpoint '{endpoint}' uses {doc['auth_mode']} authentication; tokens are only issued with authMode "
                "AMLToken. Use its keys.",
            )
        # The claims of Azure's endpoint tokens (azure-sdk-for-python recording test_online_deployment: canRefresh,
        # workspaceId, tid, oid, actions, endpointName, serviceId; iss and aud "azureml").
        token, expires = sandbox.signer.issue(
            "aml",
            3600,
            canRefresh="False",
            workspaceId=workspace(sub, rg, ws)["workspace_guid"],
            tid=TENANT_ID,
            oid=SANDBOX_USER_OID,
            actions='["Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action"]',
            endpointName=doc["name"],
            serviceId=doc["name"],
        )
        return json_response(
            200,
            {
                "accessToken": token,
                "tokenType": "Bearer",
                "expiryTimeUtc": expires,
                "refreshAfterTimeUtc": expires - 900,
            },
        )

    # --- deployments ---
    @router.route("GET", EP + r"/deployments")
    def list_deployments(request: Request, sub: str, rg: str, ws: str, endpoint: str) -> Response:
        ep = endpoint_or_404(sub, rg, ws, endpoint)
        docs = sorted(deployments_of(sandbox, ep["id"]), key=lambda d: d["created"])
        return json_response(200, {"value": [deployment_body(d) for d in docs]})

    @router.route("GET", DEP)
    def get_deployment_route(request: Request, sub: str, rg: str, ws: str, endpoint: str, deployment: str) -> Response:
        return json_response(200, deployment_body(deployment_or_404(sub, rg, ws, endpoint, deployment)))

    @router.route("PUT", DEP)
    def put_deployment(request: Request, sub: str, rg: str, ws: str, endpoint: str, deployment: str) -> Response:
        ws_doc = workspace(sub, rg, ws)
        ep = endpoint_or_404(sub, rg, ws, endpoint)
        _check_name("Deployment", deployment)
        dep_id = f"{ep['id']}/deployments/{deployment}"
        existing = get_deployment(sandbox, dep_id)
        if ep["state"] in BUSY:
            raise _busy("endpoint", endpoint, ep["state"])
        if existing is not None and existing["state"] in BUSY:
            raise _busy("deployment", deployment, existing["state"])
        if existing is None and len(deployments_of(sandbox, ep["id"])) >= MAX_DEPLOYMENTS_PER_ENDPOINT:
            raise AzureError(
                400,
                "BadArgument",
                f"Endpoint '{endpoint}' already has {MAX_DEPLOYMENTS_PER_ENDPOINT} deployments, the most it may have.",
            )
        body = request.json()
        _check_deployment_put(body)
        props = dict(body.get("properties") or {})
        if sandbox.faults.take("bad-argument", f"PUT {request.path}"):
            raise AzureError(
                400,
                "BadArgument",
                "The deployment request is invalid: the scoring route, environment and model settings disagree "
                "(simulated BadArgument fault).",
            )
        instance_type = props.get("instanceType") or "Standard_DS3_v2"
        capacity = (body.get("sku") or {}).get("capacity")
        count = 1 if capacity is None else int(capacity)  # sku.capacity absent: one instance (REST spec default)
        # At most 50 instances per deployment (learn.microsoft.com/azure/machine-learning/how-to-manage-quotas, online
        # endpoints limits); 0 is refused, never quietly made 1. Azure's words for 0 are not published (unknown): the
        # sandbox names the valid range.
        if not 1 <= count <= MAX_INSTANCES:
            raise AzureError(400, "BadArgument", f"Instance count {count} is invalid: use 1 to {MAX_INSTANCES}.")
        _cores(instance_type)
        _resolve_assets(sandbox, props)
        now = time.time()
        doc = {
            "id": dep_id,
            "name": deployment,
            "endpoint": ep["id"],
            "workspace": ws_doc["id"],
            "location": body.get("location") or ep["location"],
            "tags": body.get("tags") or {},
            "instance_type": instance_type,
            "instance_count": count,
            "properties": props,
            "state": "Updating",  # a new deployment's PUT answers "Updating" too (recording)
            "error": None,
            "created": existing["created"] if existing else now,
            "modified": now,
            "storage_log": [],
        }
        used = _used_cores(sandbox, sub, dep_id)
        needed = _cores(instance_type) * count * QUOTA_HEADROOM
        fault = next(
            (
                name
                for name in ("out-of-quota", "image-pull-failure", "resource-not-ready")
                if sandbox.faults.take(name, f"PUT {request.path}")
            ),
            None,
        )
        if fault is None and used + needed > sandbox.quota_cores:
            fault = "out-of-quota"
        doc["fault"] = fault
        if fault == "out-of-quota":
            doc["fault_message"] = _quota_message(doc, sandbox.quota_cores, used)
        with sandbox.state.edit() as data:
            sandbox.state.collection(data, "deployments")[dep_id.lower()] = doc
        update_doc(sandbox, "endpoints", ep["id"], state="Updating")
        if existing is not None:
            sandbox.hosting.stop(dep_id)
        _, headers = start_operation(
            sandbox,
            "deployment-update" if existing else "deployment-create",
            dep_id,
            doc["location"],
            ws_doc["workspace_guid"],
            request.api_version,
        )
        return json_response(201, deployment_body(get_deployment(sandbox, dep_id) or doc), headers)

    @router.route("DELETE", DEP)
    def delete_deployment(request: Request, sub: str, rg: str, ws: str, endpoint: str, deployment: str) -> Response:
        ws_doc = workspace(sub, rg, ws)
        ep = endpoint_or_404(sub, rg, ws, endpoint)
        dep_id = f"{ep['id']}/deployments/{deployment}"
        doc = get_deployment(sandbox, dep_id)
        if doc is None:
            return Response(204, b"", {})
        if doc["state"] in BUSY:
            raise _busy("deployment", deployment, doc["state"])
        share = int((ep.get("traffic") or {}).get(deployment, 0))
        if share > 0:
            raise AzureError(
                400,
                "BadArgument",
                f"Deployment '{deployment}' receives {share}% of endpoint '{endpoint}' traffic. Set its traffic to 0 "
                "before deleting it.",
            )
        update_doc(sandbox, "deployments", dep_id, state="Deleting")
        update_doc(sandbox, "endpoints", ep["id"], state="Updating")
        _, headers = start_operation(
            sandbox, "deployment-delete", dep_id, doc["location"], ws_doc["workspace_guid"], request.api_version
        )
        return json_response(202, None, headers)

    @router.route("POST", DEP + r"/getLogs")
    def get_logs(request: Request, sub: str, rg: str, ws: str, endpoint: str, deployment: str) -> Response:
        doc = deployment_or_404(sub, rg, ws, endpoint, deployment)
        body = request.json()
        container = (body.get("containerType") or "InferenceServer").lower()
        tail = body.get("tail")
        if container == "storageinitializer":
            lines = list(doc.get("storage_log") or [])
        elif container == "inferenceserver":
            lines = sandbox.hosting.logs(doc["id"]).splitlines()
        else:
            raise AzureError(
                400,
                "BadArgument",
                f"containerType '{body.get('containerType')}' is invalid: use InferenceServer or StorageInitializer.",
            )
        if isinstance(tail, int) and tail > 0:
            lines = lines[-tail:]
        return json_response(200, {"content": "\n".join(lines) + ("\n" if lines else "")})


def _check_endpoint_put(body: dict[str, Any]) -> None:
    """What the REST spec requires of an OnlineEndpoint PUT (azure-rest-api-specs, specification/
    machinelearningservices/resource-manager/Microsoft.MachineLearningServices/stable/2024-04-01/mfe.json:
    OnlineEndpointTrackedResource requires `properties`, TrackedResource `location`, OnlineEndpointProperties
    `authMode`). ARM's words for a missing location are LocationRequired's; the service's words for the other two are
    not published (unknown): they name the field."""
    if not body.get("location"):
        raise AzureError(400, "LocationRequired", "The location property is required for this definition.")
    props = body.get("properties")
    if not isinstance(props, dict):
        raise AzureError(400, "BadRequest", "The request is invalid: 'properties' is required for an online endpoint.")
    if not props.get("authMode"):
        raise AzureError(
            400, "BadRequest", "The request is invalid: 'properties.authMode' is required (Key, AMLToken or AADToken)."
        )


def _check_deployment_put(body: dict[str, Any]) -> None:
    """OnlineDeploymentProperties is polymorphic on `endpointComputeType` (Managed, Kubernetes), a required
    discriminator (same REST spec, OnlineDeploymentTrackedResource requires `properties` and `location`); a body
    without it cannot be read as either kind. The service's words are not published (unknown)."""
    props = body.get("properties")
    if not isinstance(props, dict):
        raise AzureError(
            400, "BadRequest", "The request is invalid: 'properties' is required for an online deployment."
        )
    kind = props.get("endpointComputeType")
    if kind not in ("Managed", "Kubernetes", "AzureMLCompute"):
        raise AzureError(
            400,
            "BadRequest",
            f"The request is invalid: 'properties.endpointComputeType' must be Managed or Kubernetes, not {kind!r}.",
        )


def _busy(kind: str, name: str, state: str) -> AzureError:
    return AzureError(
        409,
        "Conflict",
        f"The {kind} '{name}' is {state.lower()} ({state}); another operation is in progress. Wait for it to finish, "
        "then retry.",
    )


def _check_traffic(sandbox: Any, ep_id: str, traffic: dict[str, Any]) -> None:
    names = {d["name"].lower(): d for d in deployments_of(sandbox, ep_id)}
    for name, share in traffic.items():
        if name.lower() not in names:
            raise AzureError(
                400, "BadArgument", f"Traffic names deployment '{name}', which does not exist in this endpoint."
            )
        # Traffic values are int32 in the REST spec (OnlineEndpointProperties.traffic): JSON true is not one.
        if isinstance(share, bool) or not isinstance(share, int) or not 0 <= share <= 100:
            raise AzureError(
                400, "BadArgument", f"Traffic for deployment '{name}' must be a whole number from 0 to 100."
            )
    total = sum(traffic.values())
    if traffic and total not in (0, 100):
        raise AzureError(
            400, "BadArgument", f"Traffic values must add up to 100 (or all be 0); they add up to {total}."
        )


def _check_mirror(sandbox: Any, ep_id: str, traffic: dict[str, Any], mirror: dict[str, Any]) -> None:
    """Azure's rules for mirrored (shadow) traffic, from "Test the deployment with mirrored traffic" in
    https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints and the REST spec's
    OnlineEndpointProperties.mirrorTraffic ("Traffic values need to sum to utmost 50", api-version 2023-04-01):
    traffic to only one deployment, at most 50 %, and a deployment takes live or mirrored traffic, not both.
    The service's exact error texts are not documented: these messages say the documented rule."""
    shadows = {name: share for name, share in mirror.items() if share}
    names = {d["name"].lower() for d in deployments_of(sandbox, ep_id)}
    for name, share in mirror.items():
        if name.lower() not in names:
            raise AzureError(
                400, "BadArgument", f"Mirror traffic names deployment '{name}', which does not exist in this endpoint."
            )
        if isinstance(share, bool) or not isinstance(share, int) or not 0 <= share <= 100:
            raise AzureError(
                400, "BadArgument", f"Mirror traffic for deployment '{name}' must be a whole number from 0 to 100."
            )
    if len(shadows) > 1:
        raise AzureError(
            400,
            "BadArgument",
            f"Traffic can be mirrored to only one deployment in an endpoint; mirrorTraffic names {len(shadows)}: "
            f"{', '.join(sorted(shadows))}.",
        )
    if sum(shadows.values()) > 50:
        raise AzureError(
            400, "BadArgument", f"Mirror traffic values need to sum to at most 50; they sum to {sum(shadows.values())}."
        )
    live = {name.lower() for name, share in traffic.items() if share}
    for name in shadows:
        if name.lower() in live:
            raise AzureError(
                400,
                "BadArgument",
                f"Deployment '{name}' receives live traffic ({traffic.get(name)}%) and mirrored traffic; a deployment "
                "can receive only live traffic or mirrored traffic, not both.",
            )


def _resolve_assets(sandbox: Any, props: dict[str, Any]) -> None:
    """Model, code and environment ids must name registered versions (the SDK has created code and environment
    already)."""
    model = props.get("model")
    if model and ml.asset_by_id(sandbox, model) is None:
        raise _model_not_found(sandbox, model)
    code = (props.get("codeConfiguration") or {}).get("codeId")
    if code and ml.asset_by_id(sandbox, code) is None:
        raise AzureError(404, "ResourceNotFound", f"Code '{code}' was not found in the workspace.")
    env = props.get("environmentId")
    if not env:
        raise AzureError(400, "BadArgument", "The deployment has no environment: give environmentId.")
    if ml.asset_by_id(sandbox, env) is None:
        raise AzureError(404, "ResourceNotFound", f"Environment '{env}' was not found in the workspace.")


def _model_not_found(sandbox: Any, model_id: str) -> AzureError:
    """The deployment PUT's answer for a model version that is not registered, in the shape the service sends for a
    missing model (Azure/mlops-v2#76: "(UserError) The specified resource was not found." with details
    "(ModelNotFound) Model container with name: patient-model not found."). The words for an existing model lacking
    the version are not published (unknown): the sandbox says which version is missing and which exist."""
    match = re.search(
        r"(?P<ws>.+/workspaces/[^/]+)/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$",
        model_id.removeprefix("azureml:"),
        re.I,
    )
    if match is None:
        detail = f"Model '{model_id}' is not a model version id."
    else:
        versions = [v["version"] for v in ml.versions_of(sandbox, match["ws"], "models", match["name"])]
        if not versions:
            detail = f"Model container with name: {match['name']} not found."
        else:
            detail = (
                f"Model version {match['name']}:{match['version']} not found. "
                f"Versions registered: {', '.join(versions)}."
            )
    return AzureError(
        404,
        "UserError",
        "The specified resource was not found.",
        details=[{"code": "ModelNotFound", "message": detail}],
    )
