"""Each way the local Docker build + push can fail is explained with the next step; no sandbox needed (issue 13.7)."""

from __future__ import annotations

import sys
import threading

import pytest

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.local.docker import run_streaming
from rdeploy_tui.local.plumber import LocalRunError
from rdeploy_tui.pipeline.local_build import _explained, without_tasks_or_engine

IMAGE = "myacr.azurecr.io/r-forecast:3f2a9c"


def test_without_an_engine_the_two_ways_forward():
    refused = RdeployError(
        "ACR Tasks requests are not permitted.",
        None,
        details="TasksOperationsNotAllowed",
        code="TasksOperationsNotAllowed",
    )
    error = without_tasks_or_engine(refused, IMAGE)
    assert error.code == "TasksOperationsNotAllowed" and error.what == refused.what and error.details == refused.details
    assert "No Docker engine" in error.next_step and "pay-as-you-go" in error.next_step
    assert f"docker build -t {IMAGE}" in error.next_step and "az acr login -n myacr" in error.next_step
    assert f"rdeploy-tui deploy --image {IMAGE}" in error.next_step


@pytest.mark.parametrize(
    "code, details, expected, words",
    [
        (
            "login_failed",
            'Error response from daemon: Get "https://myacr.azurecr.io/v2/": dial tcp: lookup myacr.azurecr.io',
            "RegistryLoginFailed",
            ["az acr login -n myacr", "--image"],
        ),
        (
            "build_failed",
            'ERROR: failed to solve: process "/bin/sh -c Rscript /tmp/install_packages.R" did not complete',
            "BuildFailed",
            ["build log", "package list"],
        ),
        (
            "push_failed",
            "denied: requested access to the resource is denied",
            "PushDenied",
            ["AcrPush", "az role assignment create"],
        ),
        ("push_failed", "unauthorized: authentication required", "PushDenied", ["AcrPush"]),
        (
            "push_failed",
            "received unexpected HTTP status: 500 Internal Server Error",
            "PushFailed",
            ["docker's message"],
        ),
        ("docker_missing", None, "LocalDockerFailed", ["docker info", "--image"]),
    ],
)
def test_each_failure_says_what_next(code, details, expected, words):
    error = _explained(LocalRunError("docker said no", None, details=details, code=code), IMAGE)
    assert error.code == expected
    assert error.details == details
    for word in words:
        assert word in error.next_step


def test_cancel_is_not_a_failure():
    error = _explained(LocalRunError("docker build was cancelled", None, code="Cancelled"), IMAGE)
    assert error.code == "Cancelled" and error.next_step is None


def test_streaming_hands_over_lines_and_the_password_only_on_stdin(tmp_path):
    """run_streaming: lines as they come, stdin for the secret, the exit code; cancel stops a command that hangs."""
    script = "import sys; secret = sys.stdin.read(); print('got', len(secret)); print(sys.argv[1:]); sys.exit(3)"
    seen: list[str] = []
    code, tail = run_streaming(
        [sys.executable, "-c", script, "login", "--password-stdin"], on_lines=seen.extend, stdin="s3cret-token"
    )
    assert code == 3 and seen == tail == ["got 12", "['login', '--password-stdin']"]
    cancel = threading.Event()
    hang = "import sys, time; print('started', flush=True); time.sleep(120)"

    def cancel_when_started(lines: list[str]) -> None:
        if "started" in lines:
            cancel.set()

    with pytest.raises(LocalRunError) as stopped:
        run_streaming([sys.executable, "-c", hang], on_lines=cancel_when_started, cancel=cancel)
    assert stopped.value.code == "Cancelled"
