"""Build the image in the workspace's ACR the way `az acr build` does, with live logs and cancel.

    archive (tar.gz, .dockerignore honoured) -> listBuildSourceUploadUrl -> upload (azure-storage-blob)
    -> scheduleRun(DockerBuildRequest) -> listLogSasUrl -> ranged reads of the log blob until its
    metadata has a key `complete` (any case) whose value is the run's final status.

An image that a succeeded run in this registry already produced under the same repository:tag is not
built again (the tag is a content hash of the docker context, so same tag = same image).
"""

from __future__ import annotations

import gzip
import io
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rdeploy_tui.azure.errors import azure_call
from rdeploy_tui.azure.workspace import Registry, Workspace
from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    from azure.mgmt.containerregistrytasks import ContainerRegistryTasksMgmtClient

LinesSink = Callable[[list[str]], None]
ProgressSink = Callable[[str], None]

_VCS = {".git", ".svn", ".hg", ".bzr"}
_FINAL = {"succeeded", "failed", "canceled", "cancelled", "timedout", "timeout", "error"}
BUILD_TIMEOUT_S = 3600  # ACR's own default build timeout


@dataclass(frozen=True)
class BuildResult:
    image: str  # login_server/repository:tag
    run_id: str | None  # the ACR run that built it (or that built it earlier, when skipped)
    skipped: bool  # True: the tag was already in the registry, nothing was built
    status: str  # "Succeeded" (failures raise)


# ----- the source archive -------------------------------------------------------------------------


def _ignore_patterns(files: dict[str, bytes]) -> list[str]:
    """The .dockerignore lines as Docker reads them: blank lines and # comments dropped."""
    text = files.get(".dockerignore", b"").decode("utf-8", "replace")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _ignore_matcher(patterns: list[str]) -> Callable[[str], bool]:
    """Docker's own rules (Moby's fileutils, as docker-py implements them): `*` stays within one folder (`*.R` is
    not `sub/x.R`), `**` spans folders, the last matching line wins, `!` re-includes, a pattern matching a parent
    folder matches its files. VCS folders are never sent."""
    matcher = None
    if patterns:
        from docker.utils.build import PatternMatcher  # docker-py (the Docker SDK for Python), for its matcher only

        matcher = PatternMatcher(patterns)

    def ignored(path: str) -> bool:
        parts = path.split("/")
        if any(part in _VCS for part in parts):
            return True
        # types-docker asks for a PathLike; docker-py matches the string itself (its own walk() passes str).
        return matcher is not None and bool(matcher.matches(path))  # type: ignore[arg-type]

    return ignored


def context_files(source: Path | dict[str, bytes]) -> dict[str, bytes]:
    if isinstance(source, dict):
        return dict(source)
    root = Path(source)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def make_context_archive(source: Path | dict[str, bytes]) -> bytes:
    """A deterministic tar.gz of a docker context (folder or {relative path: bytes}), minus .dockerignore'd and VCS
    files.

    Like docker, the Dockerfile and .dockerignore themselves are always sent."""
    files = context_files(source)
    ignored = _ignore_matcher(_ignore_patterns(files))
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name in sorted(files):
            if name not in ("Dockerfile", ".dockerignore") and ignored(name):
                continue
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    return buffer.getvalue()


# ----- is it built already? -----------------------------------------------------------------------


def find_built_image(ws: Workspace, repository: str, tag: str) -> str | None:
    """The id of a succeeded ACR run in the workspace registry that pushed repository:tag, else None.

    Uses the control plane (ACR Tasks run history), which needs no registry data-plane token and
    works wherever builds work. An image deleted from the registry after its build still counts:
    the deployment then fails with ImagePullFailure, and `--rebuild` builds it again.
    """
    registry = ws.registry()
    with azure_call(f"checking whether {repository}:{tag} is already in {registry.name}"):
        tasks = ws.connection.tasks_client(registry.subscription_id)
        for run in tasks.runs.list(registry.resource_group, registry.name, top=100):
            props = getattr(run, "properties", None) or run
            if str(getattr(props, "status", "")).lower() not in ("succeeded", "runstatus.succeeded"):
                continue
            for image in getattr(props, "output_images", None) or []:
                if (image.repository or "").lower() == repository.lower() and image.tag == tag:
                    return getattr(props, "run_id", None) or getattr(run, "name", None) or "unknown"
    return None


