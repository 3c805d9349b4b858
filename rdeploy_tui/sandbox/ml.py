"""Workspace assets: models (with versions), code versions (with pending uploads), environments.

State collection `assets`: {"<ws_id>/<kind>/<name>/versions/<version>" (lower-cased): {kind, name, version,
workspace, properties, created, modified}} with kind in models / codes / environments.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from rdeploy_tui.sandbox.arm import DATASTORE, WS, find_workspace, system_data, workspace_id
from rdeploy_tui.sandbox.blob import DEFAULT_ACCOUNT
from rdeploy_tui.sandbox.errors import AzureError, not_found
from rdeploy_tui.sandbox.http import Request, Response, Router, json_response

SAMPLE_MODEL_NAME = "forecast-model"  # the default spec's model name, so `init` + --sandbox works as is
KINDS = ("models", "codes", "environments")
_NAME = r"(?P<name>[^/]+)"
_VERSION = r"(?P<version>[^/]+)"


def sample_model_files() -> dict[str, bytes]:
    """The sample crate shipped in assets/sample-model (registered as the folder `models/`)."""
    from rdeploy_tui.deploy_folder.sample_model import sample_crate_path

    return {"models/crate.bin": sample_crate_path().read_bytes()}


def ensure_sample_model(sandbox: Any, ws_id: str, name: str) -> dict[str, Any]:
    """Latest version of model `name`, registering the sample model as version 1 when it has none."""
    latest = _latest(sandbox, ws_id, "models", name)
    if latest is not None:
        return latest
    return register_model_files(
        sandbox,
        ws_id,
        name,
        "1",
        sample_model_files(),
        description="Sample R forecast model (a crate) registered by the sandbox",
    )


def register_model_files(
    sandbox: Any, ws_id: str, name: str, version: str, files: dict[str, bytes], *, description: str = ""
) -> dict[str, Any]:
    """Upload files to the workspace datastore and register them as a model version (a folder model)."""
    doc = _workspace_by_id(sandbox, ws_id)
    digest = hashlib.sha256(b"".join(hashlib.sha256(data).digest() for _, data in sorted(files.items()))).hexdigest()[
        :32
    ]
    top = sorted({path.split("/", 1)[0] for path in files})
    folder = top[0] if len(top) == 1 and all("/" in path for path in files) else ""
    prefix = f"LocalUpload/{digest}"
    for path, data in files.items():
        sandbox.blobs.put_blob(doc["storage_container"], f"{prefix}/{path}", data)
    target = f"{prefix}/{folder}" if folder else prefix
    uri = (
        f"azureml://subscriptions/{doc['subscription']}/resourcegroups/{doc['resource_group']}"
        f"/workspaces/{doc['name']}/datastores/{DATASTORE}/paths/{target}"
    )
    props = {
        "description": description,
        "tags": {},
        "properties": {},
        "isArchived": False,
        "isAnonymous": False,
        "modelUri": uri,
        "modelType": "custom_model",
        "flavors": {},
        "jobName": None,
    }
    return put_asset(sandbox, ws_id, "models", name, version, props)


# ----- asset store ------------------------------------------------------------------------------------
def _key(ws_id: str, kind: str, name: str, version: str) -> str:
    return f"{ws_id}/{kind}/{name}/versions/{version}".lower()


def put_asset(
    sandbox: Any, ws_id: str, kind: str, name: str, version: str, properties: dict[str, Any]
) -> dict[str, Any]:
    now = time.time()
    with sandbox.state.edit() as data:
        assets = sandbox.state.collection(data, "assets")
        key = _key(ws_id, kind, name, version)
        previous = assets.get(key)
        entry = {
            "kind": kind,
            "name": name,
            "version": version,
            "workspace": ws_id,
            "properties": properties,
            "created": previous["created"] if previous else now,
            "modified": now,
        }
        assets[key] = entry
        return dict(entry)


def get_asset(sandbox: Any, ws_id: str, kind: str, name: str, version: str) -> dict[str, Any] | None:
    with sandbox.state.view() as data:
        entry = data.get("assets", {}).get(_key(ws_id, kind, name, version))
        return None if entry is None else dict(entry)


def asset_by_id(sandbox: Any, resource_id: str) -> dict[str, Any] | None:
    """An asset version from its ARM id (with or without the `azureml:` prefix)."""
    resource_id = resource_id.removeprefix("azureml:")
    match = re.match(
        r"(?P<ws>.+/workspaces/[^/]+)/(?P<kind>models|codes|environments)/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$",
        resource_id,
        re.I,
    )
    if not match:
        return None
    return get_asset(sandbox, match["ws"], match["kind"].lower(), match["name"], match["version"])


def _versions(sandbox: Any, ws_id: str, kind: str, name: str | None = None) -> list[dict[str, Any]]:
    head = f"{ws_id}/{kind}/".lower()
    with sandbox.state.view() as data:
        entries = [dict(e) for k, e in data.get("assets", {}).items() if k.startswith(head)]
    if name is not None:
        entries = [e for e in entries if e["name"].lower() == name.lower()]
    return sorted(entries, key=lambda e: e["created"])


def versions_of(sandbox: Any, ws_id: str, kind: str, name: str) -> list[dict[str, Any]]:
    """The registered versions of asset `name`, oldest first."""
    return _versions(sandbox, ws_id, kind, name)


def _latest(sandbox: Any, ws_id: str, kind: str, name: str) -> dict[str, Any] | None:
    versions = _versions(sandbox, ws_id, kind, name)
    return versions[-1] if versions else None


def _workspace_by_id(sandbox: Any, ws_id: str) -> dict[str, Any]:
    parts = ws_id.split("/")
    return find_workspace(sandbox, parts[2], parts[4], parts[8])


_SERVER_DEFAULTS = {
    "models": {"flavors": {}, "tags": {}, "properties": {}, "isArchived": False, "isAnonymous": False, "jobName": None},
    "codes": {"tags": {}, "properties": {}, "isArchived": False},
    "environments": {"tags": {}, "properties": {}, "isArchived": False, "osType": "Linux"},
}


def version_body(entry: dict[str, Any]) -> dict[str, Any]:
    """A model/code/environment version as Azure ML answers its PUT and GET (recording
    test_online_deployment_skip_script_validation, models/.../versions/4): the properties sent, with nulls kept
    (description, jobName) and server defaults added; no provisioningState on model versions."""
    kind = entry["kind"]
    props = {**_SERVER_DEFAULTS.get(kind, {}), **entry["properties"]}
    props.setdefault("description", None)
    if kind != "models":
        props["provisioningState"] = "Succeeded"  # code and environment versions: not in the recordings read (unknown)
    return {
        "id": f"{entry['workspace']}/{kind}/{entry['name']}/versions/{entry['version']}",
        "name": entry["version"],
        "type": f"Microsoft.MachineLearningServices/workspaces/{kind}/versions",
        "systemData": system_data(entry["created"], entry["modified"]),
        "properties": props,
    }


def container_body(ws_id: str, kind: str, versions: list[dict[str, Any]]) -> dict[str, Any]:
    latest = versions[-1]
    numeric = [int(v["version"]) for v in versions if v["version"].isdigit()]
    props = latest["properties"]
    return {
        "id": f"{ws_id}/{kind}/{latest['name']}",
        "name": latest["name"],
        "type": f"Microsoft.MachineLearningServices/workspaces/{kind}",
        "systemData": system_data(versions[0]["created"], latest["modified"]),
        "properties": {
            "description": props.get("description"),
            "tags": props.get("tags") or {},
            "properties": {},
            "isArchived": False,
            "latestVersion": latest["version"],
            "nextVersion": str(max(numeric, default=0) + 1),
            "provisioningState": "Succeeded",
        },
    }


# ----- files of an asset, for hosting -----------------------------------------------------------------
def model_files(sandbox: Any, entry: dict[str, Any]) -> dict[str, bytes]:
    """The model's files keyed by their path below the model mount (the registered folder's name first)."""
    uri = entry["properties"].get("modelUri") or ""
    match = re.match(
        r"azureml://subscriptions/([^/]+)/resource[gG]roups/([^/]+)/workspaces/([^/]+)/datastores/[^/]+/paths/(.+)", uri
    )
    if not match:
        raise AzureError(400, "BadArgument", f"The sandbox cannot read model files from {uri!r}.")
    doc = find_workspace(sandbox, match[1], match[2], match[3])
    path = match[4].rstrip("/")
    base = path.rsplit("/", 1)[0] if "/" in path else ""
    names = [
        n for n in sandbox.blobs.list_blobs(doc["storage_container"], path) if n == path or n.startswith(path + "/")
    ]
    return {n[len(base) :].lstrip("/"): sandbox.blobs.read(doc["storage_container"], n) for n in names}


def code_files(sandbox: Any, entry: dict[str, Any]) -> dict[str, bytes]:
    """A code version's files relative to its folder (codeUri points at blob storage on the sandbox)."""
    uri = entry["properties"].get("codeUri") or ""
    parts = unquote(urlsplit(uri).path).strip("/").split("/", 2)
    if len(parts) < 2:
        raise AzureError(400, "BadArgument", f"The code version's codeUri {uri!r} does not point at sandbox storage.")
    container, prefix = parts[1], (parts[2] if len(parts) > 2 else "")
    account = parts[0].split(".blob.", 1)[0]
    names = [
        n
        for n in sandbox.blobs.list_blobs(container, prefix, account=account)
        if not prefix or n == prefix or n.startswith(prefix.rstrip("/") + "/")
    ]
    files = {}
    for name in names:
        relative = name[len(prefix) :].lstrip("/") if prefix and name != prefix else Path(name).name
        files[relative] = sandbox.blobs.read(container, name, account=account)
    return files


