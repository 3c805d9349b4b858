"""ARM resources: subscriptions, resource groups, workspaces (with or without an ACR), datastores, registries' records.

State collections (shared with other sandbox modules; keys are lower-cased resource ids):
    subscriptions  {sub_id: {displayName, state, tenantId}}
    resource_groups {"/subscriptions/s/resourcegroups/rg": {id, name, location}}
    workspaces     {ws_id: {id, name, subscription, resource_group, location, workspace_guid, container_registry,
                    storage_container}}
    registries     {acr_id: {id, name, subscription, resource_group, location, login_server, sku, created}}
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from rdeploy_tui.sandbox.auth import TENANT_ID, sts_issuer
from rdeploy_tui.sandbox.blob import account_url_for_datastore
from rdeploy_tui.sandbox.errors import AzureError, not_found
from rdeploy_tui.sandbox.http import Request, Response, Router, azure_error, json_response
from rdeploy_tui.sandbox.settings import STORAGE_ENDPOINT

DEFAULT_SUBSCRIPTION = "5a4d1f3e-8f3b-4c1e-9d2a-000000000001"
DISABLED_SUBSCRIPTION = "5a4d1f3e-8f3b-4c1e-9d2a-000000000002"
DEFAULT_RESOURCE_GROUP = "rdeploy-sandbox-rg"
DEFAULT_WORKSPACE = "rdeploy-sandbox-ws"
NO_ACR_WORKSPACE = "rdeploy-noacr-ws"
DEFAULT_LOCATION = "westeurope"
DATASTORE = "workspaceblobstore"
_SANDBOX_DNS = "sandbox.rdeploy.invalid"  # host names the sandbox invents end here (RFC 2606: never resolvable)

SUB = r"/subscriptions/(?P<sub>[^/]+)"
RG = SUB + r"/resourceGroups/(?P<rg>[^/]+)"
WS = RG + r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"


def workspace_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{name}"


def registry_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}"


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1_000_000):06d}Z"


def system_data(created: float, modified: float | None = None) -> dict[str, str]:
    return {
        "createdAt": iso(created),
        "createdBy": "sandbox-user@example.com",
        "createdByType": "User",
        "lastModifiedAt": iso(modified or created),
        "lastModifiedBy": "sandbox-user@example.com",
        "lastModifiedByType": "User",
    }


# ----- create-on-first-use (the first start is seed.py) ------------------------------------------------


def ensure_subscription(sandbox: Any, sub: str, display_name: str, state: str = "Enabled") -> None:
    with sandbox.state.edit() as data:
        sandbox.state.collection(data, "subscriptions").setdefault(
            sub.lower(), {"subscriptionId": sub, "displayName": display_name, "state": state, "tenantId": TENANT_ID}
        )


def ensure_workspace(sandbox: Any, sub: str, rg: str, name: str, *, with_registry: bool) -> dict[str, Any]:
    ensure_subscription(sandbox, sub, "Sandbox subscription")
    ws_id = workspace_id(sub, rg, name)
    with sandbox.state.edit() as data:
        groups = sandbox.state.collection(data, "resource_groups")
        rg_key = f"/subscriptions/{sub}/resourcegroups/{rg}".lower()
        groups.setdefault(
            rg_key, {"id": f"/subscriptions/{sub}/resourceGroups/{rg}", "name": rg, "location": DEFAULT_LOCATION}
        )
        workspaces = sandbox.state.collection(data, "workspaces")
        existing = workspaces.get(ws_id.lower())
        if existing is not None:
            return dict(existing)
        guid = str(uuid.uuid4())
        acr = ""
        if with_registry:
            acr_name = ("acr" + name.replace("-", "").replace("_", "").lower())[:40] + guid[:8].replace("-", "")
            acr = registry_id(sub, rg, acr_name)
            sandbox.state.collection(data, "registries")[acr.lower()] = {
                "id": acr,
                "name": acr_name,
                "subscription": sub,
                "resource_group": rg,
                "location": DEFAULT_LOCATION,
                "login_server": f"{acr_name}.azurecr.io",
                "sku": "Basic",
                "created": time.time(),
            }
        doc = {
            "id": ws_id,
            "name": name,
            "subscription": sub,
            "resource_group": rg,
            "location": DEFAULT_LOCATION,
            "workspace_guid": guid,
            "container_registry": acr,
            "storage_container": f"azureml-blobstore-{guid}",
            "created": time.time(),
        }
        workspaces[ws_id.lower()] = doc
    sandbox.blobs.ensure_container(doc["storage_container"])
    return dict(doc)


def find_workspace(sandbox: Any, sub: str, rg: str, name: str) -> dict[str, Any]:
    with sandbox.state.view() as data:
        doc = data.get("workspaces", {}).get(workspace_id(sub, rg, name).lower())
    if doc is None:
        raise not_found("Microsoft.MachineLearningServices/workspaces", name, rg)
    return dict(doc)


def check_subscription(sandbox: Any, request: Request) -> None:
    """ARM's answers for unknown subscriptions, and for writes to a disabled one."""
    sub = request.path.split("/")[2]
    if sandbox.faults.take("no-subscriptions", f"{request.method} {request.path}") is not None:
        raise AzureError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
    with sandbox.state.view() as data:
        doc = data.get("subscriptions", {}).get(sub.lower())
    if doc is None:
        raise AzureError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
    if doc["state"] != "Enabled" and request.method in ("PUT", "POST", "DELETE", "PATCH"):
        raise AzureError(
            409,
            "ReadOnlyDisabledSubscription",
            f"The subscription '{sub}' is disabled and therefore marked as read only. "
            "You cannot perform any write actions on this subscription until it is re-enabled.",
        )


