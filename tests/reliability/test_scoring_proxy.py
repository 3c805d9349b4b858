"""Scoring honours HTTPS_PROXY/NO_PROXY like the Azure SDKs, and the key only ever crosses a proxy inside a CONNECT
tunnel (issue 15 item 11). A real proxy and a real HTTPS server (trustme CA) on loopback."""

from __future__ import annotations

import http.server
import json
import select
import socket
import socketserver
import ssl
import threading

import pytest
import trustme

from rdeploy_tui.scoring.client import ScoringClient
from rdeploy_tui.scoring.proxy import proxy_for
from rdeploy_tui.scoring.target import ScoringTarget

HOST = "scoring.example"  # resolved by the proxy only: a direct connection cannot reach it


class _Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.seen: list[bytes] = []  # every byte the proxy received, to prove the key never crossed it in clear
        super().__init__(("127.0.0.1", 0), _Tunnel)


class _Tunnel(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        self.server.seen.append(head)
        method, target = head.split(b" ")[:2]
        if method != b"CONNECT" or not target.startswith(HOST.encode() + b":"):
            self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        upstream = socket.create_connection(("127.0.0.1", self.server.upstream_port))
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        sockets = [self.request, upstream]
        while True:
            ready, _, _ = select.select(sockets, [], [], 10)
            if not ready:
                break
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    upstream.close()
                    return
                if sock is self.request:
                    self.server.seen.append(data)
                (upstream if sock is self.request else self.request).sendall(data)


class _Score(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps({"auth": self.headers.get("Authorization")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def servers(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert(HOST)
    https = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Score)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    https.socket = context.wrap_socket(https.socket, server_side=True)
    proxy = _Proxy(https.server_address[1])
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (https, proxy)]
    for t in threads:
        t.start()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    yield proxy, str(bundle)
    for s in (https, proxy):
        s.shutdown()
        s.server_close()


def _clear_proxy_env(monkeypatch):
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


def test_scoring_goes_through_https_proxy_in_a_tunnel(servers, monkeypatch):
    proxy, bundle = servers
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    target = ScoringTarget(f"https://{HOST}/score", credential="the-endpoint-key", verify=bundle)
    with ScoringClient() as client:
        result = client.score(target, "{}")
    assert result.status == 200, result.error
    assert result.body["auth"] == "Bearer the-endpoint-key"  # it reached the server...
    seen = b"".join(proxy.seen)
    assert seen.startswith(b"CONNECT scoring.example:443") or b"CONNECT scoring.example:" in seen
    assert b"the-endpoint-key" not in seen  # ...and the proxy never saw it


def test_no_proxy_and_plain_http_and_loopback_go_direct(monkeypatch):
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", ".inference.ml.azure.com,internal.example")
    assert proxy_for("https://ep.westeurope.inference.ml.azure.com/score") is None
    assert proxy_for("https://internal.example/score") is None
    assert proxy_for("http://scoring.example/score") is None  # the key would cross the proxy in clear
    assert proxy_for("https://127.0.0.1:8443/score") is None and proxy_for("https://localhost/score") is None
    assert proxy_for("https://ep.example.com/score") == "http://proxy.corp:3128"
    monkeypatch.setenv("https_proxy", "proxy.corp:8080")  # lower case wins, as in requests; scheme added
    monkeypatch.delenv("HTTPS_PROXY")
    assert proxy_for("https://ep.example.com/score") == "http://proxy.corp:8080"
