"""The rest of ACR as Azure serves it, judged by Microsoft's SDKs: azure-mgmt-containerregistry (registry per
api-version, update, admin credentials, usages, name check), azure-mgmt-containerregistrytasks (tasks, task runs from
an ACR Tasks YAML file, `az acr run -f`), importImage from another registry, and azure-containerregistry listing the
registry's data plane (the images builds and imports made)."""

from __future__ import annotations

import base64
import ssl

import httpx
import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerregistry.models import ImportImageParameters, ImportSource, RegistryUpdateParameters
from azure.mgmt.containerregistrytasks import ContainerRegistryTasksMgmtClient
from azure.mgmt.containerregistrytasks.models import (
    EncodedTaskRunRequest,
    FileTaskRunRequest,
    PlatformProperties,
    SetValue,
)
from sandbox_helpers import acr_build, acr_run

REGISTRY = "Microsoft.ContainerRegistry/registries"

pytestmark = pytest.mark.sandbox
START = (
    b"pr <- plumber::plumb(file.path(Sys.getenv('AML_APP_ROOT'), 'plumber.R'))\npr$run(host = '0.0.0.0', port = 8000)\n"
)
DOCKERFILE = b'FROM rstudio/plumber:v1.3.0\nENTRYPOINT []\nCOPY start.R /app/start.R\nCMD ["Rscript", "/app/start.R"]\n'


@pytest.fixture
def registry(sandbox) -> dict:
    settings = sandbox.client_settings()
    with sandbox.state.view() as data:
        ws = next(w for w in data["workspaces"].values() if w["name"] == settings.workspace_name)
        return dict(data["registries"][ws["container_registry"].lower()])


@pytest.fixture
def clients(sandbox):
    settings = sandbox.client_settings()
    credential = settings.credential()
    return (
        ContainerRegistryManagementClient(credential, settings.subscription_id, **settings.mgmt_kwargs()),
        ContainerRegistryTasksMgmtClient(credential, settings.subscription_id, **settings.mgmt_kwargs()),
    )


def _arm(sandbox, method: str, path: str, api_version: str, **kwargs) -> httpx.Response:
    token = sandbox.credential().get_token(sandbox.base_url + "/.default").token
    with httpx.Client(verify=ssl.create_default_context(cafile=str(sandbox.ca_bundle)), timeout=30) as http:
        return http.request(
            method,
            f"{sandbox.base_url}{path}",
            params={"api-version": api_version},
            headers={"Authorization": f"Bearer {token}"},
            **kwargs,
        )


@pytest.mark.parametrize(
    "api_version, present, absent",
    [
        ("2019-05-01", {"policies.trustPolicy"}, {"systemData", "properties.encryption", "policies.exportPolicy"}),
        (
            "2021-06-01-preview",
            {"systemData", "properties.anonymousPullEnabled", "policies.exportPolicy"},
            {"policies.softDeletePolicy"},
        ),
        (
            "2023-07-01",
            {"properties.zoneRedundancy"},
            {"properties.anonymousPullEnabled", "properties.roleAssignmentMode"},
        ),
        (
            "2025-03-01-preview",
            {"properties.metadataSearch", "policies.softDeletePolicy"},
            {"properties.networkRuleBypassAllowedForTasks"},
        ),
        (
            "2025-11-01",
            {"properties.roleAssignmentMode", "policies.azureADAuthenticationAsArmPolicy"},
            {"policies.softDeletePolicy", "properties.metadataSearch"},
        ),
        ("2026-01-01-preview", {"properties.regionalEndpoints", "properties.endpointProtocol"}, set()),
    ],
)
def test_a_registry_get_answers_the_fields_of_its_api_version(sandbox, registry, api_version, present, absent):
    body = _arm(sandbox, "GET", registry["id"], api_version).json()
    fields = {"systemData"} & set(body)
    fields |= {f"properties.{k}" for k in body["properties"]}
    fields |= {f"policies.{k}" for k in body["properties"].get("policies", {})}
    assert present <= fields and not (absent & fields), sorted(fields)


