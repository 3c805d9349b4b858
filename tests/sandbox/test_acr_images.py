"""Base images through the real SDK clients: importImage (azure-mgmt-containerregistry's begin_import_image, what
`az acr import` calls), builds FROM the workspace copy with a build argument, and Docker Hub's pull limit."""

from __future__ import annotations

import pytest
import test_acr
from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerregistry.models import ImportImageParameters, ImportSource
from azure.mgmt.containerregistrytasks.models import Argument, DockerBuildRequest, PlatformProperties
from test_acr import AcrClients, context_archive, our_dockerfile

pytestmark = pytest.mark.sandbox
# test_acr's fixtures, reused here: a sandbox of its own per test, and the real ACR clients on it.
state_dir, sandbox, acr = test_acr.state_dir, test_acr.sandbox, test_acr.acr
BASE = "rstudio/plumber:v1.3.0"
COPY = "base/rstudio/plumber:v1.3.0"


def import_base(acr: AcrClients, source: str = BASE, target: str = COPY) -> None:
    parameters = ImportImageParameters(
        source=ImportSource(registry_uri="docker.io", source_image=source), target_tags=[target]
    )
    acr.registries.registries.begin_import_image(acr.group, acr.registry, parameters).result()


def build_with(acr: AcrClients, base_arg: str | None, image: str = "r-model:2") -> tuple[str, str]:
    upload = acr.tasks.registries.get_build_source_upload_url(acr.group, acr.registry)
    acr.blob(upload.upload_url).upload_blob(context_archive(our_dockerfile()), blob_type="BlockBlob", overwrite=True)
    request = DockerBuildRequest(
        source_location=upload.relative_path,
        docker_file_path="Dockerfile",
        image_names=[image],
        is_push_enabled=True,
        platform=PlatformProperties(os="Linux"),
        arguments=[Argument(name="BASE", value=base_arg, is_secret=False)] if base_arg else None,
    )
    run = acr.tasks.registries.schedule_run(acr.group, acr.registry, request)
    return acr.stream_log(run.run_id)


def test_import_puts_the_base_in_the_workspace_registry_and_builds_from_it_despite_the_docker_hub_limit(
    acr: AcrClients,
):
    login = f"{acr.registry}.azurecr.io"
    import_base(acr)
    copy = acr.sandbox.images.get_image(login, "base/rstudio/plumber", "v1.3.0")
    assert copy is not None and copy.metadata["imported_from"] == f"docker.io/{BASE}"
    acr.sandbox.faults.arm("dockerhub-rate-limit")
    log, status = build_with(acr, f"{login}/{COPY}")
    assert status == "Succeeded", log
    assert f"Status: Downloaded newer image for {login}/{COPY}" in log
    assert acr.sandbox.images.get_image(login, "r-model", "2").metadata["plumber"] is True
    # the same Dockerfile without the build argument pulls from Docker Hub, and hits the limit
    log, status = build_with(acr, None, image="r-model:3")
    assert status == "Failed"
    assert "toomanyrequests: You have reached your pull rate limit." in log


def test_a_build_from_a_copy_that_was_never_imported_fails_as_acr_says(acr: AcrClients):
    login = f"{acr.registry}.azurecr.io"
    log, status = build_with(acr, f"{login}/base/rstudio/plumber:v9")
    assert status == "Failed"
    assert (
        f"manifest for {login}/base/rstudio/plumber:v9 not found: "
        'manifest unknown: manifest tagged by "v9" is not found' in log
    )


@pytest.mark.parametrize(
    "source, fault, words",
    [
        ("rstudio/plumber:v9.9.9", None, "not found"),
        (BASE, "dockerhub-rate-limit", "toomanyrequests"),
    ],
)
def test_import_refusals(acr: AcrClients, source, fault, words):
    if fault:
        acr.sandbox.faults.arm(fault, count=1)
    with pytest.raises(HttpResponseError) as refused:
        import_base(acr, source=source)
    assert refused.value.status_code == 400 and refused.value.error.code == "InvalidParameters"
    assert words in refused.value.error.message


def test_a_second_import_onto_the_same_tag_fails_unless_forced(acr: AcrClients):
    import_base(acr)
    with pytest.raises(HttpResponseError) as refused:
        import_base(acr)
    assert "Tag base/rstudio/plumber:v1.3.0 already exists in target registry." in str(refused.value)
    forced = ImportImageParameters(
        source=ImportSource(registry_uri="docker.io", source_image=BASE), target_tags=[COPY], mode="Force"
    )
    acr.registries.registries.begin_import_image(acr.group, acr.registry, forced).result()