def check_token_tenant(sandbox: Any, request: Request, tenant: str) -> Response | None:
    """ARM refuses a token from another tenant than the subscription's: 401 InvalidAuthenticationTokenTenant, worded
    as ARM words it (Azure/azure-sdk-for-net#49391, Azure/pcs-cli#357, bradygaster-zz/azure-tools-vscode#44). Paths
    outside one subscription (GET /subscriptions) list the token's tenant's subscriptions and need no check."""
    parts = request.path.split("/")
    if len(parts) < 3 or not parts[2]:
        return None
    with sandbox.state.view() as data:
        doc = data.get("subscriptions", {}).get(parts[2].lower())
    expected = (doc or {}).get("tenantId") or TENANT_ID
    if tenant.lower() == expected.lower():
        return None
    message = (
        f"The access token is from the wrong issuer '{sts_issuer(tenant)}'. It must match the tenant "
        f"'{sts_issuer(expected)}' associated with this subscription. Please use the authority (URL) "
        f"'{sandbox.base_url}/{expected}' to get the token. Note, if the subscription is transferred to another "
        "tenant there is no impact to the services, but information about new tenant could take time to propagate "
        "(up to an hour). If you just transferred your subscription and see this error message, please try back later."
    )
    challenge = (
        f'Bearer authorization_uri="{sandbox.base_url}/{expected}", error="invalid_token", '
        f'error_description="{message}"'
    )
    return azure_error(401, "InvalidAuthenticationTokenTenant", message, {"WWW-Authenticate": challenge})


# ----- REST shapes ------------------------------------------------------------------------------------
def _subscription_body(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{doc['subscriptionId']}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": doc["subscriptionId"],
        "tenantId": doc["tenantId"],
        "displayName": doc["displayName"],
        "state": doc["state"],
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": doc.get("quotaId", "PayAsYouGo_2014-09-01"),
            "spendingLimit": "Off",
        },
    }