# ----- the base image, copied into the workspace registry -----------------------------------------


@dataclass(frozen=True)
class BaseCopy:
    reference: str  # login_server/base/repository:tag, what FROM ${BASE} gets
    imported: bool  # False: it was there already


def import_base_image(
    ws: Workspace, source: str, target: str, *, on_progress: ProgressSink = lambda message: None
) -> BaseCopy:
    """Copy a Docker Hub image into the workspace registry, as `az acr import` does (registries.begin_import_image).

    ACR Tasks agents pull from Docker Hub anonymously and meet its rate limit (toomanyrequests); a copy in the
    workspace registry is pulled with the registry's own credentials. Mode NoForce: a tag that is already there
    fails the operation before anything is copied (ImportMode in the REST spec), which is how "already imported" is
    told apart without a data-plane token. Failures raise RdeployError(code="BaseImportFailed") with Azure's reason.
    """
    from azure.mgmt.containerregistry import models

    registry = ws.registry()
    copy = f"{registry.login_server}/{target}"
    parameters = models.ImportImageParameters(
        source=models.ImportSource(registry_uri="docker.io", source_image=source),
        target_tags=[target],
        mode="NoForce",
    )
    on_progress(f"copying docker.io/{source} into {registry.name} as {target}")
    try:
        with azure_call(f"importing the base image {source} into {registry.name}"):
            client = ws.connection.registry_client(registry.subscription_id)
            client.registries.begin_import_image(registry.resource_group, registry.name, parameters).result()
    except RdeployError as exc:
        reason = " ".join(part for part in (exc.what, exc.details or "") if part)
        if "already exists in target registry" in reason:  # Azure's words for a NoForce import onto an existing tag
            on_progress(f"{target} is already in {registry.name}: import skipped")
            return BaseCopy(copy, False)
        raise RdeployError(
            f"The base image {source} could not be copied into the registry {registry.name}.",
            "Fix the reason below and deploy again, or build straight from Docker Hub with `--base-from-docker-hub` "
            "(ACR Tasks then pulls it anonymously, which Docker Hub may refuse with toomanyrequests).",
            details=reason,
            code="BaseImportFailed",
        ) from None
    return BaseCopy(copy, True)


# ----- the build ----------------------------------------------------------------------------------


def _status_text(value: object) -> str:
    text = str(getattr(value, "value", value) or "")
    return text.split(".")[-1] if text.startswith("RunStatus.") else text


