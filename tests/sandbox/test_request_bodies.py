"""Bodies are bounded and unauthenticated ones are never read: the sandbox decides from the headers first."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.sandbox
UPLOAD = 100 * 1024 * 1024


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _upload(sandbox, path: str, length: int, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Send a request announcing `length` bytes and stream zeros until the server answers or hangs up."""
    context = ssl.create_default_context(cafile=str(sandbox.ca_bundle))
    raw = socket.create_connection(("127.0.0.1", sandbox.port), timeout=30)
    with raw, context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
        head = f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\nx-ms-blob-type: BlockBlob\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()) + "\r\n"
        conn.sendall(head.encode())
        chunk, sent = b"\0" * (1024 * 1024), 0
        conn.settimeout(0.5)
        answer = b""
        while sent < length:
            try:
                conn.sendall(chunk)
                sent += len(chunk)
                answer += conn.recv(65536)  # an early answer (the refusal) arrives while we still send
                if b"\r\n\r\n" in answer:
                    break
            except TimeoutError:
                continue
            except (ConnectionError, ssl.SSLError):
                break
        conn.settimeout(30)
        try:
            while b"\r\n\r\n" not in answer:
                data = conn.recv(65536)
                if not data:
                    break
                answer += data
        except (ConnectionError, ssl.SSLError, TimeoutError):
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer


def test_unauthenticated_uploads_are_refused_without_reading_them(sandbox):
    sandbox.blobs.ensure_container("bodies")
    before = _rss_kib()
    results: list[int] = []

    def one(n: int) -> None:
        results.append(_upload(sandbox, f"/sandboxstore/bodies/big-{n}.bin", UPLOAD)[0])

    threads = [threading.Thread(target=one, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    grown_mib = (_rss_kib() - before) / 1024
    assert sorted(results) == [401] * 4
    # Four 100 MB bodies read whole would add ~400 MB; refused from the headers, the sandbox barely moves.
    assert grown_mib < 48, f"the sandbox grew by {grown_mib:.0f} MiB"
    assert sandbox.blobs.list_blobs("bodies") == []


def test_an_arm_body_over_its_limit_is_413_before_it_is_read(sandbox):
    token = sandbox.credential().get_token(sandbox.base_url + "/.default").token
    path = (
        f"/subscriptions/{sandbox.subscription_id}/resourceGroups/{sandbox.resource_group}/providers/"
        f"Microsoft.MachineLearningServices/workspaces/{sandbox.workspace_name}/onlineEndpoints/huge?api-version=2024-04-01"
    )
    status, answer = _upload(
        sandbox, path, 50 * 1024 * 1024, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    assert status == 413, answer[:300]
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1][:2000] or b"{}") if b"{" in answer else {}
    assert not body or body["error"]["code"] == "RequestEntityTooLarge"
