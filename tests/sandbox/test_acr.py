"""ACR in the sandbox, driven by the real SDK clients the way `az acr build` drives Azure.

azure-mgmt-containerregistry (registries.get), azure-mgmt-containerregistrytasks (upload URL, scheduleRun,
runs, log SAS URL, cancel) and azure-storage-blob (context upload, ranged log reads) over HTTPS.
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerregistrytasks import ContainerRegistryTasksMgmtClient
from azure.mgmt.containerregistrytasks.models import (
    Argument,
    DockerBuildRequest,
    PlatformProperties,
)
from azure.storage.blob import BlobClient

from rdeploy_tui.sandbox import arm
from rdeploy_tui.sandbox.server import Sandbox

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
TIME_SCALE = 0.003  # a whole build of our Dockerfile (~3.3 min in ACR) takes about 0.6 s
START_PLUMBER = (ROOT / "docker-context-template" / "start_plumber.R").read_bytes()


def our_context(packages: tuple[str, ...] = ("forecast",), base: str = "rstudio/plumber:v1.3.0") -> dict[str, bytes]:
    """The docker context rdeploy-tui renders for these packages."""
    from rdeploy_tui.deploy_folder.render import render
    from rdeploy_tui.spec.deploy_spec import DeploySpec

    spec = DeploySpec()
    spec.image.r_packages, spec.image.base = list(packages), base
    return render(spec).docker_context()


def our_dockerfile() -> str:
    return our_context()["Dockerfile"].decode()


def context_archive(dockerfile: str, **extra: bytes) -> bytes:
    """A docker-context tar.gz made the way az acr build packs one (names relative to the context root)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        files = {
            "Dockerfile": dockerfile.encode(),
            "start_plumber.R": START_PLUMBER,
            "install_packages.R": our_context()["install_packages.R"],
            **extra,
        }
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class AcrClients:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.settings = settings = sandbox.client_settings()
        credential = settings.credential()
        self.registries = ContainerRegistryManagementClient(
            credential, settings.subscription_id, **settings.mgmt_kwargs()
        )
        self.tasks = ContainerRegistryTasksMgmtClient(credential, settings.subscription_id, **settings.mgmt_kwargs())
        workspace = arm.find_workspace(
            sandbox, settings.subscription_id, settings.resource_group, settings.workspace_name
        )
        self.group = settings.resource_group
        self.registry = workspace["container_registry"].rsplit("/", 1)[1]

    def blob(self, url: str) -> BlobClient:
        return BlobClient.from_blob_url(url, connection_verify=self.settings.ca_bundle)

    def schedule(self, archive: bytes, image: str = "r-model:1"):
        """Steps 2 and 3 of az acr build: upload the context, schedule a DockerBuildRequest."""
        upload = self.tasks.registries.get_build_source_upload_url(self.group, self.registry)
        self.blob(upload.upload_url).upload_blob(archive, blob_type="BlockBlob", overwrite=True)
        request = DockerBuildRequest(
            source_location=upload.relative_path,
            docker_file_path="Dockerfile",
            image_names=[image],
            is_push_enabled=True,
            platform=PlatformProperties(os="Linux", architecture="amd64"),
        )
        return self.tasks.registries.schedule_run(self.group, self.registry, request)

    def stream_log(self, run_id: str, timeout_s: float = 20) -> tuple[str, str]:
        """Step 4 of az acr build: ranged reads of the log blob until its metadata has `complete`."""
        link = self.tasks.runs.get_log_sas_url(self.group, self.registry, run_id).log_link
        log_blob = self.blob(link)
        text, offset, deadline = b"", 0, time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            properties = log_blob.get_blob_properties()
            complete = [value for key, value in properties.metadata.items() if key.lower() == "complete"]
            if properties.size > offset:
                chunk = log_blob.download_blob(offset=offset, length=properties.size - offset).readall()
                text += chunk
                offset += len(chunk)
            elif complete:
                return text.decode("utf-8"), complete[0]
            else:
                time.sleep(0.05)
        raise AssertionError(f"the build log never completed; so far:\n{text.decode('utf-8', 'replace')}")

    def wait_status(self, run_id: str, wanted: set[str], timeout_s: float = 20):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            run = self.tasks.runs.get(self.group, self.registry, run_id)
            if run.properties.status in wanted:
                return run
            time.sleep(0.02)
        raise AssertionError(f"run {run_id} never reached {wanted}")


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "sandbox"


@pytest.fixture
def sandbox(state_dir: Path):
    with Sandbox(state_dir, time_scale=TIME_SCALE) as running:
        yield running


@pytest.fixture
def acr(sandbox: Sandbox) -> AcrClients:
    return AcrClients(sandbox)


