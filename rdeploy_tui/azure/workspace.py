"""One Azure ML workspace: its container registry and its registered models."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rdeploy_tui.azure.clients import AzureConnection
from rdeploy_tui.azure.discovery import WorkspaceInfo, get_workspace, resource_id_pattern
from rdeploy_tui.azure.errors import azure_call
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.locations import model_cache

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

_REGISTRY_ID = resource_id_pattern("Microsoft.ContainerRegistry/registries")


@dataclass(frozen=True)
class Registry:
    subscription_id: str
    resource_group: str
    name: str
    login_server: str  # e.g. myacr.azurecr.io
    id: str


@dataclass(frozen=True)
class ModelInfo:
    name: str
    latest_version: str | None
    description: str | None = None


class Workspace:
    """A workspace bound to a AzureConnection: everything below it (registry, models, endpoints) goes through here."""

    def __init__(self, connection: AzureConnection, info: WorkspaceInfo) -> None:
        self.connection = connection
        self.info = info
        self._registry: Registry | None = None

    @classmethod
    def open(
        cls, connection: AzureConnection, subscription_id: str, resource_group: str, name: str, *, light: bool = False
    ) -> Workspace:
        """Read the workspace (raises RdeployError: not found, no permission, not signed in ...).
        light: over plain ARM REST (arm_rest.py), without importing azure.ai.ml (the day-2 commands)."""
        if light:
            from rdeploy_tui.azure import arm_rest

            return cls(connection, arm_rest.get_workspace(connection, subscription_id, resource_group, name))
        return cls(connection, get_workspace(connection, subscription_id, resource_group, name))

    @property
    def subscription_id(self) -> str:
        return self.info.subscription_id

    @property
    def resource_group(self) -> str:
        return self.info.resource_group

    @property
    def name(self) -> str:
        return self.info.name

    def ml_client(self) -> MLClient:
        return self.connection.ml_client(self.subscription_id, self.resource_group, self.name)

    # ----- container registry -----
    def registry(self) -> Registry:
        """The workspace's ACR. Raises RdeployError(code="NoRegistry") with how to get one."""
        if self._registry is not None:
            return self._registry
        registry_id = self.info.container_registry
        match = _REGISTRY_ID.search(registry_id or "")
        if not match:
            raise RdeployError(
                f"Workspace {self.name} has no container registry yet (Azure creates one with the first custom "
                "environment build).",
                f"Create one and attach it: `az acr create -g {self.resource_group} -n NAME --sku Basic`, then "
                f"`az ml workspace update -g {self.resource_group} -n {self.name} --container-registry "
                f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers/Microsoft.ContainerRegistry/registries/NAME`.",
                code="NoRegistry",
            )
        with azure_call(f"reading container registry {match['name']}"):
            acr = self.connection.registry_client(match["sub"]).registries.get(match["rg"], match["name"])
        self._registry = Registry(
            match["sub"], match["rg"], acr.name or match["name"], acr.login_server, acr.id or registry_id or ""
        )
        return self._registry

    # ----- models -----
    def list_models(self) -> list[ModelInfo]:
        """Registered models (active), by name, each with its latest version."""
        with azure_call("listing registered models"):
            models = list(self.ml_client().models.list())
        return sorted(
            (
                ModelInfo(
                    m.name,
                    str(m.latest_version) if getattr(m, "latest_version", None) else None,
                    getattr(m, "description", None),
                )
                for m in models
            ),
            key=lambda m: m.name.lower(),
        )

    def list_model_versions(self, name: str) -> list[str]:
        """Versions of one model, newest first."""
        with azure_call(f"listing versions of model {name}"):
            versions = [str(m.version) for m in self.ml_client().models.list(name=name)]
        return sorted(versions, key=_version_key, reverse=True)

    def resolve_model_version(self, name: str, version: str) -> str:
        """ "latest" -> the number it stands for today; a given version is checked to exist."""
        doing = f"looking up model {name}" + ("" if version == "latest" else f" version {version}")
        with azure_call(doing):
            client = self.ml_client()
            try:
                model = (
                    client.models.get(name, label="latest")
                    if version == "latest"
                    else client.models.get(name, version=version)
                )
            except Exception as exc:
                from azure.core.exceptions import ResourceNotFoundError

                if isinstance(exc, ResourceNotFoundError):
                    raise RdeployError(
                        f"Model {name}"
                        + ("" if version == "latest" else f" version {version}")
                        + f" is not registered in workspace {self.name}.",
                        "Register it first (for example `az ml model create -n NAME -v 1 -p crate.bin`) or pick "
                        "another model.",
                        code="ModelNotFound",
                    ) from None
                raise
        return str(model.version)

    def download_model(self, name: str, version: str) -> Path:
        """The files of model `name` version `version` (a number), as `az ml model download` fetches them, in this
        user's cache folder. A registered version's files never change, so a complete earlier download is reused."""
        folder = model_cache(self.subscription_id, self.resource_group, self.name, name, version)
        if folder.is_dir():
            return folder
        folder.parent.mkdir(parents=True, exist_ok=True)
        # Into a fresh folder beside it, renamed when complete: an interrupted download is never taken for a model.
        partial = Path(tempfile.mkdtemp(prefix=f".{_safe(version)}-", dir=folder.parent))
        try:
            with azure_call(f"downloading model {name} version {version}"):
                self.ml_client().models.download(name, version, download_path=str(partial))
            try:
                partial.rename(folder)
            except OSError:
                if not folder.is_dir():  # else another run finished the same download first: use that one
                    raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return folder

    def register_model(self, folder: Path | str, name: str, *, description: str | None = None) -> ModelInfo:
        """Register a local folder (holding crate.bin) as the next version of model `name` (1 for a new one),
        as `az ml model create --type custom_model --path FOLDER` does."""
        from azure.ai.ml.entities import Model
        from azure.core.exceptions import ResourceNotFoundError

        with azure_call(f"registering model {name}"):
            client = self.ml_client()
            try:
                versions = [str(m.version) for m in client.models.list(name=name)]
            except ResourceNotFoundError:
                versions = []
            numbers = [int(v) for v in versions if v.isdigit()]
            version = str(max(numbers) + 1 if numbers else 1)
            model = client.models.create_or_update(
                Model(name=name, version=version, path=str(folder), type="custom_model", description=description)
            )
        return ModelInfo(model.name, str(model.version), getattr(model, "description", None))


def _safe(part: str) -> str:
    """A name as one folder name (Azure's names are already safe; this keeps a stray / or .. out of the path)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", part).lstrip(".") or "_"


def _version_key(version: str) -> tuple[int, int | str]:
    return (0, int(version)) if version.isdigit() else (-1, version)
