"""Online endpoints read and deleted over plain ARM REST (arm_rest.py): `endpoints list/show/logs/score/delete`
without importing azure.ai.ml (~1.5 s of a ~1.8 s command).

RestEndpoints is a drop-in Endpoints: the reads, the keys and the delete go over REST; creating, updating and
traffic are inherited and still use azure-ai-ml (imported on first use). The documents are read into the same
EndpointInfo / DeploymentInfo the azure-ai-ml path makes from its entities (online.py), field for field:
tests/sandbox/test_rest_online.py runs both paths on the sandbox and compares requests and results.
"""

from __future__ import annotations

import builtins
import re
import threading
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from rdeploy_tui.azure import arm_rest
from rdeploy_tui.azure.clients import AzureConnection
from rdeploy_tui.azure.errors import azure_call
from rdeploy_tui.azure.online import (
    ENVIRONMENT_ID,
    ENVIRONMENT_IMAGES,
    LOG_CONTAINERS,
    DeploymentInfo,
    EndpointInfo,
    Endpoints,
    ProgressSink,
)
from rdeploy_tui.errors import RdeployError

# azure-ai-ml shows REST auth modes in its YAML spelling (OnlineEndpoint._rest_auth_mode_to_yaml_auth_mode).
_AUTH_MODES = {"key": "key", "amltoken": "aml_token", "aadtoken": "aad_token"}
# getLogs names the containers in PascalCase (azure-ai-ml's EndpointDeploymentLogContainerType *_REST).
_LOG_CONTAINER_REST = {"inference-server": "InferenceServer", "storage-initializer": "StorageInitializer"}
# Tokens for aad_token endpoints are for Azure ML's own resource, in every cloud
# (azure-ai-ml: AAD_TOKEN_RESOURCE_ENDPOINT).
_AAD_TOKEN_SCOPE = "https://ml.azure.com/.default"
_FRACTION = re.compile(r"\.(\d+)")


def _created_at(value: str | None) -> str | None:
    """systemData.createdAt as azure-ai-ml shows it: parsed (fractions cut to microseconds), then
    strftime("%Y-%m-%dT%H:%M:%S.%f%z")."""
    if not value:
        return None
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value.replace("Z", "+00:00"), count=1)
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return value


def deployment_info(doc: dict[str, Any]) -> DeploymentInfo:
    """An online deployment's REST document, as online._deployment_info reads azure-ai-ml's OnlineDeployment."""
    props = doc.get("properties") or {}
    sku = doc.get("sku")
    return DeploymentInfo(
        name=doc.get("name") or "",
        state=str(props.get("provisioningState") or "Unknown"),
        instance_type=props.get("instanceType"),
        instance_count=sku.get("capacity") if sku else None,
        image=props.get("environmentId"),  # an ARM environment id once deployed: Endpoints.show reads its image
        model=props.get("model"),
    )


def endpoint_info(doc: dict[str, Any], deployments: list[DeploymentInfo] | None = None) -> EndpointInfo:
    """An online endpoint's REST document, as online._endpoint_info reads azure-ai-ml's OnlineEndpoint.
    With `deployments` (a get): those without traffic or mirror traffic show 0 %, as online_endpoints.get does."""
    props = doc.get("properties") or {}
    traffic = {k: int(v) for k, v in (props.get("traffic") or {}).items()}
    mirror = props.get("mirrorTraffic") or {}
    for d in deployments or []:
        if not traffic.get(d.name) and not mirror.get(d.name):
            traffic[d.name] = 0
    mode = str(props.get("authMode") or "")
    created = (props.get("properties") or {}).get("createdAt") or _created_at(
        (doc.get("systemData") or {}).get("createdAt")
    )
    return EndpointInfo(
        name=doc.get("name") or "",
        state=str(props.get("provisioningState") or "Unknown"),
        auth_mode=_AUTH_MODES.get(mode.lower(), mode),
        scoring_uri=props.get("scoringUri"),
        traffic=traffic,
        location=doc.get("location"),
        deployments=tuple(deployments or ()),
        created_at=created,
        tags=dict(doc.get("tags") or {}),
    )


