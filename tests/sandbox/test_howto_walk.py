"""Microsoft's how-to, walked on the sandbox with its own files and the real az CLI, to a scored request.

https://learn.microsoft.com/azure/machine-learning/how-to-r-deploy-r-model: sign in, `az acr build` of the how-to's
docker-context (its Dockerfile and start_plumber.R as it writes them, kept in tests/sandbox/howto), then the model,
the endpoint and the deployment, a scored request, show, both containers' logs, delete.

The `az ml` extension is not on PyPI (it is installed from Microsoft's own index, `az extension add -n ml`) and must
not be built from source here, so the `az ml ...` steps are made as the extension makes them, through azure-ai-ml
(which the extension drives) signed in with the az CLI's own session (AzureCliCredential runs `az account
get-access-token`): `az ml model create --name N --path DIR` is models.create_or_update(Model(path=DIR));
`az ml online-endpoint create -f endpoint.yml` loads the YAML with load_online_endpoint and creates it;
`az ml online-deployment create -f deployment.yml --all-traffic --skip-script-validation` loads it with
load_online_deployment, creates it with skip_script_validation and then sets the endpoint's traffic to 100 % for it;
`invoke`, `show`, `get-logs` and `delete` are online_endpoints.invoke/get, online_deployments.get_logs and
online_endpoints.begin_delete. The scoring script is rdeploy-tui's (the how-to's own needs its own fable model and
tibble/dplyr; tests/sandbox/howto/README.md says why).
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
from az_cli_helpers import require_az, run_az, signed_in
from azure.core.exceptions import ResourceNotFoundError

pytestmark = [pytest.mark.sandbox, pytest.mark.slow, pytest.mark.r]
HOWTO = Path(__file__).parent / "howto"


def test_the_howto_walked_with_az_reaches_a_scored_request_and_cleans_up(sandbox, tmp_path, monkeypatch):
    from azure.ai.ml import MLClient, load_online_deployment, load_online_endpoint
    from azure.ai.ml.entities import Model
    from azure.identity import AzureCliCredential

    from rdeploy_tui.deploy_folder.render import render
    from rdeploy_tui.spec.deploy_spec import default_spec

    az = require_az()
    env, _ = signed_in(sandbox, az, tmp_path / "azure-config")
    project = tmp_path / "r-deploy-azureml"
    shutil.copytree(HOWTO / "docker-context", project / "docker-context")
    with sandbox.state.view() as data:
        ws = next(w for w in data["workspaces"].values() if w["name"] == sandbox.workspace_name)
        acr_name = data["registries"][ws["container_registry"].lower()]["name"]
    suffix = uuid.uuid4().hex[:8]
    image_tag = f"{acr_name}.azurecr.io/r-howto-walk:v{suffix}"

    built = run_az([str(az), "acr", "build", "./docker-context", "-t", image_tag, "-r", acr_name], env, cwd=project)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr
    assert "Successfully pushed image" in built.stdout and "was successful" in built.stdout
    assert "this machine's R lacks carrier" in built.stdout  # the sandbox's limit, named at build time

    # `az ml ...` as the extension calls azure-ai-ml, signed in by the az CLI session above.
    for name in ("PATH", "AZURE_CONFIG_DIR", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "ARM_CLOUD_METADATA_URL"):
        monkeypatch.setenv(name, env[name])
    settings = sandbox.client_settings()
    ml = MLClient(
        AzureCliCredential(),
        settings.subscription_id,
        settings.resource_group,
        settings.workspace_name,
        **settings.ml_client_kwargs(),
    )
    models = project / "models"
    models.mkdir()
    (models / "crate.bin").write_bytes(
        (Path(__file__).parents[2] / "assets" / "sample-model" / "crate.bin").read_bytes()
    )
    model = ml.models.create_or_update(Model(name="r-howto-forecast", path=str(models)))  # az ml model create

    render(default_spec()).write_code(project / "src")
    endpoint_name = f"r-howto-{suffix}"
    (project / "endpoint.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json\n"
        f"name: {endpoint_name}\nauth_mode: aml_token\n"
    )
    (project / "deployment.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json\n"
        f"name: blue\nendpoint_name: {endpoint_name}\n"
        "code_configuration:\n  code: ./src\n  scoring_script: plumber.R\n"
        f"model: azureml:{model.name}@latest\n"
        f"environment:\n  image: {image_tag}\n  inference_config:\n"
        "    liveness_route:\n      port: 8000\n      path: /live\n"
        "    readiness_route:\n      port: 8000\n      path: /ready\n"
        "    scoring_route:\n      port: 8000\n      path: /score\n"
        "instance_type: Standard_DS2_v2\ninstance_count: 1\n"
    )
    ml.online_endpoints.begin_create_or_update(load_online_endpoint(project / "endpoint.yml")).result()
    deployment = load_online_deployment(project / "deployment.yml")
    ml.online_deployments.begin_create_or_update(deployment, skip_script_validation=True).result()
    endpoint = ml.online_endpoints.get(endpoint_name)  # --all-traffic
    endpoint.traffic = {"blue": 100}
    ml.online_endpoints.begin_create_or_update(endpoint).result()

    (project / "sample_request.json").write_text(json.dumps({"forecast_horizon": [2]}))
    answer = json.loads(ml.online_endpoints.invoke(endpoint_name, request_file=str(project / "sample_request.json")))
    assert [row["year"] for row in answer] == [1971, 1972]

    shown = ml.online_endpoints.get(endpoint_name)
    assert shown.provisioning_state == "Succeeded" and shown.traffic == {"blue": 100}
    server_log = ml.online_deployments.get_logs("blue", endpoint_name, lines=200)
    assert "Starting container: Rscript /tmp/start_plumber.R" in server_log
    assert "Running plumber API at http://0.0.0.0:8000" in server_log  # the how-to's start_plumber.R, as written
    init_log = ml.online_deployments.get_logs("blue", endpoint_name, lines=50, container_type="storage-initializer")
    assert "downloading model" in init_log

    resource = run_az([str(az), "resource", "show", "--ids", shown.id, "-o", "json"], env)
    assert resource.returncode == 0, resource.stderr
    assert json.loads(resource.stdout)["name"].endswith(endpoint_name)

    ml.online_endpoints.begin_delete(endpoint_name).result()
    with pytest.raises(ResourceNotFoundError):
        ml.online_endpoints.get(endpoint_name)