def workspace_body(sandbox: Any, doc: dict[str, Any]) -> dict[str, Any]:
    """The workspace as Azure ML answers GET (its fields as recorded in azure-sdk-for-python's online deployment
    recordings, api-version 2022-05-01, plus the later ones azure-ai-ml 1.35 reads)."""
    sub, rg, guid = doc["subscription"], doc["resource_group"], doc["workspace_guid"]
    short = guid.replace("-", "")[:12]
    group_id = f"/subscriptions/{sub}/resourceGroups/{rg}"
    return {
        "id": doc["id"],
        "name": doc["name"],
        "type": "Microsoft.MachineLearningServices/workspaces",
        "location": doc["location"],
        "kind": "Default",
        "tags": {},
        "sku": {"name": "Basic", "tier": "Basic"},
        "identity": {
            "type": "SystemAssigned",
            "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, doc["id"])),
            "tenantId": TENANT_ID,
        },
        "etag": None,
        "systemData": system_data(doc["created"]),
        "properties": {
            "friendlyName": doc["name"],
            "tenantId": TENANT_ID,
            "imageBuildCompute": None,
            "softDeleteEnabled": False,
            "linkedModelInventoryArmId": None,
            "privateLinkCount": 0,
            "sdkTelemetryAppInsightsKey": str(uuid.uuid5(uuid.NAMESPACE_URL, doc["id"] + "/telemetry")),
            "sasGetterUri": "",
            "description": "rdeploy-tui sandbox workspace",
            "workspaceId": guid,
            "provisioningState": "Succeeded",
            "storageAccount": f"{group_id}/providers/Microsoft.Storage/storageAccounts/sandboxstore",
            "keyVault": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/kv{short}",
            "applicationInsights": f"{group_id}/providers/Microsoft.insights/components/ai{short}",
            "containerRegistry": doc["container_registry"] or None,
            "discoveryUrl": f"{sandbox.base_url}/discovery",
            "mlFlowTrackingUri": f"azureml://{doc['location']}.api.azureml.ms/mlflow/v1.0{doc['id']}",
            "hbiWorkspace": False,
            "publicNetworkAccess": "Enabled",
            "v1LegacyMode": False,
            "creationTime": iso(doc["created"]),
            "storageHnsEnabled": False,
            "systemDatastoresAuthMode": "accesskey",
            "enableDataIsolation": False,
            # A workspace's notebook file share (the recorded GET has it; the sandbox serves no notebooks).
            "notebookInfo": {
                "resourceId": guid.replace("-", ""),
                "fqdn": f"ml-{doc['name']}-{doc['location']}-{guid}.{doc['location']}.notebooks.{_SANDBOX_DNS}",
                "isPrivateLinkEnabled": False,
                "notebookPreparationError": None,
            },
        },
    }


def datastore_body(sandbox: Any, doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"{doc['id']}/datastores/{DATASTORE}",
        "name": DATASTORE,
        "type": "Microsoft.MachineLearningServices/workspaces/datastores",
        "systemData": system_data(doc["created"]),
        "properties": {
            "datastoreType": "AzureBlob",
            "accountName": account_url_for_datastore(sandbox.base_url),
            "containerName": doc["storage_container"],
            "endpoint": STORAGE_ENDPOINT,
            "protocol": "https",
            "serviceDataAccessAuthIdentity": "WorkspaceSystemAssignedIdentity",
            # As Azure answers for the workspace's default blob store (recording test_online_deployment_skip_script_
            # validation): an account key, so clients sign blob requests with Shared Key (blob.py verifies them).
            "credentials": {"credentialsType": "AccountKey"},
            "isDefault": True,
            "description": None,
            "tags": {},
            "properties": {},
        },
    }


