"""The how-to's own docker context, built by the sandbox's ACR and deployed through azure-ai-ml: the container runs
what Docker would run (ENTRYPOINT + CMD), on its own port 8000 where the machine gives it a network namespace.

Checked beforehand with real R (R 4.2.2, plumber 1.2.1): rstudio/plumber's ENTRYPOINT with the how-to's CMD
`["Rscript", "/tmp/start_plumber.R"]` runs `R -e "pr <- plumber::plumb(rev(commandArgs())[1]) ..." Rscript
/tmp/start_plumber.R`; R prints `ARGUMENT 'Rscript' __ignored__`, plumbs start_plumber.R, whose own
`do.call(pr$run, args)` then serves the scoring script on 0.0.0.0:8000: it scores. These tests let the sandbox do
exactly that. CI runs as root, where containers get their own network namespace.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from sandbox_helpers import acr_build, create_endpoint, make_deployment, unique_name

from rdeploy_tui.sandbox import container

pytestmark = [pytest.mark.sandbox, pytest.mark.r]
HOWTO = Path(__file__).parent / "howto" / "docker-context"


def howto_context(*, entrypoint_reset: bool = True) -> dict[str, bytes]:
    files = {path.name: path.read_bytes() for path in HOWTO.iterdir()}
    if not entrypoint_reset:
        files["Dockerfile"] = files["Dockerfile"].replace(b"ENTRYPOINT []\n", b"")
    return files


def deploy(ml_client, image: str, code_dir: Path) -> str:
    name = unique_name("howto")
    create_endpoint(ml_client, name)
    ml_client.online_deployments.begin_create_or_update(
        make_deployment("blue", name, image, code_dir), skip_script_validation=True
    ).result()
    endpoint = ml_client.online_endpoints.get(name)
    endpoint.traffic = {"blue": 100}
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    return name


def score(ml_client, name: str) -> requests.Response:
    endpoint = ml_client.online_endpoints.get(name)
    key = ml_client.online_endpoints.get_keys(name).primary_key
    return requests.post(
        endpoint.scoring_uri, json={"forecast_horizon": [2]}, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def test_the_howto_seed_without_entrypoint_reset_runs_plumbers_entrypoint_and_scores(
    sandbox, ml_client, login_server, code_dir
):
    run, log = acr_build(sandbox, howto_context(entrypoint_reset=False), "howto-seed:no-reset")
    assert run.properties.status == "Succeeded", log
    assert "keeps rstudio/plumber's ENTRYPOINT" in log  # the sandbox's note: what the container will run
    name = deploy(ml_client, f"{login_server}/howto-seed:no-reset", code_dir)
    answer = score(ml_client, name)
    assert answer.status_code == 200, answer.text
    assert answer.json()[0]["year"] == 1971
    logs = ml_client.online_deployments.get_logs("blue", name, lines=200)
    assert "Starting container: R -e 'pr <- plumber::plumb(rev(commandArgs())[1])" in logs
    assert "Rscript /tmp/start_plumber.R" in logs
    assert "ARGUMENT 'Rscript' __ignored__" in logs  # R's own words: the plumber ENTRYPOINT really ran
    ml_client.online_endpoints.begin_delete(name).result()


def test_the_howto_dockerfile_as_written_serves_its_containers_own_port_8000(
    sandbox, ml_client, login_server, code_dir
):
    run, log = acr_build(sandbox, howto_context(), "howto-seed:as-written")
    assert run.properties.status == "Succeeded", log
    name = deploy(ml_client, f"{login_server}/howto-seed:as-written", code_dir)
    assert score(ml_client, name).status_code == 200
    logs = ml_client.online_deployments.get_logs("blue", name, lines=200)
    assert "Starting container: Rscript /tmp/start_plumber.R" in logs
    if container.network_namespaces() is None:  # root (CI): the container's own network
        assert f"probing {container.CONTAINER_IP}:8000/ready" in logs
    else:
        assert "no network namespace for this container" in logs
    ml_client.online_endpoints.begin_delete(name).result()


def test_a_server_bound_to_loopback_fails_its_readiness_probe_as_in_azure(sandbox, ml_client, login_server, code_dir):
    """Azure probes the container's address, not its loopback: a plumber on 127.0.0.1:8000 is never ready."""
    why = container.network_namespaces()
    if why is not None:
        pytest.skip(f"needs a network namespace per container, which this machine does not give: {why}")
    files = howto_context()
    files["start_plumber.R"] = files["start_plumber.R"].replace(b"host = '0.0.0.0'", b"host = '127.0.0.1'")
    sandbox.images.record_image(login_server, "howto-loopback", "1", files)  # as built; its Dockerfile says the rest
    name = unique_name("loopback")
    create_endpoint(ml_client, name)
    with pytest.raises(HttpResponseError) as failed:
        ml_client.online_deployments.begin_create_or_update(
            make_deployment("blue", name, f"{login_server}/howto-loopback:1", code_dir), skip_script_validation=True
        ).result()
    assert "ResourceNotReady" in str(failed.value)
    assert "Running plumber API at http://127.0.0.1:8000" in ml_client.online_deployments.get_logs("blue", name, 200)
    ml_client.online_endpoints.begin_delete(name).result()


def test_the_build_names_the_packages_this_machines_r_lacks_with_debians_package(sandbox, login_server):
    files = howto_context()
    files["Dockerfile"] = files["Dockerfile"].replace(b"'<PACKAGE-NAME>'", b"c('tibble', 'dplyr')", 1)
    run, log = acr_build(sandbox, files, "howto-packages:1")
    assert run.properties.status == "Succeeded", log
    from rdeploy_tui.sandbox import host_r

    lacking = host_r.missing(["carrier", "dplyr", "tibble"])
    assert lacking is not None, "this test needs R"
    if lacking:
        assert f"this machine's R lacks {', '.join(lacking)}" in log and "(a sandbox limit)" in log
    for package in lacking:
        debian = host_r.debian_package(package)
        assert (debian in log) if host_r.debian_has(debian) else ("not packaged by Debian" in log and package in log)
    image = sandbox.images.get_image(login_server, "howto-packages", "1")
    assert image is not None and image.metadata["r_packages_missing_on_host"] == lacking