class RestEndpoints(Endpoints):
    """Endpoints whose reads, keys and delete need no azure.ai.ml (same results, same errors)."""

    @property
    def _session(self) -> AzureConnection:
        return self.ws.connection

    def _rest_path(self, endpoint: str | None = None, *rest: str) -> str:
        path = (
            arm_rest.workspace_path(self.ws.subscription_id, self.ws.resource_group, self.ws.name) + "/onlineEndpoints"
        )
        for part in (endpoint, *rest) if endpoint is not None else ():
            path += "/" + quote(part, safe="")
        return path

    # ----- reading -----
    def list(self) -> list[EndpointInfo]:
        with azure_call("listing online endpoints"):
            docs = list(arm_rest.pages(self._session, self._rest_path(), "endpoint"))
        return sorted((endpoint_info(d) for d in docs), key=lambda e: e.name.lower())

    def find(self, name: str, *, images: bool = False) -> EndpointInfo | None:
        from azure.core.exceptions import ResourceNotFoundError

        with azure_call(f"reading endpoint {name}"):
            try:
                doc = self._read(name)
            except ResourceNotFoundError:
                return None
            deployments = [
                deployment_info(d)
                for d in arm_rest.pages(self._session, self._rest_path(name, "deployments"), "deployment")
            ]
        info = endpoint_info(doc, deployments)
        if images:
            info = replace(info, deployments=tuple(replace(d, image=self._image_of(d.image)) for d in info.deployments))
        return info

    def _read(self, name: str) -> dict[str, Any]:
        return arm_rest.get(self._session, self._rest_path(name), "endpoint")

    def _image_of(self, environment: str | None) -> str | None:
        match = ENVIRONMENT_ID.search(environment) if environment else None
        if environment is None or match is None:
            return environment
        if environment not in ENVIRONMENT_IMAGES:
            path = (
                arm_rest.workspace_path(self.ws.subscription_id, self.ws.resource_group, self.ws.name)
                + f"/environments/{quote(match['name'], safe='')}/versions/{quote(match['version'], safe='')}"
            )
            try:
                with azure_call(f"reading environment {match['name']}"):
                    doc = arm_rest.call(self._session, "GET", path, "environment")
            except RdeployError:
                return environment
            image = ((doc or {}).get("properties") or {}).get("image")
            if not image:  # built from a conda file or a build context, not an image
                return environment
            ENVIRONMENT_IMAGES[environment] = image
        return ENVIRONMENT_IMAGES[environment]

    def find_deployment(self, endpoint: str, name: str) -> DeploymentInfo | None:
        from azure.core.exceptions import ResourceNotFoundError

        with azure_call(f"reading deployment {name}"):
            try:
                return deployment_info(
                    arm_rest.get(self._session, self._rest_path(endpoint, "deployments", name), "deployment")
                )
            except ResourceNotFoundError:
                return None

    def logs(
        self, endpoint: str, deployment: str, container: str = "inference-server", lines: int = 200
    ) -> builtins.list[str]:
        if container not in LOG_CONTAINERS:
            raise RdeployError(
                f"Unknown log container {container!r}.", f"Use one of {', '.join(LOG_CONTAINERS)}.", code="Usage"
            )
        body = {"containerType": _LOG_CONTAINER_REST[container], "tail": lines}
        with azure_call(f"reading the {container} log of {endpoint}/{deployment}"):
            doc = arm_rest.call(
                self._session,
                "POST",
                self._rest_path(endpoint, "deployments", deployment, "getLogs"),
                "deployment",
                body,
            )
        return str((doc or {}).get("content") or "").splitlines()

    # ----- delete -----
    def delete(
        self, name: str, *, on_progress: ProgressSink = lambda t: None, cancel: threading.Event | None = None
    ) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        cancel = cancel or threading.Event()
        self.require(name)  # ARM answers a DELETE of a missing endpoint with 204: check first, as Endpoints.delete does
        with azure_call(f"deleting endpoint {name}"):
            try:
                poller = arm_rest.begin(self._session, "DELETE", self._rest_path(name), "endpoint")
            except ResourceNotFoundError:
                raise self.missing(name) from None
        self.wait_for_endpoint_delete(poller, name, on_progress, cancel)

    # ----- keys -----
    def auth_header(self, name: str) -> str:
        """As online_endpoints.get_keys: listKeys for key auth, the workspace's token for aml_token, an Entra
        token for Azure ML for aad_token. Never log it."""
        with azure_call(f"getting the keys of endpoint {name}"):
            doc = arm_rest.get(self._session, self._rest_path(name), "endpoint")
            mode = str((doc.get("properties") or {}).get("authMode") or "").lower()
            if mode == "key":
                secret = (
                    arm_rest.call(self._session, "POST", self._rest_path(name, "listKeys"), "endpoint") or {}
                ).get("primaryKey")
            elif mode == "aadtoken":
                secret = self._session.credential.get_token(_AAD_TOKEN_SCOPE).token
            else:
                secret = (arm_rest.call(self._session, "POST", self._rest_path(name, "token"), "endpoint") or {}).get(
                    "accessToken"
                )
        if not secret:
            raise RdeployError(
                f"Endpoint {name} returned no key or token.",
                "Check that you may list its keys (AzureML Data Scientist).",
                code="NoKey",
            )
        return f"Bearer {secret}"
