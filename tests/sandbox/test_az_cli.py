"""The real Azure CLI (azure-cli from PyPI) runs Microsoft's how-to against the sandbox.

dev.sh installs azure-cli into its own venv outside the repo (RDEPLOY_AZ names its `az`); under CI=true these tests
must run, elsewhere they skip when az is not there. Each test has its own AZURE_CONFIG_DIR in tmp. The recipe is the
one `rdeploy-tui sandbox` prints (commands/sandbox_cmd.az_recipe), run as printed by bash.
`az ml` is not here: its extension is not on PyPI, and its calls are azure-ai-ml's, which the rest of the suite drives.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from az_cli_helpers import base_env, require_az, run_az, signed_in

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def az_bin() -> Path:
    return require_az()


@pytest.fixture
def az(sandbox, az_bin, tmp_path):
    """Run `az ARGS` signed in to the sandbox as its test service principal, with no defaults set."""
    env, login = signed_in(sandbox, az_bin, tmp_path / "azure-config")

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_az([str(az_bin), *args], env, cwd)

    run.login = login  # type: ignore[attr-defined]
    return run


def test_az_login_with_the_printed_service_principal_and_account_show(az, sandbox):
    subscriptions = json.loads(az.login.stdout)
    assert sandbox.subscription_id in [s["id"] for s in subscriptions]
    shown = az("account", "show", "-o", "json")
    assert shown.returncode == 0, shown.stderr
    account = json.loads(shown.stdout)
    assert account["id"] == sandbox.subscription_id
    assert account["environmentName"] == "RdeploySandbox"
    assert account["user"] == {"name": sandbox.service_principal.client_id, "type": "servicePrincipal"}


def test_az_acr_build_without_a_resource_group_streams_the_log_and_pushes(az, sandbox, tmp_path):
    from rdeploy_tui.deploy_folder.render import render
    from rdeploy_tui.spec.deploy_spec import default_spec

    with sandbox.state.view() as data:
        ws = next(w for w in data["workspaces"].values() if w["name"] == sandbox.workspace_name)
        registry = dict(data["registries"][ws["container_registry"].lower()])
    context = tmp_path / "docker-context"
    for name, content in render(default_spec(), registry=registry["login_server"]).docker_context().items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_bytes(content)
    tag = f"az-{tmp_path.name[-12:].lower().replace('_', '-')}"
    assert sandbox.images.get_image(registry["login_server"], "r-forecast", tag) is None

    built = az("acr", "build", "-r", registry["name"], "-t", f"r-forecast:{tag}", str(context))

    assert built.returncode == 0, built.stderr
    assert "Step 1/" in built.stdout  # the build log, streamed from the run's log blob as the build runs
    assert f"Successfully pushed image: {registry['login_server']}/r-forecast:{tag}" in built.stdout
    assert "was successful" in built.stdout
    assert sandbox.images.get_image(registry["login_server"], "r-forecast", tag) is not None


def test_az_resource_list_sees_the_workspace_and_its_registry(az, sandbox):
    listed = az("resource", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    by_type = {}
    for item in json.loads(listed.stdout):
        by_type.setdefault(item["type"], []).append(item["name"])
    assert sandbox.workspace_name in by_type["Microsoft.MachineLearningServices/workspaces"]
    registries = az(
        "resource",
        "list",
        "--resource-type",
        "Microsoft.ContainerRegistry/registries",
        "--query",
        "[].type",
        "-o",
        "json",
    )
    assert registries.returncode == 0 and set(json.loads(registries.stdout)) == {
        "Microsoft.ContainerRegistry/registries"
    }


def test_an_unknown_arm_path_answers_arms_json_error_to_az_rest(az, sandbox):
    answer = az(
        "rest",
        "--url",
        f"{sandbox.base_url}/subscriptions/{sandbox.subscription_id}/providers/Microsoft.MachineLearningServices/nosuchthings?api-version=2024-04-01",
    )
    assert answer.returncode != 0
    assert "InvalidResourceType" in answer.stderr and "nosuchthings" in answer.stderr


def test_az_cloud_register_with_the_arm_endpoint_works_too(sandbox, az_bin, tmp_path):
    """The other way a custom cloud is set up: az reads the 2022-09-01 metadata (one object) itself."""
    env = base_env(az_bin, tmp_path / "cfg")
    env.update(REQUESTS_CA_BUNDLE=str(sandbox.ca_bundle), SSL_CERT_FILE=str(sandbox.ca_bundle))
    sp = sandbox.service_principal
    steps = [
        ["cloud", "register", "--name", "SandboxByEndpoint", "--endpoint-resource-manager", sandbox.base_url],
        ["cloud", "set", "--name", "SandboxByEndpoint"],
        ["config", "set", "core.instance_discovery=false"],
        [
            "login",
            "--service-principal",
            "--username",
            sp.client_id,
            "--password",
            sp.client_secret,
            "--tenant",
            sp.tenant_id,
            "-o",
            "none",
        ],
        ["account", "show", "--query", "id", "-o", "tsv"],
    ]
    for step in steps:
        done = run_az([str(az_bin), *step], env)
        assert done.returncode == 0, f"az {' '.join(step[:2])} failed: {done.stderr}"
    assert done.stdout.strip() == sandbox.subscription_id


def test_az_login_identity_on_the_simulated_compute_instance(sandbox, az_bin, tmp_path):
    """The how-to's first command on a compute instance: `az login --identity`, with the variables the compute
    instance's terminal has (`rdeploy-tui sandbox --compute-instance` prints them). az decodes the managed identity's
    token itself, so it must be a real JWT."""
    from rdeploy_tui.commands.sandbox_cmd import compute_instance_exports
    from rdeploy_tui.sandbox.login import CLOUD_NAME

    config = tmp_path / "azure-config"
    config.mkdir()
    script = "\n".join(
        [
            "set -e",
            *compute_instance_exports(sandbox),
            f"az cloud set --name {CLOUD_NAME}",
            "az login --identity -o json",
            "az account show -o json",
        ]
    )
    done = run_az(["bash", "-c", script], base_env(az_bin, config), cwd=config)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout[done.stdout.rindex('{\n  "environmentName"') :])
    assert shown["id"] == sandbox.subscription_id
    assert shown["user"]["type"] == "servicePrincipal" and shown["user"]["assignedIdentityInfo"] == "MSI"


def test_az_acr_commands_beyond_build_answer_as_azure_does(az, sandbox, tmp_path):
    """`az acr run -f`, `az acr import` from another registry, `az acr check-name`, `az acr show-usage`,
    `az acr credential show` (refused while the admin user is disabled, then allowed) and `az acr task list`."""
    with sandbox.state.view() as data:
        ws = next(w for w in data["workspaces"].values() if w["name"] == sandbox.workspace_name)
        registry = dict(data["registries"][ws["container_registry"].lower()])
    name = registry["name"]
    context = tmp_path / "task-context"
    context.mkdir()
    (context / "Dockerfile").write_text(
        'FROM rstudio/plumber:v1.3.0\nENTRYPOINT []\nCOPY start.R /app/start.R\nCMD ["Rscript", "/app/start.R"]\n'
    )
    (context / "start.R").write_text("cat('hello')\n")
    (context / "acr-task.yaml").write_text(
        "version: v1.1.0\nsteps:\n  - build: -t $Registry/from-az-run:{{.Run.ID}} .\n"
        "  - push: ['$Registry/from-az-run:{{.Run.ID}}']\n"
    )
    ran = az("acr", "run", "-r", name, "-f", "acr-task.yaml", str(context))
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr
    assert "Executing step ID: acb_step_1" in ran.stdout and "was successful" in ran.stdout
    assert any(i.repository == "from-az-run" for i in sandbox.images.list_images(registry["login_server"]))

    other = sandbox.ensure_workspace(sandbox.subscription_id, sandbox.resource_group, "az-import-source")
    with sandbox.state.view() as data:
        source = dict(data["registries"][other["container_registry"].lower()])
    sandbox.images.record_image(source["login_server"], "shared/model", "3", {"Dockerfile": b"FROM r-base:4.4.1\n"})
    imported = az("acr", "import", "-n", name, "--source", "shared/model:3", "-r", source["id"], "--image", "model:3")
    assert imported.returncode == 0, imported.stderr
    assert sandbox.images.get_image(registry["login_server"], "model", "3") is not None

    taken = az("acr", "check-name", "-n", name, "-o", "json")
    assert taken.returncode == 0 and json.loads(taken.stdout)["nameAvailable"] is False, taken.stderr
    usage = az("acr", "show-usage", "-n", name, "-o", "json")
    assert usage.returncode == 0 and {u["name"] for u in json.loads(usage.stdout)["value"]} == {"Size", "Webhooks"}
    refused = az("acr", "credential", "show", "-n", name)
    assert refused.returncode != 0 and "admin" in refused.stderr.lower()
    assert az("acr", "update", "-n", name, "--admin-enabled", "true", "-o", "none").returncode == 0
    try:
        shown = az("acr", "credential", "show", "-n", name, "-o", "json")
        assert shown.returncode == 0 and json.loads(shown.stdout)["username"] == name, shown.stderr
    finally:
        az("acr", "update", "-n", name, "--admin-enabled", "false", "-o", "none")
    tasks = az("acr", "task", "list", "-r", name, "-o", "json")
    assert tasks.returncode == 0 and json.loads(tasks.stdout) == [], tasks.stderr
