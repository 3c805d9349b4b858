"""Azure Container Registry in the sandbox: ACR Tasks runs (`az acr build`, `az acr run`) and importImage.

Requests, as azure-mgmt-containerregistry 15 and azure-mgmt-containerregistrytasks 1.0.0b1 send them
(REG = /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{r}; the Registry
resource itself, its credentials, usages and name checks are acr_registry.py's):
    POST REG/listBuildSourceUploadUrl         -> {uploadUrl: blob SAS URL (write), relativePath}
    POST REG/scheduleRun                      -> the Run, Queued (a short body, as recorded); it runs in the background:
         DockerBuildRequest (az acr build), FileTaskRunRequest (az acr run -f FILE CONTEXT: task_run.py),
         EncodedTaskRunRequest (az acr run --cmd, -f FILE /dev/null); a TaskRunRequest is 404 (no tasks)
    GET  REG/runs, REG/runs/{runId}           -> the Run (with systemData): Queued -> Running -> Succeeded/Failed
    POST REG/runs/{runId}/listLogSasUrl       -> {logLink: blob SAS URL (read) of the run's append-blob log}
    POST REG/runs/{runId}/cancel              -> 200; a queued or running build stops and ends Canceled
    POST REG/importImage  (ImportImageParameters) -> 202, null body, Location; the copy is in the registry when the
                                              poll answers 200 (from Docker Hub's catalogue or another sandbox registry)

The build (build.py decides what it prints and produces) appends its log to the blob over simulated
time, CRLF-terminated as ACR writes it (az's streamer prints up to the last "\\r\\n"), and ends by setting
the blob metadata Complete=<status>, which is how `az acr build` knows a run is over. A pushed image is
recorded in the sandbox's image registry with the files that make it (see images.py and build.describe_image for the
metadata) and published on the registry's data plane with an OCI manifest (registry.py). The log also names the R
packages the image installs that this machine's R lacks (host_r.py): the sandbox's limit, said at build time.

Knobs: the fault "build-fail" fails the next build (with param `package`, each build installing that package); the fault
"tasks-not-allowed", or a subscription whose subscriptionPolicies.quotaId starts with "FreeTrial", answers scheduleRun
with TasksOperationsNotAllowed as Azure does for free-credit subscriptions; the fault "dockerhub-rate-limit" fails every
pull from Docker Hub (a build's FROM, an import from docker.io) with Docker Hub's toomanyrequests text, as ACR Tasks
agents meet it pulling anonymously; `sandbox.acr.cran` (a cran.Cran) decides which R packages builds can install. What a
build can pull FROM: the images of spec/base_images.py (Docker Hub, as of its date) and the images in the workspace
registry (built or imported).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import posixpath
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from rdeploy_tui.bounded_read import ContentError, parse_yaml
from rdeploy_tui.sandbox import acr_registry, arm, build, host_r, task_run
from rdeploy_tui.sandbox.blob import BlobError
from rdeploy_tui.sandbox.cran import Cran
from rdeploy_tui.sandbox.errors import AzureError, not_found
from rdeploy_tui.sandbox.http import Request, Response, Router, json_response
from rdeploy_tui.spec import base_images

log = logging.getLogger("rdeploy_tui.sandbox.acr")

REGISTRY_TYPE = "Microsoft.ContainerRegistry/registries"
_REG = (
    r"/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)"
    r"/providers/Microsoft\.ContainerRegistry/registries/(?P<registry>[^/]+)"
)
_RUN = _REG + r"/runs/(?P<run_id>[^/]+)"
_IMPORT_RESULT = (
    r"/subscriptions/(?P<subscription>[^/]+)/providers/Microsoft\.ContainerRegistry/locations/"
    r"(?P<location>[^/]+)/operationResults/(?P<operation>[^/]+)"
)
RUNS = "acr_runs"  # state collection: "{registry id lower}/{run id}" -> run record
TERMINAL = ("Succeeded", "Failed", "Canceled", "Error", "Timeout")
_POLL_S = 0.05  # how often a waiting build looks for cancel/stop, in real seconds


def register(router: Router, sandbox: Any) -> None:
    service = AcrService(sandbox)
    sandbox.acr = service
    acr_registry.register(router, sandbox)
    router.add("POST", _REG + r"/listBuildSourceUploadUrl", service.source_upload_url)
    router.add("POST", _REG + r"/scheduleRun", service.schedule_run)
    router.add("GET", _REG + r"/runs", service.list_runs)
    router.add("GET", _RUN, service.get_run)
    router.add("POST", _RUN + r"/listLogSasUrl", service.log_sas_url)
    router.add("POST", _RUN + r"/cancel", service.cancel_run)
    router.add("POST", _REG + r"/importImage", service.import_image)
    router.add("GET", r"/cran/src/contrib/PACKAGES", service.cran_index)
    router.add("GET", _IMPORT_RESULT, service.import_result)
    service.end_interrupted_runs()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class AcrService:
    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.cran = Cran()  # which R packages builds can install; tests and the CLI may replace it
        self._cancels: dict[str, threading.Event] = {}
        self._import_failures: dict[str, str] = {}  # importImage operation id -> why it failed
        self._secret_values: dict[str, dict[str, str]] = {}  # run key -> its secret values: memory only, never state
        self._lock = threading.Lock()

    # ----- registries --------------------------------------------------------------------------------
    def registry(self, subscription: str, group: str, name: str) -> dict[str, Any]:
        """The registry's record (arm.py's "registries" collection), or the 404 ARM sends."""
        with self.sandbox.state.view() as data:
            doc = data.get("registries", {}).get(arm.registry_id(subscription, group, name).lower())
            group_known = f"/subscriptions/{subscription}/resourcegroups/{group}".lower() in data.get(
                "resource_groups", {}
            )
        if doc is None:
            if not group_known:
                raise AzureError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")
            raise not_found(REGISTRY_TYPE, name, group)
        return dict(doc)

    # ----- build source upload -----------------------------------------------------------------------
    def _container(self, registry_id: str) -> str:
        # ACR keeps a storage container per registry for sources and logs ("container-<32 hex>")
        return "container-" + hashlib.sha256(registry_id.lower().encode()).hexdigest()[:32]

    def source_upload_url(self, request: Request, subscription: str, group: str, registry: str) -> Response:
        resource = self.registry(subscription, group, registry)
        container = self._container(resource["id"])
        relative_path = f"source/{time.strftime('%Y%m%d%H%M', time.gmtime())}/{uuid.uuid4()}.tar.gz"
        self.sandbox.blobs.ensure_container(container)
        url = self.sandbox.blobs.sas_url(container, relative_path, permissions="cw", expiry_s=3600)
        return json_response(200, {"uploadUrl": url, "relativePath": relative_path})

    # ----- runs --------------------------------------------------------------------------------------
    def schedule_run(self, request: Request, subscription: str, group: str, registry: str) -> Response:
        resource = self.registry(subscription, group, registry)
        self._check_tasks_allowed(request, subscription, resource)
        body = request.json()
        run_request, secret_values = _run_request(body)
        fault = self.sandbox.faults.take("build-fail", f"{request.method} {request.path}")
        # True: the build's first package fails; a name (param `package`): only that package fails to build
        failing: bool | str = False if fault is None else str(fault.params.get("package") or "") or True
        container = self._container(resource["id"])
        with self.sandbox.state.edit() as data:  # one lock for numbering and storing: no two runs share an id
            runs = self.sandbox.state.collection(data, RUNS)
            run_id = _run_id(resource["id"], runs)
            log_blob = f"logs/{run_id}/rawtext.log"
            run = _run_resource(resource["id"], run_id, run_request)
            key = _key(resource["id"], run_id)
            runs[key] = {
                "registryId": resource["id"],
                "loginServer": resource["login_server"],
                "container": container,
                "log": log_blob,
                "request": run_request,
                "failBuild": failing,
                "run": run,
            }
        self.sandbox.blobs.create_append_blob(container, log_blob)
        answer = json_response(200, _scheduled(run))  # serialized before the build thread starts changing the run
        cancel = threading.Event()
        with self._lock:
            self._cancels[key] = cancel
            self._secret_values[key] = secret_values
        self.sandbox.spawn(self._execute, key, cancel, name=f"acr-run-{run_id}")
        return answer

    def list_runs(self, request: Request, subscription: str, group: str, registry: str) -> Response:
        """GET REG/runs: newest first, `$top` honoured (rdeploy-tui looks for a succeeded run that pushed a tag)."""
        resource = self.registry(subscription, group, registry)
        prefix = resource["id"].lower() + "/"
        with self.sandbox.state.view() as data:
            runs = [_copy(r["run"]) for k, r in data.get(RUNS, {}).items() if k.startswith(prefix)]
        runs.sort(key=lambda run: run["properties"].get("createTime") or "", reverse=True)
        top = request.param("$top")
        if top and top.isdigit():
            runs = runs[: int(top)]
        return json_response(200, {"value": runs})

    def get_run(self, request: Request, subscription: str, group: str, registry: str, run_id: str) -> Response:
        return json_response(200, self._record(subscription, group, registry, run_id)["run"])

    def log_sas_url(self, request: Request, subscription: str, group: str, registry: str, run_id: str) -> Response:
        record = self._record(subscription, group, registry, run_id)
        url = self.sandbox.blobs.sas_url(record["container"], record["log"], permissions="r", expiry_s=3600)
        return json_response(200, {"logLink": url})

    def cancel_run(self, request: Request, subscription: str, group: str, registry: str, run_id: str) -> Response:
        record = self._record(subscription, group, registry, run_id)
        with self._lock:
            cancel = self._cancels.get(_key(record["registryId"], run_id))
        if cancel is not None:
            cancel.set()  # a finished run ignores it, as ACR does
        return Response(200)

    def _record(self, subscription: str, group: str, registry: str, run_id: str) -> dict[str, Any]:
        resource = self.registry(subscription, group, registry)
        with self.sandbox.state.view() as data:
            record = data.get(RUNS, {}).get(_key(resource["id"], run_id))
            if record is None:
                raise AzureError(404, "ResourceNotFound", f"The run '{run_id}' was not found in registry '{registry}'.")
            return _copy(record)

    def _check_tasks_allowed(self, request: Request, subscription: str, resource: dict[str, Any]) -> None:
        refused = self.sandbox.faults.take("tasks-not-allowed", f"{request.method} {request.path}") is not None
        with self.sandbox.state.view() as data:
            quota_id = data.get("subscriptions", {}).get(subscription.lower(), {}).get("quotaId", "")
        if refused or quota_id.lower().startswith("freetrial"):
            raise AzureError(
                400,
                "TasksOperationsNotAllowed",
                f"ACR Tasks requests for the registry {resource['name']} and {subscription} are not permitted. "
                "Please file an Azure support request at http://aka.ms/azuresupport for assistance.",
            )

    # ----- the package repository builds install from --------------------------------------------------
    def cran_index(self, request: Request) -> Response:
        """The sandbox's CRAN catalogue as a repository index (what `available.packages()` reads): no auth, as CRAN."""
        body = "".join(f"Package: {name}\nVersion: {self.cran.version(name)}\n\n" for name in self.cran.names())
        return Response(200, body.encode(), {"Content-Type": "text/plain; charset=utf-8"})

    # ----- import (az acr import) ---------------------------------------------------------------------
    def import_image(self, request: Request, subscription: str, group: str, registry: str) -> Response:
        """Copy an image into this registry from Docker Hub (the catalogue of spec/base_images.py) or from another
        registry of the sandbox (source.resourceId, or source.registryUri naming its login server).

        Azure answers 202 with a Location (…/locations/{LOCATION}/operationResults/registries-{id}) and a JSON null
        body, no Retry-After (recorded: azure-cli test_acr_import_no_wait, a copy from another registry by resourceId);
        ACR REST reference "Registries - Import Image". The sandbox copies at once, so the first poll answers 200.
        Azure's words for a source that does not exist are not published (unknown): the sandbox answers 400
        InvalidParameters naming the image. With mode NoForce (the default) "any existing target tags will fail the
        operation before any copying begins" (ImportMode, REST spec): the operation fails with the words az printed in
        Azure/azure-cli#10938 ("Operation registries-... failed. Resource ... Tag X already exists in target
        registry."); the poll's status code for it is not published (unknown): the sandbox answers 409 Conflict.
        Other registries (mcr.microsoft.com, ghcr.io ...) are out of the sandbox's reach (a sandbox limit).
        """
        resource = self.registry(subscription, group, registry)
        body = request.json()
        source = body.get("source") or {}
        targets = body.get("targetTags") or []
        image = str(source.get("sourceImage") or "")
        if not image or not isinstance(targets, list) or not targets:
            raise AzureError(
                400, "InvalidParameters", "The import requires source.sourceImage and at least one targetTags entry."
            )
        files, metadata = self._import_source(request, source, image)
        operation = f"registries-{uuid.uuid1()}"
        refs = [build.parse_image_name(str(target), resource["login_server"]) for target in targets]
        existing = [
            f"{ref.repository}:{ref.tag}"
            for ref in refs
            if self.sandbox.images.get_image(resource["login_server"], ref.repository, ref.tag)
        ]
        if existing and body.get("mode") != "Force":
            self._import_failures[operation] = (
                f"Operation {operation} failed. Resource {resource['id']} "
                f"{existing[0]} Tag {existing[0]} already exists in target registry."
            )
        else:
            for ref in refs:
                copy = self.sandbox.images.record_image(
                    resource["login_server"], ref.repository, ref.tag, files, metadata=metadata
                )
                self.sandbox.registry.publish(copy)
        location = (
            f"{self.sandbox.base_url}/subscriptions/{subscription}/providers/Microsoft.ContainerRegistry/"
            f"locations/{(resource.get('location') or 'westeurope').upper()}/operationResults/{operation}"
            f"?api-version={request.api_version or '2025-11-01'}"
        )
        return json_response(202, None, {"Location": location, **self.sandbox.retry_after_headers(1)})

    def _import_source(
        self, request: Request, source: dict[str, Any], image: str
    ) -> tuple[dict[str, bytes], dict[str, Any]]:
        """The files and metadata of the image to copy."""
        registry_uri = str(source.get("registryUri") or "").lower()
        resource_id = str(source.get("resourceId") or "")
        if resource_id or registry_uri.endswith(".azurecr.io"):
            with self.sandbox.state.view() as data:
                docs = list(data.get("registries", {}).values())
            doc = next(
                (
                    d
                    for d in docs
                    if (resource_id and d["id"].lower() == resource_id.lower())
                    or (registry_uri and d["login_server"].lower() == registry_uri)
                ),
                None,
            )
            if doc is None:
                # Azure's words for a source registry that does not exist are not published (unknown).
                raise AzureError(
                    400, "InvalidParameters", f"The source registry '{resource_id or registry_uri}' was not found."
                )
            ref = build.parse_image_name(image.split("@", 1)[0], doc["login_server"])
            found = self.sandbox.images.get_image(doc["login_server"], ref.repository, ref.tag)
            if found is None:
                raise AzureError(400, "InvalidParameters", f"Image '{doc['login_server']}/{image}' not found.")
            return found.files(), {**found.metadata, "imported_from": found.reference}
        if registry_uri not in ("docker.io", "registry.hub.docker.com", "registry-1.docker.io", "index.docker.io"):
            raise AzureError(
                400,
                "InvalidParameters",
                f"The sandbox cannot reach the registry '{registry_uri}': it imports from docker.io and its own "
                "registries only (a sandbox limit).",
            )
        if self.sandbox.faults.take("dockerhub-rate-limit", f"{request.method} {request.path}") is not None:
            raise AzureError(
                400, "InvalidParameters", f"Error importing docker.io/{image}: {build.DOCKERHUB_RATE_LIMIT}"
            )
        known = base_images.lookup(image)
        if known is None:
            raise AzureError(400, "InvalidParameters", f"Image 'docker.io/{image}' not found.")
        return {}, build.base_record(known)

    def import_result(self, request: Request, subscription: str, location: str, operation: str) -> Response:
        failure = self._import_failures.get(operation)
        if failure is not None:
            raise AzureError(409, "Conflict", failure)
        return Response(200, b"", {})

    # ----- the build ---------------------------------------------------------------------------------
    def _update(self, key: str, **properties: Any) -> None:
        with self.sandbox.state.edit() as data:
            data[RUNS][key]["run"]["properties"].update(properties, lastUpdatedTime=_now())

    def _wait(self, seconds: float, cancel: threading.Event) -> bool:
        """Wait `seconds` of simulated time; False when canceled or the sandbox is stopping."""
        deadline = time.monotonic() + self.sandbox.scaled(seconds)
        while True:
            if cancel.is_set() or self.sandbox.stopping:
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            cancel.wait(min(remaining, _POLL_S))

    def _execute(self, key: str, cancel: threading.Event) -> None:
        with self.sandbox.state.view() as data:
            record = _copy(data[RUNS][key])
        run_id = record["run"]["properties"]["runId"]
        writer = _LogWriter(self.sandbox.blobs, record["container"], record["log"])
        started = time.monotonic()
        try:
            if not self._wait(build.TIMES["queue"], cancel):
                return self._finish(key, writer, started, cancel)
            self._update(key, status="Running", startTime=_now())
            files, plan = self._plan(record, run_id, key)
            _name_packages_this_r_lacks(plan)
            pushes = dict(plan.pushes)
            if plan.push_at is not None:  # a quick build pushes its context's image under every tag at once
                pushes[plan.push_at] = [build.Pushed(ref, files, plan.image) for ref in plan.images]
            for index, chunk in enumerate(plan.chunks):
                if not self._wait(chunk.seconds, cancel):
                    return self._finish(key, writer, started, cancel)
                if index in pushes:
                    writer.digest = self._push(key, record, pushes[index])
                writer.write(chunk.lines)
            if not plan.succeeded:
                log.info("sandbox ACR run %s failed: %s", run_id, plan.error)
            self._finish(key, writer, started, cancel, plan)
        except Exception:
            # a bug here must not leave a client streaming a log that never completes
            self._end_with_error(key, writer, "The sandbox failed while running this build; see the sandbox log.")
            raise
        finally:
            with self._lock:
                self._cancels.pop(key, None)
                self._secret_values.pop(key, None)

    def _plan(self, record: dict[str, Any], run_id: str, key: str) -> tuple[dict[str, bytes], build.BuildPlan]:
        """The context's files and what building them (a quick build, or a task file's steps) prints and produces."""
        run_request = record["request"]
        try:
            files = self._context(record, run_request)
        except (BlobError, build.ContextError) as exc:
            message = (
                "failed to download context. Please check if the URL is incorrect. "
                "If it has credentials, please check if they are expired"
            )
            detail = exc.message if isinstance(exc, BlobError) else f"failed to extract context: {exc}"
            failed = [build.TIMESTAMP + "Downloading source code...", detail, message]
            return {}, build.BuildPlan([build.Chunk(build.TIMES["source"], failed)], False, message)
        platform = run_request.get("platform") or {}
        variables = build.run_variables(
            run_id=run_id,
            login_server=record["loginServer"],
            when=time.strftime("%Y%m%d-%H%M%Sz", time.gmtime()),
            platform=platform,
        )
        env = build.BuildEnvironment(
            run_id,
            record["loginServer"],
            self.cran,
            record.get("failBuild", False),
            self._image_metadata,
            lambda: self.sandbox.faults.take("dockerhub-rate-limit", "FROM docker.io") is not None,
        )
        if run_request["type"] != "DockerBuildRequest":
            with self._lock:
                secrets = dict(self._secret_values.get(key, {}))
            values = {v["name"]: v.get("value", "") for v in run_request.get("values") or []} | secrets
            task_text = run_request.get("encodedTaskContent")
            task_file = run_request.get("taskFilePath") or task_run.DEFAULT_TASK_FILE
            if task_text is not None:  # EncodedTaskRunRequest: the task arrives inline, beside any context
                task_file = "\0encoded-task.yaml"
                files = {**files, task_file: base64.b64decode(task_text)}
            try:
                values |= self._values_file(files, run_request, variables)
            except task_run.TaskFileError as exc:
                return files, build.BuildPlan([build.Chunk(build.TIMES["source"], [str(exc)])], False, str(exc))
            return files, task_run.plan_task_run(
                env=env, files=files, task_file=task_file, values=values, variables=variables
            )
        return files, build.plan_build(
            run_id=run_id,
            files=files,
            dockerfile_path=run_request.get("dockerFilePath") or "Dockerfile",
            image_names=[
                build.expand_run_variables(
                    str(name),
                    run_id=run_id,
                    login_server=record["loginServer"],
                    when=variables["Date"],
                    platform=platform,
                )
                for name in run_request.get("imageNames") or []
            ],
            push=bool(run_request.get("isPushEnabled")),
            login_server=record["loginServer"],
            cran=self.cran,
            fail_build=record.get("failBuild", False),
            build_args={
                a["name"]: a.get("value", "")
                for a in run_request.get("arguments") or []
                if isinstance(a, dict) and a.get("name")
            },
            registry_image=self._image_metadata,
            dockerhub_limited=env.dockerhub_limited,
        )

    def _context(self, record: dict[str, Any], run_request: dict[str, Any]) -> dict[str, bytes]:
        """The run's source files: none for an encoded task without a source, else the uploaded archive."""
        location = run_request.get("sourceLocation") or ""
        if not location and run_request["type"] == "EncodedTaskRunRequest":
            return {}
        if "://" in location and not location.startswith(self.sandbox.base_url):
            # A git repository or a remote archive (`az acr run ... https://github.com/...`): ACR fetches it; the
            # sandbox reaches no network (a sandbox limit).
            raise BlobError(
                404,
                "SourceNotReachable",
                f"the sandbox cannot fetch {location}: it builds contexts uploaded with the run only (a sandbox limit)",
            )
        return build.read_context(self._read_source(record, location))

    def _values_file(
        self, files: dict[str, bytes], run_request: dict[str, Any], variables: dict[str, str]
    ) -> dict[str, str]:
        """`--values FILE` (valuesFilePath, in the context) or encodedValuesContent: a YAML mapping of values."""
        text = None
        if run_request.get("encodedValuesContent"):
            text = base64.b64decode(run_request["encodedValuesContent"]).decode("utf-8", "replace")
        elif run_request.get("valuesFilePath"):
            path = posixpath.normpath(run_request["valuesFilePath"])
            if path not in files:
                raise task_run.TaskFileError(f"open /workspace/{path}: no such file or directory")
            text = files[path].decode("utf-8", "replace")
        if text is None:
            return {}
        try:
            loaded = parse_yaml(task_run.render(text, variables, {}))
        except ContentError as exc:
            raise task_run.TaskFileError(f"failed to parse the values file: {exc}") from None
        if not isinstance(loaded, dict):
            raise task_run.TaskFileError("failed to parse the values file: it is not a mapping of names to values")
        return {str(name): str(value) for name, value in loaded.items()}

    def _image_metadata(self, reference: str) -> dict[str, Any] | None:
        image = self.sandbox.images.resolve(reference)
        return None if image is None else image.metadata

    def _read_source(self, record: dict[str, Any], location: str) -> bytes:
        """The uploaded context: a relative path from listBuildSourceUploadUrl, or a sandbox blob URL."""
        if "://" in location:
            from urllib.parse import unquote, urlsplit

            parts = unquote(urlsplit(location).path).lstrip("/").split("/", 2)
            if len(parts) < 3:
                raise BlobError(404, "BlobNotFound", "The specified blob does not exist.")
            account, container, name = parts
            return self.sandbox.blobs.read(container, name, account=account.split(".blob.", 1)[0])
        return self.sandbox.blobs.read(record["container"], location)

    def _push(self, key: str, record: dict[str, Any], pushed: list[build.Pushed]) -> str:
        """Record the pushed tags in the image registry (with the files that make them); returns the last digest."""
        digest = ""
        outputs = []
        for item in pushed:
            image = self.sandbox.images.record_image(
                record["loginServer"], item.ref.repository, item.ref.tag, item.files, metadata=item.metadata
            )
            self.sandbox.registry.publish(image)  # an OCI manifest for the registry's data plane
            digest = image.digest
            outputs.append(
                {"registry": record["loginServer"], "repository": item.ref.repository, "tag": item.ref.tag}
                | {"digest": self.sandbox.registry.manifest_digest(image) or digest}
            )
        with self.sandbox.state.view() as data:
            earlier = list(data[RUNS][key]["run"]["properties"].get("outputImages") or [])
        self._update(key, outputImages=earlier + outputs)
        return outputs[-1]["digest"] if outputs else digest

    def _finish(
        self,
        key: str,
        writer: _LogWriter,
        started: float,
        cancel: threading.Event,
        plan: build.BuildPlan | None = None,
    ) -> None:
        run_id = key.rsplit("/", 1)[1]
        elapsed = _duration(time.monotonic() - started)
        if plan is not None and plan.succeeded:
            status, line, error = "Succeeded", f"Run ID: {run_id} was successful after {elapsed}", None
        elif plan is not None:
            error = "failed during run, err: exit status 1"
            status, line = "Failed", f"Run ID: {run_id} failed after {elapsed}. Error: {error}"
        elif cancel.is_set():
            status, line, error = "Canceled", f"Run ID: {run_id} was canceled after {elapsed}", None
        else:  # the sandbox is stopping: left for end_interrupted_runs at the next start
            return
        writer.write(["", line])
        properties: dict[str, Any] = {"status": status, "finishTime": _now()}
        if error:
            properties["runErrorMessage"] = error
        self._update(key, **properties)
        writer.complete(status)

    def end_interrupted_runs(self) -> None:
        """Runs that were in flight when the sandbox stopped end as Error, with a line saying why."""
        with self.sandbox.state.view() as data:
            open_runs = {
                key: _copy(record)
                for key, record in data.get(RUNS, {}).items()
                if record["run"]["properties"].get("status") not in TERMINAL
            }
        for key, record in open_runs.items():
            writer = _LogWriter(self.sandbox.blobs, record["container"], record["log"])
            self._end_with_error(
                key, writer, "The sandbox stopped while this run was in progress; schedule the build again."
            )

    def _end_with_error(self, key: str, writer: _LogWriter, reason: str) -> None:
        try:
            writer.write(["", reason])
            writer.complete("Error")
        except BlobError:
            pass  # the log blob is gone: the run record still ends
        self._update(key, status="Error", finishTime=_now(), runErrorMessage=reason)


