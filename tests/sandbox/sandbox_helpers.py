"""Helpers shared by the sandbox tests (imported by name: the tests folder is not a package)."""

from __future__ import annotations

import itertools
import os
import uuid
from pathlib import Path

_counter = itertools.count()


def unique_name(prefix: str) -> str:
    """Endpoint names are unique per region and tests share one sandbox: give each test its own."""
    return f"{prefix}-{os.getpid() % 1000}-{next(_counter)}-{uuid.uuid4().hex[:4]}"


def make_deployment(
    name: str,
    endpoint: str,
    image: str,
    code: Path,
    *,
    model: str = "forecast-model:1",
    instance_count: int = 1,
    instance_type: str = "Standard_DS3_v2",
):
    """A fresh ManagedOnlineDeployment (the SDK mutates the one it is given)."""
    from azure.ai.ml.entities import CodeConfiguration, Environment, ManagedOnlineDeployment

    routes = {"port": 8000}
    environment = Environment(
        image=image,
        inference_config={
            "liveness_route": {**routes, "path": "/live"},
            "readiness_route": {**routes, "path": "/ready"},
            "scoring_route": {**routes, "path": "/score"},
        },
    )
    return ManagedOnlineDeployment(
        name=name,
        endpoint_name=endpoint,
        model=model,
        environment=environment,
        code_configuration=CodeConfiguration(code=str(code), scoring_script="plumber.R"),
        instance_type=instance_type,
        instance_count=instance_count,
    )


def create_endpoint(ml_client, name: str, auth_mode: str = "key"):
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    return ml_client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name=name, auth_mode=auth_mode)
    ).result()
