"""Render: golden files, determinism, the auto tag, and azure-ai-ml's own loaders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rdeploy_tui.deploy_folder.render import REGISTRY_PLACEHOLDER, render, write_folder
from rdeploy_tui.spec.deploy_spec import DeploySpec, SpecError

GOLDEN = Path(__file__).parent / "golden"


def custom_spec() -> DeploySpec:
    spec = DeploySpec()
    spec.model.version = "3"
    spec.image.r_packages = ["forecast", "tibble", "carrier"]
    spec.scoring.port = 8080
    spec.scoring.routes.score = "/v1/predict"
    spec.scoring.sample_request = {"forecast_horizon": [4], "level": 95}
    spec.endpoint.auth_mode = "key"
    spec.deployment.name = "green"
    spec.deployment.instance_type = "Standard_F4s_v2"
    spec.deployment.instance_count = 2
    spec.deployment.traffic = 10
    spec.deployment.probes.initial_delay = 30
    return spec


def vetiver_spec() -> DeploySpec:
    """A vetiver model pinned to a board folder, its readiness routed to vetiver's /ping."""
    spec = DeploySpec()
    spec.model.name, spec.model.kind = "cars-lm", "vetiver"
    spec.model.file = "cars-lm/20261127T101500Z-1a2b3/cars-lm.rds"
    spec.image.r_packages = ["ranger"]
    spec.scoring.routes.ready = "/ping"
    spec.scoring.sample_request = [{"speed": 10}]
    return spec