class _LogWriter:
    """Appends lines to the run's log blob, CRLF-terminated, stamping the lines build.py marks."""

    def __init__(self, blobs: Any, container: str, name: str) -> None:
        self.blobs, self.container, self.name = blobs, container, name
        self.digest = ""

    def write(self, lines: list[str]) -> None:
        if lines:
            stamp = datetime.now(timezone.utc).strftime("%Y/%m/%d %H:%M:%S")
            text = "".join(self._render(line, stamp) + "\r\n" for line in lines)
            self.blobs.append_block(self.container, self.name, text.encode("utf-8"))

    def _render(self, line: str, stamp: str) -> str:
        if line.startswith(build.TIMESTAMP):
            line = f"{stamp} {line[len(build.TIMESTAMP) :]}".rstrip()
        return line.replace(build.DIGEST, self.digest)

    def complete(self, status: str) -> None:
        properties = self.blobs.properties(self.container, self.name) or {}
        self.blobs.set_metadata(self.container, self.name, {**properties.get("metadata", {}), "Complete": status})


def _name_packages_this_r_lacks(plan: build.BuildPlan) -> None:
    """The sandbox's limit, said at build time: deployments of this image run with this machine's R, so the R packages
    the image installs that this R lacks are named in the build log (with Debian's r-cran-* package where there is
    one) and recorded on the image, whose deployment log names them again. Never a silent failure at scoring time."""
    if not plan.succeeded:
        return
    records = [plan.image] if plan.image else [pushed.metadata for items in plan.pushes.values() for pushed in items]
    wanted = sorted({p for metadata in records for p in metadata.get("r_packages") or []})
    lacking = host_r.missing(wanted) if wanted else []
    if lacking is None:
        lines = ["sandbox: this machine has no R: deployments of this image cannot start here (a sandbox limit)"]
    elif lacking:
        lines = [
            f"sandbox: this machine's R lacks {', '.join(lacking)}, which this image installs. The sandbox runs the "
            "image's container with this machine's R (a sandbox limit): install them here before deploying it:",
            *host_r.how_to_get(lacking),
        ]
    else:
        return
    for metadata in records:
        metadata["r_packages_missing_on_host"] = sorted(set(lacking or wanted) & set(metadata.get("r_packages") or []))
    plan.chunks.insert(len(plan.chunks) - 1, build.Chunk(0, lines))


