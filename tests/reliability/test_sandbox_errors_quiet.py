"""A sandbox failure never prints a traceback on the user's terminal (it goes to sandbox.log), and an HTTP 5xx answer is
not explained as a network or proxy problem (issue 15 item 9)."""

from __future__ import annotations

import pytest
from sandbox_specs import connection_on

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.sandbox import Sandbox

pytestmark = pytest.mark.sandbox


def test_a_handler_failure_goes_to_the_sandbox_log_not_the_terminal(tmp_path, monkeypatch, capfd):
    from rdeploy_tui.azure import Endpoints, Workspace

    monkeypatch.setenv("RDEPLOY_HOME", str(tmp_path / "home"))
    with Sandbox(tmp_path / "state", time_scale=0.003) as sandbox:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sandbox.ca_bundle))
        with connection_on(sandbox) as session:
            ws = Workspace.open(session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)
            with sandbox.state.edit() as data:  # corrupted while running: a document without its fields
                ws_id = next(w["id"] for w in data["workspaces"].values() if w["name"] == sandbox.workspace_name)
                key = f"{ws_id}/onlineEndpoints/broken".lower()
                data.setdefault("endpoints", {})[key] = {"id": key, "name": "broken", "workspace": ws_id}
            with pytest.raises(RdeployError) as caught:
                Endpoints(ws).list()
        log_text = sandbox.log_path.read_text()
    out, err = capfd.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    assert "Traceback" in log_text and "KeyError" in log_text
    assert "HTTP 500" in caught.value.what and "proxy" not in (caught.value.next_step or "")
