"""Sandbox test helpers: SDK clients bound to the shared sandbox, and the files a deployment needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_helpers import create_endpoint, make_deployment, unique_name
from sandbox_specs import sandbox_ml_client


@pytest.fixture(scope="session")
def ml_client(sandbox_server):
    return sandbox_ml_client(sandbox_server.client_settings())


@pytest.fixture(scope="session")
def login_server(sandbox_server):
    """The default workspace's ACR login server."""
    with sandbox_server.state.view() as data:
        ws = next(w for w in data["workspaces"].values() if w["name"] == sandbox_server.workspace_name)
        return data["registries"][ws["container_registry"].lower()]["login_server"]


@pytest.fixture(scope="session")
def app_files(sandbox_server, login_server):
    """The default spec rendered for the sandbox ACR: its image is recorded as built, its src/ is the code folder."""
    from rdeploy_tui.deploy_folder.render import render
    from rdeploy_tui.spec.deploy_spec import default_spec

    rendered = render(default_spec(), registry=login_server)
    sandbox_server.images.record_image(
        login_server,
        rendered.image_repository,
        rendered.image_tag,
        rendered.docker_context(),
        metadata={"entrypoint_reset": True},
    )
    return rendered


@pytest.fixture(scope="session")
def code_dir(app_files, tmp_path_factory) -> Path:
    return app_files.write_code(tmp_path_factory.mktemp("app") / "src")


@pytest.fixture(scope="session")
def deployed(sandbox_server, ml_client, app_files, code_dir):
    """One key-auth endpoint with deployment `blue` taking 100 % of traffic, served by a real plumber.

    Needs R: only use it from tests marked @pytest.mark.r (the marker skips or fails before this runs)."""
    name = unique_name("scored")
    create_endpoint(ml_client, name)
    ml_client.online_deployments.begin_create_or_update(
        make_deployment("blue", name, app_files.image, code_dir), skip_script_validation=True
    ).result()
    endpoint = ml_client.online_endpoints.get(name)
    endpoint.traffic = {"blue": 100}
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    return ml_client.online_endpoints.get(name)
