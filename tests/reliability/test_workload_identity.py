"""A federated token file (AZURE_FEDERATED_TOKEN_FILE, workload identity on AKS and CI) signs in through
azure-identity's WorkloadIdentityCredential: the file's token reaches Entra as the client assertion (issue 15 item 11).
Entra here is a small HTTPS server on loopback (trustme CA) that records the token request."""

from __future__ import annotations

import base64
import http.server
import json
import ssl
import threading
from typing import ClassVar
from urllib.parse import parse_qsl

import pytest
import trustme

TENANT = "72f988bf-0000-0000-0000-000000000001"
CLIENT = "0f0e0d0c-0000-0000-0000-000000000002"


def _jwt(claims: dict) -> str:
    part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


class _Entra(http.server.BaseHTTPRequestHandler):
    token_requests: ClassVar[list[dict]] = []  # one handler per request: what they saw is kept on the class

    def _json(self, doc: dict) -> None:
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        base = f"https://localhost:{self.server.server_address[1]}"
        self._json(
            {
                "token_endpoint": f"{base}/{TENANT}/oauth2/v2.0/token",
                "issuer": f"{base}/{TENANT}/v2.0",
                "authorization_endpoint": f"{base}/{TENANT}/oauth2/v2.0/authorize",
            }
        )

    def do_POST(self) -> None:
        form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        _Entra.token_requests.append(form)
        self._json(
            {
                "token_type": "Bearer",
                "expires_in": 3600,
                "access_token": _jwt({"appid": CLIENT, "tid": TENANT, "app_displayname": "ci-deployer"}),
            }
        )

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def entra(tmp_path):
    ca = trustme.CA()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Entra)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    _Entra.token_requests.clear()
    yield f"https://localhost:{server.server_address[1]}", str(bundle)
    server.shutdown()
    server.server_close()


def test_a_federated_token_file_signs_in_through_workload_identity(entra, tmp_path, monkeypatch):
    from azure.identity import WorkloadIdentityCredential

    from rdeploy_tui.azure.credentials import build_credential, identity_from_token

    authority, bundle = entra
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text("federated-oidc-token-from-the-ci")
    for name in ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT)
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("PATH", str(tmp_path))  # no az CLI: workload identity is the only source
    credential, source = build_credential(authority, ca_bundle=bundle)
    assert source == "workload identity" and isinstance(credential, WorkloadIdentityCredential)
    token = credential.get_token("https://management.azure.com/.default")
    sent = _Entra.token_requests[-1]
    assert sent["client_assertion"] == "federated-oidc-token-from-the-ci"
    assert sent["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert sent["client_id"] == CLIENT
    who = identity_from_token(token.token, source)
    assert who.kind == "service principal" and who.name == "ci-deployer" and who.tenant_id == TENANT