# ----- routes -----------------------------------------------------------------------------------------
def register(router: Router, sandbox: Any) -> None:
    @router.route("GET", r"/subscriptions")
    def list_subscriptions(request: Request) -> Response:
        with sandbox.state.view() as data:
            docs = list(data.get("subscriptions", {}).values())
        hiding = sandbox.faults.peek("no-subscriptions")  # the identity has no access to some or all of them
        if hiding is not None:
            hidden = [d for d in docs if hiding.matches(f"GET /subscriptions/{d['subscriptionId']}")]
            if (
                hidden
                and sandbox.faults.take("no-subscriptions", f"GET /subscriptions/{hidden[0]['subscriptionId']}")
                is not None
            ):
                docs = [d for d in docs if d not in hidden]
        subs = [_subscription_body(doc) for doc in docs]
        return json_response(200, {"value": subs, "count": {"type": "Total", "value": len(subs)}})

    @router.route("GET", SUB)
    def get_subscription(request: Request, sub: str) -> Response:
        with sandbox.state.view() as data:
            doc = data["subscriptions"][sub.lower()]  # check_subscription already 404'd unknown ones
        return json_response(200, _subscription_body(doc))

    @router.route("GET", SUB + r"/resourcegroups")
    def list_groups(request: Request, sub: str) -> Response:
        head = f"/subscriptions/{sub}/resourcegroups/".lower()
        with sandbox.state.view() as data:
            groups = [_group_body(doc) for key, doc in data.get("resource_groups", {}).items() if key.startswith(head)]
        return json_response(200, {"value": groups})

    @router.route("GET", RG)
    def get_group(request: Request, sub: str, rg: str) -> Response:
        with sandbox.state.view() as data:
            doc = data.get("resource_groups", {}).get(f"/subscriptions/{sub}/resourcegroups/{rg}".lower())
        if doc is None:
            raise AzureError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return json_response(200, _group_body(doc))

    @router.route("HEAD", RG)
    def group_exists(request: Request, sub: str, rg: str) -> Response:
        """ResourceGroups_CheckExistence (`az group exists`): 204 when it exists, 404 when not, no body
        (azure-rest-api-specs, specification/resources/resource-manager/Microsoft.Resources/stable/2024-03-01/
        resources.json)."""
        with sandbox.state.view() as data:
            known = f"/subscriptions/{sub}/resourcegroups/{rg}".lower() in data.get("resource_groups", {})
        return Response(204 if known else 404, b"", {})

    @router.route("GET", SUB + r"/providers")
    def list_providers(request: Request, sub: str) -> Response:
        """Providers_List: {"value": [Provider]} (resources.json)."""
        return json_response(200, {"value": [provider_body(sub, ns) for ns in PROVIDERS]})

    @router.route("GET", SUB + r"/providers/(?P<namespace>[^/]+)")
    def get_provider(request: Request, sub: str, namespace: str) -> Response:
        """Providers_Get: the namespace, its registration and its types with their api-versions (what `az resource
        show --ids` without --api-version reads to pick one). A namespace the sandbox does not serve: ARM's 404."""
        match = next((ns for ns in PROVIDERS if ns.lower() == namespace.lower()), None)
        if match is None:
            raise AzureError(
                404,
                "InvalidResourceNamespace",
                f"The resource namespace '{namespace}' is invalid.",
            )
        return json_response(200, provider_body(sub, match))

    @router.route("GET", RG + r"/providers/Microsoft\.MachineLearningServices/workspaces")
    def list_workspaces(request: Request, sub: str, rg: str) -> Response:
        head = f"/subscriptions/{sub}/resourcegroups/{rg}/".lower()
        with sandbox.state.view() as data:
            docs = [dict(doc) for key, doc in data.get("workspaces", {}).items() if key.startswith(head)]
        return json_response(200, {"value": [workspace_body(sandbox, doc) for doc in docs]})

    # MLClient.workspaces.list(scope="subscription"), which the wizard's workspace discovery uses.
    @router.route("GET", SUB + r"/providers/Microsoft\.MachineLearningServices/workspaces")
    def list_subscription_workspaces(request: Request, sub: str) -> Response:
        head = f"/subscriptions/{sub}/".lower()
        with sandbox.state.view() as data:
            docs = [dict(doc) for key, doc in data.get("workspaces", {}).items() if key.startswith(head)]
        return json_response(200, {"value": [workspace_body(sandbox, doc) for doc in docs]})

    @router.route("GET", WS)
    def get_workspace(request: Request, sub: str, rg: str, ws: str) -> Response:
        return json_response(200, workspace_body(sandbox, find_workspace(sandbox, sub, rg, ws)))

    @router.route("GET", WS + r"/datastores")
    def list_datastores(request: Request, sub: str, rg: str, ws: str) -> Response:
        return json_response(200, {"value": [datastore_body(sandbox, find_workspace(sandbox, sub, rg, ws))]})

    @router.route("GET", WS + r"/datastores/(?P<name>[^/]+)")
    def get_datastore(request: Request, sub: str, rg: str, ws: str, name: str) -> Response:
        doc = find_workspace(sandbox, sub, rg, ws)
        if name.lower() != DATASTORE:
            raise not_found("Microsoft.MachineLearningServices/workspaces/datastores", f"{ws}/{name}", rg)
        return json_response(200, datastore_body(sandbox, doc))

    @router.route("POST", WS + r"/datastores/(?P<name>[^/]+)/listSecrets")
    def datastore_secrets(request: Request, sub: str, rg: str, ws: str, name: str) -> Response:
        find_workspace(sandbox, sub, rg, ws)  # the workspace's 404 first
        if name.lower() != DATASTORE:
            raise not_found("Microsoft.MachineLearningServices/workspaces/datastores", f"{ws}/{name}", rg)
        # Datastores_ListSecrets (mfe.json): AccountKeyDatastoreSecrets {secretsType: AccountKey, key}, as recorded.
        # The body azure-ai-ml sends ({expirableSecret, expireAfterHours}) changes nothing for an account key.
        return json_response(200, {"secretsType": "AccountKey", "key": sandbox.blobs.account_key()})