# ----- routes -----------------------------------------------------------------------------------------
def register(router: Router, sandbox: Any) -> None:
    kinds = "(?P<kind>models|codes|environments)"

    def ws_of(sub: str, rg: str, ws: str) -> str:
        find_workspace(sandbox, sub, rg, ws)
        return workspace_id(sub, rg, ws)

    @router.route("GET", WS + "/" + kinds)
    def list_containers(request: Request, sub: str, rg: str, ws: str, kind: str) -> Response:
        ws_id = ws_of(sub, rg, ws)
        kind = kind.lower()
        by_name: dict[str, list[dict[str, Any]]] = {}
        for entry in _versions(sandbox, ws_id, kind):
            if entry["properties"].get("isAnonymous") and request.param("listViewType") != "All":
                continue
            by_name.setdefault(entry["name"].lower(), []).append(entry)
        return json_response(200, {"value": [container_body(ws_id, kind, v) for v in by_name.values()]})

    @router.route("GET", WS + "/" + kinds + "/" + _NAME)
    def get_container(request: Request, sub: str, rg: str, ws: str, kind: str, name: str) -> Response:
        ws_id = ws_of(sub, rg, ws)
        versions = _versions(sandbox, ws_id, kind.lower(), name)
        if not versions:
            raise not_found(f"Microsoft.MachineLearningServices/workspaces/{kind}", f"{ws}/{name}", rg)
        return json_response(200, container_body(ws_id, kind.lower(), versions))

    @router.route("PUT", WS + "/" + kinds + "/" + _NAME)
    def put_container(request: Request, sub: str, rg: str, ws: str, kind: str, name: str) -> Response:
        ws_id = ws_of(sub, rg, ws)
        props = request.json().get("properties", {})
        now = time.time()
        return json_response(
            200,
            {
                "id": f"{ws_id}/{kind}/{name}",
                "name": name,
                "type": f"Microsoft.MachineLearningServices/workspaces/{kind}",
                "systemData": system_data(now),
                "properties": {**props, "provisioningState": "Succeeded"},
            },
        )

    @router.route("GET", WS + "/" + kinds + "/" + _NAME + "/versions")
    def list_versions(request: Request, sub: str, rg: str, ws: str, kind: str, name: str) -> Response:
        versions = _versions(sandbox, ws_of(sub, rg, ws), kind.lower(), name)
        wanted_hash = request.param("hash")
        if wanted_hash:
            versions = [v for v in versions if v["properties"].get("contentHash") == wanted_hash]
        if request.param("version"):
            versions = [v for v in versions if v["version"] == request.param("version")]
        if "desc" in (request.param("$orderBy") or "").lower():
            versions.reverse()
        top = request.param("$top")
        if top and top.isdigit():
            versions = versions[: int(top)]
        return json_response(200, {"value": [version_body(v) for v in versions]})

    @router.route("GET", WS + "/" + kinds + "/" + _NAME + "/versions/" + _VERSION)
    def get_version(request: Request, sub: str, rg: str, ws: str, kind: str, name: str, version: str) -> Response:
        entry = get_asset(sandbox, ws_of(sub, rg, ws), kind.lower(), name, version)
        if entry is None:
            raise not_found(
                f"Microsoft.MachineLearningServices/workspaces/{kind}/versions", f"{ws}/{name}/{version}", rg
            )
        return json_response(200, version_body(entry))

    @router.route("PUT", WS + "/" + kinds + "/" + _NAME + "/versions/" + _VERSION)
    def put_version(request: Request, sub: str, rg: str, ws: str, kind: str, name: str, version: str) -> Response:
        ws_id = ws_of(sub, rg, ws)
        props = dict(request.json().get("properties") or {})
        props.pop("provisioningState", None)
        existing = get_asset(sandbox, ws_id, kind.lower(), name, version)
        if (
            existing is not None
            and kind.lower() == "models"
            and existing["properties"].get("modelUri") != props.get("modelUri")
        ):
            raise AzureError(
                409,
                "UserError",
                f"A model version {name}:{version} already exists with different content; use a new version.",
            )
        if kind.lower() == "codes" and props.get("codeUri") and "contentHash" not in props:
            props["contentHash"] = _content_hash(request)
        entry = put_asset(sandbox, ws_id, kind.lower(), name, version, props)
        # A new version: 201 with Location, the version's own URL (recording: models/test-model/versions/4).
        headers = (
            {} if existing else {"Location": f"{sandbox.base_url}{request.path}?api-version={request.api_version}"}
        )
        return json_response(200 if existing else 201, version_body(entry), headers)

    @router.route("DELETE", WS + "/" + kinds + "/" + _NAME + "/versions/" + _VERSION)
    def delete_version(request: Request, sub: str, rg: str, ws: str, kind: str, name: str, version: str) -> Response:
        """ModelVersions_Delete / CodeVersions_Delete / EnvironmentVersions_Delete (mfe.json): 200, or 204 when there
        is no such version (ARM's rule for deletes). A version a deployment uses is refused: 409 (words unknown)."""
        ws_id = ws_of(sub, rg, ws)
        key = _key(ws_id, kind.lower(), name, version)
        resource_id = f"{ws_id}/{kind.lower()}/{name}/versions/{version}".lower()
        with sandbox.state.edit() as data:
            if key not in data.get("assets", {}):
                return Response(204, b"", {})
            for dep in data.get("deployments", {}).values():
                props = dep.get("properties") or {}
                used = [
                    props.get("model"),
                    props.get("environmentId"),
                    (props.get("codeConfiguration") or {}).get("codeId"),
                ]
                if resource_id in [str(u or "").removeprefix("azureml:").lower() for u in used]:
                    raise AzureError(
                        409,
                        "Conflict",
                        f"{kind[:-1].capitalize()} version {name}:{version} is used by deployment {dep['name']}.",
                    )
            del data["assets"][key]
        return Response(200, b"", {})

    @router.route("POST", WS + "/codes/" + _NAME + "/versions/" + _VERSION + "/startPendingUpload")
    def start_pending_upload(request: Request, sub: str, rg: str, ws: str, name: str, version: str) -> Response:
        find_workspace(sandbox, sub, rg, ws)
        # Each pending upload gets its own container, so two code folders with the same name never overwrite each other.
        container = str(uuid.uuid4())
        sandbox.blobs.ensure_container(container)
        sas = sandbox.blobs.sas_url(container, permissions="racwl", expiry_s=3600)
        return json_response(
            200,
            {
                "blobReferenceForConsumption": {
                    "blobUri": f"{sandbox.base_url}/{DEFAULT_ACCOUNT}/{container}",
                    "storageAccountArmId": (
                        f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/"
                        f"{DEFAULT_ACCOUNT}"
                    ),
                    "credential": {"credentialType": "SAS", "sasUri": sas},
                },
                "pendingUploadId": str(uuid.uuid4()),
                "pendingUploadType": "TemporaryBlobReference",
            },
        )


def _content_hash(request: Request) -> str | None:
    """The hash the SDK looks code up by (sent as a query parameter on GET, kept in properties on PUT)."""
    return request.json().get("properties", {}).get("properties", {}).get("hash") or None
