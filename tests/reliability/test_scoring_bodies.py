"""A scoring body that is not JSON, or not UTF-8, is answered 400 saying so, not a bare 500 (issue 15 item 10)."""

from __future__ import annotations

import http.client
import json

import pytest

from rdeploy_tui.deploy_folder.render import render, write_folder
from rdeploy_tui.deploy_folder.sample_model import sample_model_dir
from rdeploy_tui.local.plumber import start_plumber
from rdeploy_tui.spec.deploy_spec import DeploySpec

pytestmark = pytest.mark.r


def _post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", "/score", body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_bodies_that_are_not_json_get_a_400_that_says_so(tmp_path):
    folder = tmp_path / "folder"
    write_folder(render(DeploySpec(), base_dir=tmp_path), folder)
    with start_plumber(
        folder / "src", sample_model_dir(), start_script=folder / "docker-context/start_plumber.R"
    ) as api:
        api.wait_ready(timeout=60)
        for body in (b"this is not json", b'{"forecast_horizon": [1', b'{"x": "\xff\xfe"}'):
            status, answer = _post(api.url, body)
            assert status == 400 and answer["error"].startswith("the request body is not valid JSON"), (body, answer)
        # JSON still works, whatever the Content-Type says
        status, answer = _post(api.url, b'{"forecast_horizon": [1]}', "text/plain")
        assert status == 200, answer
