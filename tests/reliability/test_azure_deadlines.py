"""Issue 15 item 4: a wait on Azure has a deadline; past it the user hears what goes on in Azure, what bills, how to check."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from sandbox_specs import sandbox_ml_client

pytestmark = pytest.mark.sandbox


def test_an_endpoint_stuck_in_creating_is_not_waited_for_forever(sandbox, tmp_path, monkeypatch):
    from rdeploy_tui.azure import Workspace, session_for_sandbox
    from rdeploy_tui.azure.online import Endpoints
    from rdeploy_tui.errors import RdeployError
    from rdeploy_tui.sandbox.online import update_doc

    monkeypatch.setenv("RDEPLOY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", os.environ.get("REQUESTS_CA_BUNDLE", ""))
    name = f"stuck-{uuid.uuid4().hex[:8]}"
    client = sandbox_ml_client(sandbox.client_settings())
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    endpoint = client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name)).result()
    # A server that leaves the endpoint in Creating with no operation to finish it (the fault).
    update_doc(sandbox, "endpoints", endpoint.id, state="Creating")
    with session_for_sandbox(sandbox) as session:
        ws = Workspace.open(session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)
        started = time.monotonic()
        with pytest.raises(RdeployError) as caught:
            Endpoints(ws).create_or_update_endpoint(name, "key")
        waited = time.monotonic() - started
    update_doc(sandbox, "endpoints", endpoint.id, state="Succeeded")
    client.online_endpoints.begin_delete(name).result()
    error = caught.value
    assert error.code == "StillRunning"
    assert "may still go on in Azure" in error.what and "does not bill compute" in error.what
    assert f"rdeploy-tui endpoints show {name}" in error.next_step
    assert waited < 60


def test_deadlines_come_from_azures_own_limits():
    from azure.ai.ml.constants._common import LROConfigurations

    from rdeploy_tui.azure import deadlines

    assert deadlines.LRO_WAIT_S == LROConfigurations.POLLING_TIMEOUT  # what az ml waits
    # default probes: 10 s + 10 s x 30 on top of the SDK's wait
    assert deadlines.deployment_wait_s({"initial_delay": 10, "period": 10, "failure_threshold": 30}) == 720 + 310