def test_admin_credentials_follow_the_admin_user(sandbox, registry, clients):
    registries, _ = clients
    group, name = registry["resource_group"], registry["name"]
    with pytest.raises(HttpResponseError) as refused:
        registries.registries.list_credentials(group, name)
    assert refused.value.status_code == 400 and "Admin user is disabled." in str(refused.value)
    updated = registries.registries.begin_update(
        group, name, RegistryUpdateParameters(admin_user_enabled=True)
    ).result()
    assert updated.admin_user_enabled is True
    try:
        credentials = registries.registries.list_credentials(group, name)
        assert credentials.username == name and [p.name for p in credentials.passwords] == ["password", "password2"]
        # docker login with the admin user: /oauth2/token with Basic auth (user = registry name)
        with httpx.Client(
            base_url=sandbox.base_url, verify=ssl.create_default_context(cafile=str(sandbox.ca_bundle))
        ) as http:
            params = {"service": registry["login_server"], "scope": "repository:any/repo:pull"}
            host = {"Host": registry["login_server"]}
            good = http.get("/oauth2/token", params=params, headers=host, auth=(name, credentials.passwords[0].value))
            assert good.status_code == 200 and "access_token" in good.json()
            again = registries.registries.regenerate_credential(group, name, {"name": "password"})
            assert again.passwords[0].value != credentials.passwords[0].value
            assert again.passwords[1].value == credentials.passwords[1].value
            stale = http.get("/oauth2/token", params=params, headers=host, auth=(name, credentials.passwords[0].value))
            assert stale.status_code == 401
    finally:
        registries.registries.begin_update(group, name, RegistryUpdateParameters(admin_user_enabled=False)).result()


def test_usages_name_checks_and_tasks(sandbox, registry, clients):
    registries, tasks = clients
    group, name = registry["resource_group"], registry["name"]
    run, log = acr_build(sandbox, {"Dockerfile": DOCKERFILE, "start.R": START}, "usage-check:1")
    assert run.properties.status == "Succeeded", log
    usages = {u.name: u for u in registries.registries.list_usages(group, name).value}
    assert usages["Size"].unit == "Bytes" and usages["Size"].current_value > 0
    assert usages["Size"].limit == 10 * 1024**3  # Basic: 10 GiB included (the SKU table)
    assert usages["Webhooks"].limit == 2 and usages["Webhooks"].current_value == 0
    taken = registries.registries.check_name_availability({"name": name, "type": REGISTRY})
    assert taken.name_available is False and taken.reason == "AlreadyExists"
    assert taken.message == f"The registry {name} is already in use."
    invalid = registries.registries.check_name_availability({"name": "no-dashes", "type": REGISTRY})
    assert invalid.name_available is False and invalid.reason == "Invalid"
    free = registries.registries.check_name_availability({"name": "freshname12345", "type": REGISTRY})
    assert free.name_available is True
    assert list(tasks.tasks.list(group, name)) == []


TASK_FILE = b"""version: v1.1.0
steps:
  - build: -t {{.Run.Registry}}/hello-r:{{.Run.ID}} -t $Registry/hello-r:{{.Values.channel}} -f Dockerfile .
  - push:
    - {{.Run.Registry}}/hello-r:{{.Run.ID}}
    - $Registry/hello-r:{{.Values.channel}}
"""


def test_az_acr_run_with_a_task_file_builds_and_pushes_its_steps(sandbox, registry, clients):
    login = registry["login_server"]
    files = {"Dockerfile": DOCKERFILE, "start.R": START, "acr-task.yaml": TASK_FILE}
    run, log = acr_run(
        sandbox,
        files,
        lambda location: FileTaskRunRequest(
            task_file_path="acr-task.yaml",
            source_location=location,
            values_property=[SetValue(name="channel", value="stable")],
            platform=PlatformProperties(os="linux", architecture="amd64"),
        ),
    )
    assert run.properties.status == "Succeeded", log
    assert run.properties.run_type == "QuickRun" and run.system_data.last_modified_at is not None
    assert "Creating Docker network: acb_default_network" in log
    assert "Executing step ID: acb_step_0." in log and "Executing step ID: acb_step_1." in log
    assert f"Successfully tagged {login}/hello-r:{run.run_id}" in log
    assert "Step ID: acb_step_1 marked as successful" in log and f"Run ID: {run.run_id} was successful" in log
    outputs = {(o.repository, o.tag) for o in run.properties.output_images}
    assert outputs == {("hello-r", run.run_id), ("hello-r", "stable")}
    image = sandbox.images.get_image(login, "hello-r", "stable")
    assert image is not None and image.metadata["container"]["cmd"] == ["Rscript", "/app/start.R"]