def build_image(
    ws: Workspace,
    context: Path | dict[str, bytes],
    repository: str,
    tag: str,
    *,
    on_lines: LinesSink = lambda lines: None,
    on_progress: ProgressSink = lambda message: None,
    on_run_id: Callable[[str], None] = lambda run_id: None,
    cancel: threading.Event | None = None,
    run_id: str | None = None,
    force: bool = False,
    build_args: dict[str, str] | None = None,
    base_import: tuple[str, str, str] | None = None,
) -> BuildResult:
    """Build repository:tag from `context` in the workspace's ACR, streaming its log.

    `run_id` re-attaches to a build started earlier (resume after a crash) instead of starting another.
    `on_run_id` is called as soon as the run exists, so the caller can save it before waiting.
    When `cancel` is set the ACR run is cancelled and RdeployError(code="Cancelled") is raised.
    `build_args` become `--build-arg`s. `base_import` = (build argument, Docker Hub source, target repository:tag):
    before a new build the base image is copied into the registry (import_base_image) and the build argument names
    the copy, so `FROM ${BASE}` pulls from the workspace registry instead of Docker Hub.
    Failures raise RdeployError with the last build log lines in `details`.
    """
    cancel = cancel or threading.Event()
    registry = ws.registry()
    image = f"{registry.login_server}/{repository}:{tag}"
    tasks = ws.connection.tasks_client(registry.subscription_id)
    if run_id is None and not force:
        existing = find_built_image(ws, repository, tag)
        if existing is not None:
            on_progress(f"{repository}:{tag} is already in {registry.name} (run {existing}): build skipped")
            return BuildResult(image, existing, True, "Succeeded")
    build_args = dict(build_args or {})
    if run_id is None and base_import is not None:
        argument, source, target = base_import
        build_args[argument] = import_base_image(ws, source, target, on_progress=on_progress).reference
    if run_id is None:
        run_id = _start(ws, tasks, registry, context, repository, tag, on_progress, cancel, build_args)
        on_run_id(run_id)
    else:
        on_progress(f"re-attaching to build run {run_id}")
    status, tail = _follow(ws, tasks, registry, run_id, on_lines, on_progress, cancel)
    if status.lower() == "succeeded":
        return BuildResult(image, run_id, False, "Succeeded")
    if status.lower() in ("canceled", "cancelled") and cancel.is_set():
        raise RdeployError(
            f"The image build (run {run_id}) was cancelled.", None, details="\n".join(tail), code="Cancelled"
        )
    raise RdeployError(
        f"The image build of {repository}:{tag} in {registry.name} ended with status {status} (run {run_id}).",
        "Read the build log: a failed R package install or a Dockerfile error is named there. Fix the package list "
        "or the Dockerfile and deploy again.",
        details="\n".join(tail[-40:]),
        code="BuildFailed",
    )


def _start(
    ws: Workspace,
    tasks: ContainerRegistryTasksMgmtClient,
    registry: Registry,
    context: Path | dict[str, bytes],
    repository: str,
    tag: str,
    on_progress: ProgressSink,
    cancel: threading.Event,
    build_args: dict[str, str],
) -> str:
    from azure.mgmt.containerregistrytasks import models

    archive = make_context_archive(context)
    on_progress(f"uploading the build context ({len(archive) / 1024:.1f} KiB)")
    with azure_call(f"uploading the build context to {registry.name}"):
        upload = tasks.registries.get_build_source_upload_url(registry.resource_group, registry.name)
        upload_url = _given(upload.upload_url, f"{registry.name} gave no upload URL for the build context")
        ws.connection.blob_client(upload_url).upload_blob(archive, blob_type="BlockBlob", overwrite=True)
    if cancel.is_set():
        raise RdeployError("The image build was cancelled before it started.", None, code="Cancelled")
    request = models.DockerBuildRequest(
        source_location=upload.relative_path,
        docker_file_path="Dockerfile",
        image_names=[f"{repository}:{tag}"],
        is_push_enabled=True,
        platform=models.PlatformProperties(os="Linux"),
        timeout=BUILD_TIMEOUT_S,
        arguments=[models.Argument(name=k, value=v, is_secret=False) for k, v in build_args.items()] or None,
    )
    on_progress(f"queueing the build of {repository}:{tag} in {registry.name}")
    with azure_call(f"starting the image build in {registry.name}"):
        run = tasks.registries.schedule_run(registry.resource_group, registry.name, request)
    props = getattr(run, "properties", None) or run
    return str(getattr(props, "run_id", None) or run.name)


