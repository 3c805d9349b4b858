"""The sandbox checks the key before reading a body, answers 405 (not the blob emulator) on a GET of the scoring URI,
and its request log is bounded (issue 15 item 10)."""

from __future__ import annotations

import socket
import ssl

import pytest

pytestmark = pytest.mark.sandbox


def _raw(sandbox, head: str) -> str:
    """Send only a request head (no body, whatever Content-Length says) and read the answer's status line."""
    context = ssl.create_default_context(cafile=str(sandbox.ca_bundle))
    with (
        socket.create_connection(("127.0.0.1", sandbox.port), timeout=20) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(head.encode())
        return tls.recv(65536).decode(errors="replace")


@pytest.mark.parametrize("path", ["/endpoints/no-such-endpoint/score", "/subscriptions/x/resourceGroups/y"])
def test_a_caller_without_a_key_is_refused_before_its_body_is_read(sandbox, path):
    # 512 MiB announced, none sent: an answer proves the sandbox did not wait for (or read) the body.
    answer = _raw(
        sandbox,
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 536870000\r\n\r\n",
    )
    assert answer.split(" ", 2)[1] in ("401", "404"), answer[:200]


def test_a_get_on_the_scoring_uri_is_not_answered_by_the_blob_emulator(sandbox):
    answer = _raw(sandbox, "GET /endpoints/any/score HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith("HTTP/1.1 405") and "Allow: POST" in answer and "x-ms-blob" not in answer.lower()


def test_the_request_log_is_bounded(sandbox):
    from rdeploy_tui.sandbox.server import REQUEST_LOG_MAX

    for _ in range(REQUEST_LOG_MAX * 2):
        sandbox.request_log.append({"method": "GET", "path": "/", "status": 200})
    assert len(sandbox.request_log) <= REQUEST_LOG_MAX * 1.1