@pytest.mark.parametrize(
    "task, words",
    [
        (b"steps:\n  - push: ['$Registry/never-built:1']\n", "An image does not exist locally with the tag"),
        (b"steps:\n  - cmd: mcr.microsoft.com/hello-world\n", "the sandbox does not run cmd steps"),
        (b"steps:\n  - build: -t x:{{.Values.missing}} .\n", "the value 'missing' is not set"),
        (b"version: v1.1.0\n", "needs a `steps` list"),
    ],
)
def test_task_files_that_cannot_run_fail_with_the_reason_in_the_log(sandbox, task, words):
    files = {"Dockerfile": DOCKERFILE, "start.R": START}
    run, log = acr_run(
        sandbox,
        files,
        lambda location: EncodedTaskRunRequest(
            encoded_task_content=base64.b64encode(task).decode(),
            source_location=location,
            platform=PlatformProperties(os="linux"),
        ),
    )
    assert run.properties.status == "Failed" and words in log


def test_import_from_another_registry_by_resource_id_and_login_server(sandbox, registry, clients):
    registries, _ = clients
    other = sandbox.ensure_workspace(sandbox.subscription_id, sandbox.resource_group, "import-source-ws")
    with sandbox.state.view() as data:
        source = dict(data["registries"][other["container_registry"].lower()])
    sandbox.images.record_image(
        source["login_server"], "shared/model", "7", {"Dockerfile": DOCKERFILE, "start.R": START}
    )
    group, name = registry["resource_group"], registry["name"]
    registries.registries.begin_import_image(
        group,
        name,
        ImportImageParameters(
            source=ImportSource(resource_id=source["id"], source_image="shared/model:7"), target_tags=["copied:7"]
        ),
    ).result()
    copy = sandbox.images.get_image(registry["login_server"], "copied", "7")
    assert copy is not None and copy.files()["start.R"] == START
    registries.registries.begin_import_image(
        group,
        name,
        ImportImageParameters(
            source=ImportSource(registry_uri=source["login_server"], source_image="shared/model:7"),
            target_tags=["copied:by-uri"],
        ),
    ).result()
    assert sandbox.images.get_image(registry["login_server"], "copied", "by-uri") is not None
    with pytest.raises(HttpResponseError) as missing:
        registries.registries.begin_import_image(
            group,
            name,
            ImportImageParameters(
                source=ImportSource(resource_id=source["id"], source_image="shared/model:8"), target_tags=["x:8"]
            ),
        ).result()
    assert "not found" in str(missing.value)
    answer = _arm(
        sandbox,
        "POST",
        registry["id"] + "/importImage",
        "2021-06-01-preview",
        json={"source": {"resourceId": source["id"], "sourceImage": "shared/model:7"}, "targetTags": ["y:7"]},
    )
    assert answer.status_code == 202 and answer.content == b"null"  # as recorded
    assert "/operationResults/registries-" in answer.headers["Location"] and "Retry-After" not in answer.headers


def test_the_data_plane_lists_what_builds_made_for_azure_containerregistry(sandbox, registry):
    from azure.containerregistry import ContainerRegistryClient

    run, log = acr_build(sandbox, {"Dockerfile": DOCKERFILE, "start.R": START}, "listed/app:1")
    assert run.properties.status == "Succeeded", log
    run2, log2 = acr_build(sandbox, {"Dockerfile": DOCKERFILE, "start.R": START + b"# 2\n"}, "listed/app:2")
    assert run2.properties.status == "Succeeded", log2
    client = ContainerRegistryClient(
        sandbox.base_url,
        sandbox.credential(),
        audience=sandbox.base_url,
        connection_verify=str(sandbox.ca_bundle),
        headers={"Host": registry["login_server"]},
    )
    with client:
        assert "listed/app" in list(client.list_repository_names(results_per_page=1))  # paged by Link headers
        tags = {t.name: t for t in client.list_tag_properties("listed/app", results_per_page=1)}
        assert set(tags) == {"1", "2"}
        assert tags["1"].digest == run.properties.output_images[0].digest  # what the build reported
        manifests = list(client.list_manifest_properties("listed/app"))
        assert {tuple(m.tags) for m in manifests} == {("1",), ("2",)}
        assert client.get_repository_properties("listed/app").tag_count == 2
        got = client.get_manifest("listed/app", "1")
        config_digest = got.manifest["config"]["digest"]
        config = b"".join(client.download_blob("listed/app", config_digest))
        assert b'"Cmd": ["Rscript", "/app/start.R"]' in config and b'"Entrypoint": null' in config
