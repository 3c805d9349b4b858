"""The day-2 commands that only read or delete never import azure.ai.ml (~1.5 s of a ~1.8 s command): they go
over plain ARM REST (azure/rest_online.py). Run as a user does, in a fresh interpreter on an in-process sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.sandbox

_PROBE = """
import json, sys
from rdeploy_tui.cli import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "azure.ai.ml": "azure.ai.ml" in sys.modules}), file=sys.stderr)
"""


def _run(args: list[str], home) -> tuple[dict, subprocess.CompletedProcess]:
    env = {**os.environ, "RDEPLOY_HOME": str(home), "RDEPLOY_SANDBOX_TIME_SCALE": "0.003"}
    env.pop("REQUESTS_CA_BUNDLE", None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=180,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stderr.strip().splitlines()[-1]), done


def test_read_and_delete_commands_never_import_azure_ai_ml(tmp_path):
    home = tmp_path / "h"
    listed, done = _run(["endpoints", "list", "--sandbox", "--json"], home)
    assert listed == {"rc": 0, "azure.ai.ml": False}, done.stderr
    assert json.loads(done.stdout) == []
    shown, done = _run(["endpoints", "show", "no-such-endpoint", "--sandbox"], home)
    assert shown == {"rc": 1, "azure.ai.ml": False} and "no-such-endpoint" in done.stderr
    logs, done = _run(["endpoints", "logs", "no-such-endpoint", "--sandbox"], home)
    assert logs == {"rc": 1, "azure.ai.ml": False}, done.stderr
    scored, done = _run(["endpoints", "score", "no-such-endpoint", "--sandbox", "--data", "{}"], home)
    assert scored == {"rc": 1, "azure.ai.ml": False}, done.stderr
    deleted, done = _run(["endpoints", "delete", "no-such-endpoint", "--sandbox", "--yes"], home)
    assert deleted["azure.ai.ml"] is False, done.stderr