_RUN_TYPES = {"DockerBuildRequest": "QuickBuild", "FileTaskRunRequest": "QuickRun", "EncodedTaskRunRequest": "QuickRun"}
# What the state file keeps of each request type (the run needs them): `credentials` (registry passwords) never, and
# values or build arguments marked secret stay in memory for the run's life only.
_KEPT = {
    "DockerBuildRequest": ("sourceLocation", "dockerFilePath", "imageNames", "isPushEnabled", "target"),
    "FileTaskRunRequest": ("sourceLocation", "taskFilePath", "valuesFilePath"),
    "EncodedTaskRunRequest": ("sourceLocation", "encodedTaskContent", "encodedValuesContent"),
}


def _run_request(body: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The run request as the state file keeps it, and its secret values (RunRequest types of the ACR Tasks REST
    spec: DockerBuildRequest for `az acr build`, FileTaskRunRequest for `az acr run -f FILE CONTEXT`,
    EncodedTaskRunRequest for `az acr run --cmd` / `-f FILE /dev/null`). TaskRunRequest runs a task, and the sandbox
    has none."""
    if not isinstance(body, dict):
        raise AzureError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
    kind = body.get("type")
    if kind == "TaskRunRequest":
        raise AzureError(
            404, "ResourceNotFound", f"The task '{body.get('taskId', '')}' was not found: the sandbox creates no tasks."
        )
    if kind not in _RUN_TYPES:
        raise AzureError(400, "InvalidRequestContent", f"The run request type {kind!r} is not a RunRequest type.")
    required = {"DockerBuildRequest": "dockerFilePath", "FileTaskRunRequest": "taskFilePath"}.get(kind)
    if required and not body.get(required):
        raise AzureError(400, "InvalidParameter", f"The '{required}' parameter is required.")
    if kind == "EncodedTaskRunRequest":
        try:
            base64.b64decode(str(body.get("encodedTaskContent") or ""), validate=True)
        except ValueError:
            raise AzureError(400, "InvalidParameter", "encodedTaskContent is not base64.") from None
        if not body.get("encodedTaskContent"):
            raise AzureError(400, "InvalidParameter", "The 'encodedTaskContent' parameter is required.")
    if not isinstance(body.get("platform"), dict) or not body["platform"].get("os"):
        raise AzureError(400, "InvalidParameter", "The 'platform.os' parameter is required.")
    request = {name: body[name] for name in _KEPT[kind] if name in body}
    request.update(type=kind, platform=body["platform"], isArchiveEnabled=bool(body.get("isArchiveEnabled", False)))
    secrets: dict[str, str] = {}
    if kind == "DockerBuildRequest":
        # Build arguments not marked secret are kept (FROM ${BASE} needs them); secret ones never reach the state file.
        request["arguments"] = [
            {"name": a.get("name"), "value": a.get("value", "")}
            for a in body.get("arguments") or []
            if isinstance(a, dict) and not a.get("isSecret")
        ]
    else:
        values = [v for v in body.get("values") or [] if isinstance(v, dict) and v.get("name")]
        request["values"] = [{"name": v["name"], "value": v.get("value", "")} for v in values if not v.get("isSecret")]
        secrets = {str(v["name"]): str(v.get("value", "")) for v in values if v.get("isSecret")}
    return request, secrets


def _run_resource(registry_id: str, run_id: str, run_request: dict[str, Any]) -> dict[str, Any]:
    """The Run as GET runs/{id} answers it (recorded: azure-cli test_acr_abac_run at 2025-03-01-preview), with
    systemData as recorded there: lastModifiedBy/At/ByType only."""
    platform = run_request.get("platform") or {}
    now = _now()
    return {
        "id": f"{registry_id}/runs/{run_id}",
        "name": run_id,
        "type": f"{REGISTRY_TYPE}/runs",
        "systemData": {
            "lastModifiedBy": "sandbox-user@example.com",
            "lastModifiedByType": "User",
            "lastModifiedAt": now,
        },
        "properties": {
            "runId": run_id,
            "status": "Queued",
            "lastUpdatedTime": now,
            "runType": _RUN_TYPES[run_request["type"]],
            "createTime": now,
            "outputImages": [],
            "platform": {
                "os": platform.get("os", "Linux").lower(),
                "architecture": platform.get("architecture") or "amd64",
            },
            "agentConfiguration": {"cpu": 2},
            "sourceRegistryAuth": "Default",
            "provisioningState": "Succeeded",
            "isArchiveEnabled": bool(run_request.get("isArchiveEnabled", False)),
        },
    }


def _scheduled(run: dict[str, Any]) -> dict[str, Any]:
    """scheduleRun's own answer: the run as queued, with fewer properties than a GET (recorded)."""
    kept = ("runId", "status", "lastUpdatedTime", "provisioningState", "isArchiveEnabled")
    return {**run, "properties": {name: run["properties"][name] for name in kept}}


def _key(registry_id: str, run_id: str) -> str:
    return f"{registry_id.lower()}/{run_id}"


def _copy(record: dict[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(record)


def _run_id(registry_id: str, runs: dict[str, Any]) -> str:
    """ACR-style ids: two letters fixed per registry, then a base-36 counter (ca1, ca2, ... caz, ca10)."""
    prefix = "c" + "abcdefghijklmnopqrstuvwxyz"[hashlib.sha256(registry_id.lower().encode()).digest()[0] % 26]
    head = registry_id.lower() + "/"
    return prefix + _base36(1 + sum(1 for key in runs if key.startswith(head)))


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
    return text or "0"


def _duration(seconds: float) -> str:
    """ACR's style: 27s, 1m12s."""
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60}s" if whole >= 60 else f"{whole}s"