CASES = {
    "default": (DeploySpec(), None),
    "custom": (custom_spec(), "myacr.azurecr.io"),
    "vetiver": (vetiver_spec(), None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_files(case):
    spec, registry = CASES[case]
    rendered = render(spec, registry=registry)
    folder = GOLDEN / case
    if os.environ.get("UPDATE_GOLDEN"):
        write_folder(rendered, folder)
    expected = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert sorted(expected) == sorted(rendered.files)
    for name, content in rendered.files.items():
        assert content == expected[name], f"{case}/{name} differs from the golden file (UPDATE_GOLDEN=1 to accept)"


def test_same_spec_same_bytes():
    assert render(custom_spec(), registry="a.azurecr.io").files == render(custom_spec(), registry="a.azurecr.io").files


def test_auto_tag_follows_the_docker_context_only():
    base = render(DeploySpec())
    assert base.image_tag == render(DeploySpec(), registry="other.azurecr.io").image_tag
    renamed = DeploySpec()
    renamed.endpoint.name = "another-endpoint"
    renamed.deployment.instance_count = 3
    assert render(renamed).image_tag == base.image_tag  # not part of the image
    more_packages = DeploySpec()
    more_packages.image.r_packages = ["forecast"]
    assert render(more_packages).image_tag != base.image_tag
    other_port = DeploySpec()
    other_port.scoring.port = 8001
    assert render(other_port).image_tag != base.image_tag
    fixed = DeploySpec()
    fixed.image.tag = "v1"
    assert render(fixed).image_tag == "v1"
    # the base image and the package snapshot date both feed the tag (issue 13.2)
    other_base = DeploySpec()
    other_base.image.base = "rstudio/plumber:v1.2.0"
    assert render(other_base).image_tag != base.image_tag
    other_date = DeploySpec()
    other_date.image.package_snapshot = "2026-11-20"
    assert render(other_date).image_tag != base.image_tag


def test_dockerfile_contract():
    rendered = render(custom_spec(), registry="myacr.azurecr.io")
    dockerfile = rendered.text("docker-context/Dockerfile")
    lines = [line.strip() for line in dockerfile.splitlines()]
    # the pinned base by default, replaceable by the workspace registry's copy (--build-arg BASE=...)
    assert lines[lines.index("ARG BASE=rstudio/plumber:v1.3.0") + 1] == "FROM ${BASE}"
    # The registry is known: its commands name it (never the ACR_NAME placeholder), and the tag is the same as without
    assert (
        "az acr import -n myacr --source docker.io/rstudio/plumber:v1.3.0 --image base/rstudio/plumber:v1.3.0"
        in dockerfile
    )
    assert "--build-arg BASE=myacr.azurecr.io/base/rstudio/plumber:v1.3.0" in dockerfile
    assert "ACR_NAME" not in dockerfile
    assert rendered.image_tag == render(custom_spec()).image_tag
    assert "ENTRYPOINT []" in lines
    assert lines.index("ENTRYPOINT []") < lines.index('CMD ["Rscript", "/tmp/start_plumber.R"]')
    assert [line for line in lines if line.startswith("RUN ")] == ["RUN Rscript /tmp/install_packages.R"]
    install = rendered.text("docker-context/install_packages.R")
    # plumber and carrier first, the user's packages once each; pak; every package loaded; a dated binary snapshot
    assert 'pkgs <- c("plumber", "carrier", "forecast", "tibble")' in install
    assert "pak::pkg_install(todo" in install and "loadNamespace(p)" in install and "quit(status = 1)" in install
    assert 'repo <- "https://p3m.dev/cran/__linux__/noble/2026-11-02"' in install
    assert "cloud.r-project.org" not in install  # forcing CRAN would compile every package from source
    assert 'Sys.getenv("PLUMBER_PORT", "8080")' in rendered.text("docker-context/start_plumber.R")


def test_generated_plumber_has_the_spec_routes():
    text = render(custom_spec()).text("src/plumber.R")
    assert "#* @get /live" in text and "#* @get /ready" in text and "#* @post /v1/predict" in text
    assert "toJSON" not in text.replace("jsonlite::toJSON()", "")  # never double-encode


def test_users_own_script_is_used(tmp_path):
    (tmp_path / "mine.R").write_text("#* @get /live\nfunction() 'ok'\n")
    spec = DeploySpec()
    spec.scoring.script = "mine.R"
    assert render(spec, base_dir=tmp_path).text("src/plumber.R") == "#* @get /live\nfunction() 'ok'\n"


def test_bad_spec_renders_nothing():
    spec = DeploySpec()
    spec.image.r_packages = ["ok", "x'); system('id"]
    with pytest.raises(SpecError) as info:
        render(spec)
    assert info.value.problems[0].field == "image.r_packages[1]"
    with pytest.raises(SpecError):
        render(DeploySpec(), registry="evil.io/$(id)")


def test_registry_placeholder_when_unknown():
    assert render(DeploySpec()).image.startswith(REGISTRY_PLACEHOLDER + "/r-forecast:")


def test_yaml_loads_with_azure_ai_ml(tmp_path):
    from azure.ai.ml import load_online_deployment, load_online_endpoint

    rendered = render(custom_spec(), registry="myacr.azurecr.io")
    write_folder(rendered, tmp_path)
    endpoint = load_online_endpoint(tmp_path / "endpoint.yml")
    assert (endpoint.name, endpoint.auth_mode) == ("r-endpoint-forecast", "key")
    deployment = load_online_deployment(tmp_path / "deployment.yml")
    assert deployment.name == "green" and deployment.endpoint_name == "r-endpoint-forecast"
    assert deployment.model == "forecast-model:3"  # the loader strips azureml:
    assert deployment.environment.image == rendered.image
    routes = deployment.environment.inference_config
    assert (routes.scoring_route.port, routes.scoring_route.path) == (8080, "/v1/predict")
    assert routes.readiness_route.path == "/ready" and routes.liveness_route.path == "/live"
    assert deployment.code_configuration.scoring_script == "plumber.R"
    assert (tmp_path / deployment.code_configuration.code / "plumber.R").is_file()  # relative to the YAML file
    assert (deployment.instance_type, deployment.instance_count) == ("Standard_F4s_v2", 2)
    assert deployment.liveness_probe.initial_delay == 30 and deployment.readiness_probe.failure_threshold == 30
    assert deployment.request_settings.request_timeout_ms == 5000


def test_latest_model_reference_loads(tmp_path):
    from azure.ai.ml import load_online_deployment

    write_folder(render(DeploySpec()), tmp_path)
    assert load_online_deployment(tmp_path / "deployment.yml").model == "forecast-model@latest"


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_get_the_mode_the_umask_gives(tmp_path, umask, mode):
    """Generated files are the user's own: 0666 less the umask, like any file they make (not mkstemp's 0600)."""
    old = os.umask(umask)
    try:
        written = write_folder(render(DeploySpec()), tmp_path / "out")
    finally:
        os.umask(old)
    assert {oct(p.stat().st_mode & 0o777) for p in written} == {oct(mode)}
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")) == []  # no temporary left