def test_registries_get_deserializes_and_unknown_registries_are_404(acr: AcrClients):
    registry = acr.registries.registries.get(acr.group, acr.registry)
    assert registry.login_server == f"{acr.registry}.azurecr.io"
    assert registry.provisioning_state == "Succeeded"
    assert registry.sku.name == "Basic" and registry.location
    assert registry.admin_user_enabled is False and registry.creation_date is not None
    assert registry.id.endswith(f"/providers/Microsoft.ContainerRegistry/registries/{acr.registry}")
    assert registry.policies.export_policy.status == "enabled" and registry.public_network_access == "Enabled"
    with pytest.raises(ResourceNotFoundError) as missing:
        acr.registries.registries.get(acr.group, "nosuchregistry")
    assert missing.value.error.code == "ResourceNotFound"
    assert "Microsoft.ContainerRegistry/registries/nosuchregistry" in missing.value.error.message


def test_az_acr_build_flow_succeeds_and_the_image_is_remembered(acr: AcrClients, state_dir: Path):
    queued = acr.schedule(context_archive(our_dockerfile()))
    assert queued.properties.status == "Queued"  # scheduleRun's own answer is short (recorded): runType comes on GET
    assert acr.tasks.runs.get(acr.group, acr.registry, queued.run_id).properties.run_type == "QuickBuild"
    log, status = acr.stream_log(queued.run_id)
    assert status == "Succeeded", log
    assert "\r\n" in log  # az acr build prints up to the last CRLF
    assert "Step 1/7 : FROM ${BASE}" in log and "v1.3.0: Pulling from rstudio/plumber" in log
    assert "✔ Installed carrier" in log
    login = f"{acr.registry}.azurecr.io"
    assert f"Successfully pushed image: {login}/r-model:1" in log
    assert f"Run ID: {queued.run_id} was successful after" in log

    run = acr.tasks.runs.get(acr.group, acr.registry, queued.run_id)
    assert run.properties.status == "Succeeded" and run.properties.finish_time is not None
    [output] = run.properties.output_images
    assert (output.registry, output.repository, output.tag) == (login, "r-model", "1")
    assert output.digest.startswith("sha256:") and f"1: digest: {output.digest}" in log

    image = acr.sandbox.images.get_image(login, "r-model", "1")
    assert image is not None and acr.sandbox.registry.manifest_digest(image) == output.digest
    assert image.files()["start_plumber.R"] == START_PLUMBER
    assert image.metadata["r_packages"] == ["carrier", "forecast", "plumber"]
    assert image.metadata["container"]["entrypoint"] is None and image.metadata["start_script"] == "start_plumber.R"

    acr.sandbox.stop()  # a restarted sandbox on the same folder still knows the image and the run
    with Sandbox(state_dir, time_scale=TIME_SCALE) as again:
        remembered = again.images.get_image(login, "r-model", "1")
        assert remembered is not None and again.registry.manifest_digest(remembered) == output.digest
        assert remembered.files()["start_plumber.R"] == START_PLUMBER
        assert AcrClients(again).tasks.runs.get(acr.group, acr.registry, queued.run_id).properties.status == "Succeeded"


@pytest.mark.parametrize(
    "dockerfile, extra, reasons",
    [
        (our_dockerfile().replace("FROM ${BASE}", ""), {}, ["No build stage in current context"]),
        (
            our_dockerfile(),
            {"install_packages.R": our_context(("notapkg",))["install_packages.R"]},
            ["* notapkg: Can't find package called notapkg."],
        ),
        (
            our_dockerfile().replace("ARG BASE=rstudio/plumber:v1.3.0", "ARG BASE=rocker/r-ver:9.9.9"),
            {},
            ["manifest for rocker/r-ver:9.9.9 not found: manifest unknown: manifest unknown"],
        ),
    ],
    ids=["no-FROM", "package-not-on-cran", "unknown-base-tag"],
)
def test_a_bad_dockerfile_fails_with_the_reason_in_the_log(
    acr: AcrClients, dockerfile: str, extra: dict, reasons: list[str]
):
    queued = acr.schedule(context_archive(dockerfile, **extra), image="broken:1")
    log, status = acr.stream_log(queued.run_id)
    assert status == "Failed"
    assert all(reason in log for reason in reasons), log
    assert f"Run ID: {queued.run_id} failed after" in log
    run = acr.tasks.runs.get(acr.group, acr.registry, queued.run_id)
    assert run.properties.status == "Failed" and run.properties.run_error_message
    assert not run.properties.output_images
    assert acr.sandbox.images.get_image(f"{acr.registry}.azurecr.io", "broken", "1") is None


def test_the_build_fail_fault_fails_the_next_build_only(acr: AcrClients):
    acr.sandbox.faults.arm("build-fail", count=1)
    log, status = acr.stream_log(acr.schedule(context_archive(our_dockerfile())).run_id)
    assert status == "Failed" and "Failed to build source package" in log
    _, status = acr.stream_log(acr.schedule(context_archive(our_dockerfile())).run_id)
    assert status == "Succeeded"


def test_the_build_fail_fault_with_a_package_fails_each_build_installing_it_and_no_other(acr: AcrClients):
    acr.sandbox.faults.arm("build-fail", package="zoo")
    with_zoo = context_archive(
        our_dockerfile(), **{"install_packages.R": our_context(("forecast", "zoo"))["install_packages.R"]}
    )
    for _ in range(2):  # armed until cleared: a retry of the same packages fails the same way
        log, status = acr.stream_log(acr.schedule(with_zoo).run_id)
        assert status == "Failed" and "Failed to build source package zoo." in log, log
    log, status = acr.stream_log(acr.schedule(context_archive(our_dockerfile())).run_id)
    assert status == "Succeeded", log


