"""The sandbox: an HTTPS simulation of the Azure services rdeploy-tui uses, driven by the real SDK clients.

    from rdeploy_tui.sandbox import Sandbox
    with Sandbox(state_dir, time_scale=0.003) as sandbox:      # .start() / .stop() also work
        settings = sandbox.client_settings()                   # base_url, ca_bundle, cloud_metadata, ...
        ml_client = settings.ml_client()                       # azure.ai.ml.MLClient on the sandbox

Modules: server (Sandbox, request handling, faults at the door), http (Request/Response/Router), state
(SandboxStateFile), errors (AzureError: Azure's error bodies), seed (a first start), durations (how long Azure takes,
scaled), auth + signing_key (JWTs, keys, SAS), blob (storage) + shared_key (Storage's Shared Key signatures), images
(image registry), arm_front_door (what ARM answers before a provider: api-versions, unknown paths), arm
(subscriptions, workspaces, datastores), arm_resources (ARM's listings), ml (models, codes, environments), online
(endpoints, deployments, LROs), hosting (deployments' containers as real processes) + container (what an image runs by
Docker's ENTRYPOINT/CMD rules, its own network namespace) + host_r (this machine's R and its packages), scoring (the
scoring URI), metrics (Azure Monitor's metrics from what really runs), autoscale (autoscale settings, the engine that
scales the real processes, the activity log), usages (Azure ML's quota usages), prices (the Retail Prices API), faults,
settings (ClientSettings), tls.
login: the sandbox as a custom cloud (ARM's /metadata/endpoints, an Entra token endpoint for the test service
principal in sandbox.service_principal, printed by `rdeploy-tui sandbox`); compute_instance (a compute instance's
managed identity endpoint and terminal variables).
acr (ACR Tasks runs, importImage) + acr_registry (the Registry resource per api-version, credentials, usages, name
checks, tasks list) + build (a quick build's plan and log) + task_run (`az acr run -f`: ACR Tasks YAML) + dockerfile +
cran + sysreqs; registry (the registries' data plane).

API for other sandbox modules (e.g. acr.py), all on the Sandbox passed to `register(router, sandbox)`:
- sandbox.state: SandboxStateFile. `with sandbox.state.view() as data:` reads, `with sandbox.state.edit() as data:`
  changes and saves atomically. Collections are plain dicts inside `data`, e.g.
  `sandbox.state.collection(data, "acr_runs")`. Keep values JSON-serialisable.
  Registries created with workspaces are in data["registries"]: {acr_id.lower(): {id, name, subscription,
  resource_group, location, login_server, sku, created}}.
- sandbox.blobs: BlobStore (see blob.py): put_blob(container, name, data, metadata=None, content_type=None),
  create_append_blob(container, name, metadata=None), append_block(container, name, data) -> size,
  set_metadata(container, name, metadata), read(container, name, start=0, end=None) -> bytes,
  properties(container, name) -> dict | None, list_blobs(container, prefix=""), delete_blob(container, name),
  sas_url(container, name=None, permissions="r", expiry_s=3600) -> str (name=None: container SAS; permissions
  letters r/a/c/w/d/l), ensure_container(container).
- sandbox.images: ImageRegistry (see images.py): record_image(login_server, repository, tag, files: dict[str, bytes],
  metadata=None) -> Image; get_image(login_server, repository, tag) -> Image | None; resolve("server/repo:tag");
  list_images(login_server=None). Image has .files() -> dict[str, bytes], .folder, .digest, .metadata, .reference.
  Metadata keys read by deployments: "container" (container.ContainerConfig: ENTRYPOINT, CMD, WORKDIR, files; an
  image without it runs what its Dockerfile says), "start_script", "plumber", "r_packages",
  "r_packages_missing_on_host".
- sandbox.registry: RegistryPlane (see registry.py): the registries' data plane (/oauth2/exchange, /oauth2/token,
  /v2/..., /acr/v1/...), picked by the Host header (the login server); a pushed manifest records its image in
  sandbox.images; publish(image) gives a built or imported image its OCI manifest.
- sandbox.faults: Faults (see faults.py): take(name, "METHOD /path") -> Fault | None; e.g. build-fail.
- sandbox.sleep(seconds) -> bool: wait scaled simulated time (False when stopping); sandbox.scaled(seconds);
  sandbox.spawn(fn, *args, name=...) runs a background operation that stop() waits for;
  sandbox.retry_after_headers(seconds) -> {"retry-after-ms": ...}; sandbox.base_url; sandbox.time_scale.
- Raise rdeploy_tui.sandbox.errors.AzureError(status, code, message) from a handler to answer with an
  Azure error body; rdeploy_tui.sandbox.errors.not_found(type, name, resource_group) builds ARM's 404.
- Every path under /subscriptions requires a sandbox bearer token (checked before routing) and an existing
  subscription (writes to the disabled one get 409 ReadOnlyDisabledSubscription).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rdeploy_tui.sandbox.server import Sandbox
    from rdeploy_tui.sandbox.settings import ClientSettings

__all__ = ["ClientSettings", "Sandbox"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import rdeploy_tui.sandbox.acr` does not pull in the server and its dependencies first.
    if name == "Sandbox":
        from rdeploy_tui.sandbox.server import Sandbox

        return Sandbox
    if name == "ClientSettings":
        from rdeploy_tui.sandbox.settings import ClientSettings

        return ClientSettings
    raise AttributeError(name)
