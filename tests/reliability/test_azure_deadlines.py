"""A wait on Azure has a deadline, Azure's own; past it the user hears what goes on, what bills, how to check."""

from __future__ import annotations

import time
import uuid

import pytest
from sandbox_specs import connection_on

pytestmark = pytest.mark.sandbox


def test_an_endpoint_stuck_in_creating_is_waited_for_until_azures_own_timeout(sandbox, tmp_path, monkeypatch):
    """The create's answer announced how long the operation may run (x-ms-async-operation-timeout); an endpoint
    still Creating past that is not waited for any longer, and the user hears what goes on and what bills."""
    from rdeploy_tui.azure import Workspace
    from rdeploy_tui.azure.online import Endpoints
    from rdeploy_tui.errors import RdeployError
    from rdeploy_tui.sandbox.arm import workspace_id
    from rdeploy_tui.sandbox.online import update_doc

    monkeypatch.setenv("RDEPLOY_HOME", str(tmp_path / "home"))
    name = f"stuck-{uuid.uuid4().hex[:8]}"
    with connection_on(sandbox) as session:
        ws = Workspace.open(session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)
        endpoints = Endpoints(ws)
        endpoints.create_or_update_endpoint(name, "key")
        announced = session.pace.operation_timeout(f"/onlineEndpoints/{name}")
        assert announced is not None and announced < 60  # the sandbox's PT30M, scaled like its durations
        endpoint_id = f"{workspace_id(sandbox.subscription_id, sandbox.resource_group, ws.name)}/onlineEndpoints/{name}"
        # A server that leaves the endpoint in Creating with no operation to finish it (the fault).
        update_doc(sandbox, "endpoints", endpoint_id, state="Creating")
        started = time.monotonic()
        with pytest.raises(RdeployError) as caught:
            endpoints.create_or_update_endpoint(name, "key")
        waited = time.monotonic() - started
        update_doc(sandbox, "endpoints", endpoint_id, state="Succeeded")
        endpoints.delete(name)
    error = caught.value
    assert error.code == "StillRunning"
    assert "may still go on in Azure" in error.what and "does not bill compute" in error.what
    assert f"rdeploy-tui endpoints show {name}" in error.next_step
    assert announced <= waited < 60


def test_deadlines_come_from_azures_own_limits():
    from azure.ai.ml.constants._common import LROConfigurations

    from rdeploy_tui.azure import deadlines

    assert deadlines.LRO_WAIT_S == LROConfigurations.POLLING_TIMEOUT  # what az ml waits
    # default probes: 10 s + 10 s x 30 on top of the SDK's wait
    assert deadlines.deployment_wait_s({"initial_delay": 10, "period": 10, "failure_threshold": 30}) == 720 + 310