def test_cancel_mid_build_ends_canceled(acr: AcrClients):
    queued = acr.schedule(context_archive(our_dockerfile()))
    acr.wait_status(queued.run_id, {"Running"})
    acr.tasks.runs.cancel(acr.group, acr.registry, queued.run_id)
    log, status = acr.stream_log(queued.run_id)
    assert status == "Canceled"
    assert f"Run ID: {queued.run_id} was canceled after" in log
    assert "Successfully pushed image" not in log
    assert acr.tasks.runs.get(acr.group, acr.registry, queued.run_id).properties.status == "Canceled"
    acr.tasks.runs.cancel(acr.group, acr.registry, queued.run_id)  # canceling a finished run is harmless


def test_free_credit_subscriptions_refuse_acr_tasks(acr: AcrClients):
    subscription = acr.settings.subscription_id
    with acr.sandbox.state.edit() as data:
        data["subscriptions"][subscription.lower()]["quotaId"] = "FreeTrial_2014-09-01"
    with pytest.raises(HttpResponseError) as refused:
        acr.schedule(context_archive(our_dockerfile()))
    assert refused.value.status_code == 400
    assert refused.value.error.code == "TasksOperationsNotAllowed"
    assert (
        f"ACR Tasks requests for the registry {acr.registry} and {subscription} are not permitted"
        in refused.value.error.message
    )


def test_the_tasks_not_allowed_fault_refuses_schedule_run(acr: AcrClients):
    acr.sandbox.faults.arm("tasks-not-allowed", count=1)
    with pytest.raises(HttpResponseError) as refused:
        acr.schedule(context_archive(our_dockerfile()))
    assert refused.value.error.code == "TasksOperationsNotAllowed"
    assert acr.stream_log(acr.schedule(context_archive(our_dockerfile())).run_id)[1] == "Succeeded"


def test_unknown_runs_and_registries_answer_404(acr: AcrClients):
    with pytest.raises(ResourceNotFoundError):
        acr.tasks.runs.get(acr.group, acr.registry, "zz99")
    with pytest.raises(ResourceNotFoundError):
        acr.tasks.registries.get_build_source_upload_url(acr.group, "nosuchregistry")


def test_a_context_that_was_never_uploaded_fails_the_run(acr: AcrClients):
    upload = acr.tasks.registries.get_build_source_upload_url(acr.group, acr.registry)
    request = DockerBuildRequest(
        source_location=upload.relative_path,
        docker_file_path="Dockerfile",
        image_names=["r-model:1"],
        is_push_enabled=True,
        platform=PlatformProperties(os="Linux"),
    )
    run = acr.tasks.registries.schedule_run(acr.group, acr.registry, request)
    log, status = acr.stream_log(run.run_id)
    assert status == "Failed" and "failed to download context" in log


def test_a_run_in_flight_when_the_sandbox_stops_ends_as_error_after_restart(acr: AcrClients, state_dir: Path):
    queued = acr.schedule(context_archive(our_dockerfile()))
    acr.wait_status(queued.run_id, {"Running"})
    acr.sandbox.stop()
    with Sandbox(state_dir, time_scale=TIME_SCALE) as again:
        clients = AcrClients(again)
        assert clients.tasks.runs.get(acr.group, acr.registry, queued.run_id).properties.status == "Error"
        log, status = clients.stream_log(queued.run_id)
        assert status == "Error" and "The sandbox stopped while this run was in progress" in log


def test_secret_build_arguments_never_reach_the_state_file(acr: AcrClients, state_dir: Path):
    upload = acr.tasks.registries.get_build_source_upload_url(acr.group, acr.registry)
    acr.blob(upload.upload_url).upload_blob(context_archive(our_dockerfile()), blob_type="BlockBlob", overwrite=True)
    request = DockerBuildRequest(
        source_location=upload.relative_path,
        docker_file_path="Dockerfile",
        image_names=["r-model:2"],
        is_push_enabled=True,
        platform=PlatformProperties(os="Linux"),
        arguments=[Argument(name="GITHUB_PAT", value="s3cr3t-build-arg", is_secret=True)],
    )
    run = acr.tasks.registries.schedule_run(acr.group, acr.registry, request)
    assert acr.stream_log(run.run_id)[1] == "Succeeded"
    assert "s3cr3t-build-arg" not in (state_dir / "state.json").read_text()


def test_a_task_run_request_is_refused_because_the_sandbox_has_no_tasks(acr: AcrClients):
    from azure.mgmt.containerregistrytasks.models import TaskRunRequest

    request = TaskRunRequest(task_id=f"{acr.registry}/tasks/nightly")
    with pytest.raises(HttpResponseError) as refused:
        acr.tasks.registries.schedule_run(acr.group, acr.registry, request)
    assert refused.value.status_code == 404 and "creates no tasks" in refused.value.error.message
