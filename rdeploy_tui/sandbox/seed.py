"""The sandbox's first start on a state folder: what a new user finds there."""

from __future__ import annotations

from typing import Any

from rdeploy_tui.sandbox import ml
from rdeploy_tui.sandbox.arm import (
    DEFAULT_RESOURCE_GROUP,
    DEFAULT_SUBSCRIPTION,
    DEFAULT_WORKSPACE,
    DISABLED_SUBSCRIPTION,
    NO_ACR_WORKSPACE,
    ensure_subscription,
    ensure_workspace,
)


def seed(sandbox: Any) -> None:
    """First start on a folder: two subscriptions (one disabled), a resource group, a workspace with an ACR
    and one without, and the sample model in the default workspace."""
    with sandbox.state.view() as data:
        if data.get("seeded"):
            return
    ensure_subscription(sandbox, DISABLED_SUBSCRIPTION, "Sandbox (disabled)", state="Disabled")
    ws = ensure_workspace(sandbox, DEFAULT_SUBSCRIPTION, DEFAULT_RESOURCE_GROUP, DEFAULT_WORKSPACE, with_registry=True)
    ensure_workspace(sandbox, DEFAULT_SUBSCRIPTION, DEFAULT_RESOURCE_GROUP, NO_ACR_WORKSPACE, with_registry=False)
    ml.ensure_sample_model(sandbox, ws["id"], ml.SAMPLE_MODEL_NAME)
    with sandbox.state.edit() as data:
        data["seeded"] = True