# The providers the sandbox serves, with the types and api-versions it answers (a subset of Azure's: the published
# lists are in arm_front_door.py where the sandbox knows them; each type's newest version first, as ARM lists them).
PROVIDERS: dict[str, dict[str, list[str]]] = {
    "Microsoft.MachineLearningServices": {
        "workspaces": ["2025-09-01", "2024-10-01", "2024-04-01", "2023-04-01", "2022-05-01"],
        "workspaces/onlineEndpoints": ["2025-09-01", "2024-10-01", "2024-04-01", "2023-04-01", "2022-05-01"],
        "workspaces/onlineEndpoints/deployments": [
            "2025-09-01",
            "2024-10-01",
            "2024-04-01",
            "2023-04-01",
            "2022-05-01",
        ],
        "workspaces/models": ["2025-09-01", "2024-10-01", "2024-04-01", "2023-04-01", "2022-05-01"],
        "workspaces/codes": ["2025-09-01", "2024-10-01", "2024-04-01", "2023-04-01", "2022-05-01"],
        "workspaces/environments": ["2025-09-01", "2024-10-01", "2024-04-01", "2023-04-01", "2022-05-01"],
        "workspaces/datastores": ["2025-09-01", "2024-10-01", "2024-04-01", "2023-04-01", "2022-05-01"],
    },
    "Microsoft.ContainerRegistry": {
        "registries": ["2025-11-01", "2023-07-01", "2023-01-01-preview", "2019-05-01"],
        "registries/runs": ["2025-03-01-preview", "2019-06-01-preview", "2019-04-01"],
        "registries/tasks": ["2025-03-01-preview", "2019-06-01-preview", "2019-04-01"],
    },
}


def provider_body(sub: str, namespace: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub}/providers/{namespace}",
        "namespace": namespace,
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": [
            {"resourceType": name, "locations": ["West Europe"], "apiVersions": versions, "capabilities": "None"}
            for name, versions in PROVIDERS[namespace].items()
        ],
    }


def _group_body(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["id"],
        "name": doc["name"],
        "type": "Microsoft.Resources/resourceGroups",
        "location": doc["location"],
        "properties": {"provisioningState": "Succeeded"},
    }