def _follow(
    ws: Workspace,
    tasks: ContainerRegistryTasksMgmtClient,
    registry: Registry,
    run_id: str,
    on_lines: LinesSink,
    on_progress: ProgressSink,
    cancel: threading.Event,
) -> tuple[str, list[str]]:
    """Stream the run's log blob until its metadata says complete; returns (status, last lines)."""
    pace = ws.connection.pace
    with azure_call(f"opening the log of build run {run_id}"):
        log_url = tasks.runs.get_log_sas_url(registry.resource_group, registry.name, run_id).log_link
        blob = ws.connection.blob_client(_given(log_url, f"{registry.name} gave no log link for build run {run_id}"))
    offset, pending = 0, b""
    tail: list[str] = []
    delay, cancelled_at_azure = 1.0, False
    polls_without_blob = 0
    on_progress(f"build run {run_id} queued")
    from rdeploy_tui.azure import deadlines

    limit = BUILD_TIMEOUT_S + deadlines.BUILD_GRACE_S  # the timeout we asked ACR for: it ends the run by then
    started = time.monotonic()
    while True:
        if time.monotonic() - started > limit:
            raise deadlines.still_going(
                f"Image build run {run_id} in {registry.name}",
                limit,
                "ACR bills build minutes while it runs (it ends the run at its own timeout).",
                f"az acr task logs --registry {registry.name} --run-id {run_id}",
            )
        if cancel.is_set() and not cancelled_at_azure:
            cancel_build(ws, run_id)
            cancelled_at_azure = True
            on_progress(f"cancelling build run {run_id}")
        try:
            with azure_call(f"reading the log of build run {run_id}"):
                props = blob.get_blob_properties()
                size = props.size or 0
                metadata = props.metadata or {}
                if size > offset:
                    chunk = blob.download_blob(offset=offset, length=size - offset).readall()
                    offset += len(chunk)
                    pending += chunk
        except RdeployError as exc:
            if exc.code not in ("NotFound", "BlobNotFound", "ResourceNotFound"):
                raise
            size, metadata = offset, {}
            polls_without_blob += 1
        got_lines = False
        if b"\n" in pending:
            complete, _, pending = pending.rpartition(b"\n")
            lines = complete.decode("utf-8", "replace").splitlines()
            if lines:
                on_lines(lines)
                tail = (tail + lines)[-200:]
                got_lines = True
                if len(tail) and "Step" in lines[-1]:
                    on_progress(lines[-1].strip()[:120])
        status = next((str(v) for k, v in metadata.items() if k.lower() == "complete"), None)
        if status is None and polls_without_blob and polls_without_blob % 10 == 0:
            status = run_status_if_final(tasks, registry, run_id)  # no log blob yet or ever: ask the run itself
        if status is not None:
            if pending.strip():
                last = pending.decode("utf-8", "replace").splitlines()
                on_lines(last)
                tail = (tail + last)[-200:]
            return _status_text(status), tail
        # Back-off like `az acr build`: 1 s while lines flow, doubling when quiet, but capped at 3 s where az
        # goes to 15 s: the build's end is on the deploy's critical path, and a blob HEAD every 3 s costs nothing.
        # Sooner when the service hinted a faster pace (Retry-After on its operations: azure/pace.py).
        delay = 1.0 if got_lines else min(delay * 2, 3.0)
        if cancel.wait(pace.poll_interval(delay)) and cancelled_at_azure:
            cancel.wait(
                pace.poll_interval(0.5)
            )  # already cancelled: keep polling for the final status, without spinning


def _given(value: str | None, missing: str) -> str:
    """A field ACR's answer always carries (its SDK models leave every field optional)."""
    if not value:
        raise RdeployError(f"{missing}.", "Run the deploy again; the build starts over.", code="BuildFailed")
    return value


def run_status_if_final(tasks: ContainerRegistryTasksMgmtClient, registry: Registry, run_id: str) -> str | None:
    with azure_call(f"reading build run {run_id}"):
        run = tasks.runs.get(registry.resource_group, registry.name, run_id)
    props = getattr(run, "properties", None) or run
    status = _status_text(getattr(props, "status", ""))
    return status if status.lower() in _FINAL else None


def cancel_build(ws: Workspace, run_id: str) -> None:
    """Ask ACR to cancel a build run (it stops billing build minutes)."""
    registry = ws.registry()
    with azure_call(f"cancelling build run {run_id}"):
        ws.connection.tasks_client(registry.subscription_id).runs.cancel(registry.resource_group, registry.name, run_id)
