"""Helpers shared by the sandbox tests (imported by name: the tests folder is not a package)."""

from __future__ import annotations

import itertools
import os
import uuid
from pathlib import Path

_counter = itertools.count()


def unique_name(prefix: str) -> str:
    """Endpoint names are unique per region and tests share one sandbox: give each test its own."""
    return f"{prefix}-{os.getpid() % 1000}-{next(_counter)}-{uuid.uuid4().hex[:4]}"


def make_deployment(
    name: str,
    endpoint: str,
    image: str,
    code: Path,
    *,
    model: str = "forecast-model:1",
    instance_count: int = 1,
    instance_type: str = "Standard_DS3_v2",
):
    """A fresh ManagedOnlineDeployment (the SDK mutates the one it is given)."""
    from azure.ai.ml.entities import CodeConfiguration, Environment, ManagedOnlineDeployment

    routes = {"port": 8000}
    environment = Environment(
        image=image,
        inference_config={
            "liveness_route": {**routes, "path": "/live"},
            "readiness_route": {**routes, "path": "/ready"},
            "scoring_route": {**routes, "path": "/score"},
        },
    )
    return ManagedOnlineDeployment(
        name=name,
        endpoint_name=endpoint,
        model=model,
        environment=environment,
        code_configuration=CodeConfiguration(code=str(code), scoring_script="plumber.R"),
        instance_type=instance_type,
        instance_count=instance_count,
    )


def create_endpoint(ml_client, name: str, auth_mode: str = "key"):
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    return ml_client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name=name, auth_mode=auth_mode)
    ).result()


def context_archive(files: dict[str, bytes]) -> bytes:
    """A docker-context tar.gz packed as `az acr build` packs one (names relative to the context root)."""
    import io
    import tarfile
    import time

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def acr_run(sandbox, files: dict[str, bytes], request_for, timeout_s: float = 60.0):
    """Upload a context and schedule a run as az acr build / az acr run do (azure-mgmt-containerregistrytasks and
    azure-storage-blob), then wait for it to end; `request_for(relative_path)` makes the run request.
    Returns (run, log text)."""
    import time

    from azure.mgmt.containerregistrytasks import ContainerRegistryTasksMgmtClient
    from azure.storage.blob import BlobClient

    settings = sandbox.client_settings()
    tasks = ContainerRegistryTasksMgmtClient(settings.credential(), settings.subscription_id, **settings.mgmt_kwargs())
    with sandbox.state.view() as data:
        ws = next(w for w in data["workspaces"].values() if w["name"] == settings.workspace_name)
    group, registry = settings.resource_group, ws["container_registry"].rsplit("/", 1)[1]
    upload = tasks.registries.get_build_source_upload_url(group, registry)
    blob = BlobClient.from_blob_url(upload.upload_url, connection_verify=settings.ca_bundle)
    blob.upload_blob(context_archive(files), blob_type="BlockBlob", overwrite=True)
    queued = tasks.registries.schedule_run(group, registry, request_for(upload.relative_path))
    deadline = time.monotonic() + timeout_s  # a bound for a hung sandbox, not the synchronisation
    while True:
        run = tasks.runs.get(group, registry, queued.run_id)
        if run.properties.status in ("Succeeded", "Failed", "Canceled", "Error", "Timeout"):
            break
        assert time.monotonic() < deadline, f"run {queued.run_id} never ended"
        time.sleep(0.05)
    link = tasks.runs.get_log_sas_url(group, registry, queued.run_id).log_link
    log = BlobClient.from_blob_url(link, connection_verify=settings.ca_bundle).download_blob().readall()
    return run, log.decode("utf-8")


def acr_build(sandbox, files: dict[str, bytes], image: str, timeout_s: float = 60.0):
    """`az acr build -t IMAGE` of a docker context: (run, log text)."""
    from azure.mgmt.containerregistrytasks.models import DockerBuildRequest, PlatformProperties

    return acr_run(
        sandbox,
        files,
        lambda location: DockerBuildRequest(
            source_location=location,
            docker_file_path="Dockerfile",
            image_names=[image],
            is_push_enabled=True,
            platform=PlatformProperties(os="Linux", architecture="amd64"),
        ),
        timeout_s,
    )
