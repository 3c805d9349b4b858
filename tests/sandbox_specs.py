"""Specs and SDK clients for tests that use the shared sandbox (importable from every test folder)."""

from __future__ import annotations


def spec_on_sandbox(sandbox, endpoint_name: str, workspace: str | None = None):
    """A default spec aimed at the sandbox's workspace (or another one of its workspaces)."""
    from rdeploy_tui.spec.deploy_spec import default_spec

    spec = default_spec()
    spec.workspace.subscription_id = sandbox.subscription_id
    spec.workspace.resource_group = sandbox.resource_group
    spec.workspace.name = workspace or sandbox.workspace_name
    spec.endpoint.name = endpoint_name
    return spec


def sandbox_ml_client(settings, *, subscription_id=None, resource_group=None, workspace_name=None, **kwargs):
    """A real azure.ai.ml MLClient bound to a sandbox (its ClientSettings); the sandbox itself never imports the SDK."""
    from azure.ai.ml import MLClient

    return MLClient(
        settings.credential(),
        subscription_id or settings.subscription_id,
        resource_group or settings.resource_group,
        workspace_name or settings.workspace_name,
        **settings.ml_client_kwargs(),
        **kwargs,
    )


def endpoint_in_sandbox_folder(folder, name: str, time_scale: float = 0.003) -> None:
    """Create endpoint `name` (no deployment: no R needed) in the sandbox kept in `folder`, as another client would."""
    import pytest
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    from rdeploy_tui.sandbox import Sandbox

    with Sandbox(folder, time_scale=time_scale) as sandbox, pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(sandbox.ca_bundle))
        client = sandbox_ml_client(sandbox.client_settings())
        client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name, auth_mode="key")).result()


def connection_on(sandbox, requested=None):
    """An AzureConnection on a running sandbox, made the way `--sandbox` makes it (rdeploy_tui.launch): the core's
    own connect() with the sandbox's ARM URL and CA, signed in as its service principal, its prices and package
    index, HTTPS_PROXY for its registries. Use it with `with`, or close it: closing restores the variables it set."""
    import os

    from rdeploy_tui import launch

    saved = {name: os.environ.get(name) for name in _CONNECTION_VARIABLES}

    def restore() -> None:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    try:
        return launch.connect_to(sandbox, requested, on_close=restore)
    except BaseException:
        restore()
        raise


_CONNECTION_VARIABLES = ("REQUESTS_CA_BUNDLE", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy")
