"""Specs for tests that deploy to the shared sandbox (importable from every test folder)."""
from __future__ import annotations


def spec_on_sandbox(sandbox, endpoint_name: str, workspace: str | None = None):
    """A default spec aimed at the sandbox's workspace (or another one of its workspaces)."""
    from rdeploy_tui.spec import default_spec

    spec = default_spec()
    spec.workspace.subscription_id = sandbox.subscription_id
    spec.workspace.resource_group = sandbox.resource_group
    spec.workspace.name = workspace or sandbox.workspace_name
    spec.endpoint.name = endpoint_name
    return spec
