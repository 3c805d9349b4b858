"""The sandbox's registries reached as any registry behind an HTTPS proxy: HTTPS_PROXY names the sandbox, which
answers `CONNECT NAME.azurecr.io:443` for its own registries and then the TLS inside (its certificate names
*.azurecr.io). Judged by Microsoft's data-plane SDK (azure-containerregistry, plain https://NAME.azurecr.io with the
proxy from the environment as requests reads it) and by rdeploy-tui's own `az acr login` (azure/acr_login.py)."""

from __future__ import annotations

import hashlib
import io
import socket
import ssl
import tarfile
from urllib.parse import urlsplit

import pytest
from sandbox_specs import connection_on

pytestmark = [pytest.mark.sandbox]


def _proxy_answer(sandbox, first_lines: bytes) -> bytes:
    """What the sandbox answers a client that speaks HTTP in clear (as a proxy client does)."""
    host, port = urlsplit(sandbox.base_url).hostname, urlsplit(sandbox.base_url).port
    with socket.create_connection((host, port), timeout=30) as raw:
        raw.sendall(first_lines)
        return raw.recv(4096)


def test_connect_is_answered_for_the_sandboxs_registries_only(sandbox, login_server):
    ok = _proxy_answer(sandbox, f"CONNECT {login_server}:443 HTTP/1.1\r\nHost: {login_server}:443\r\n\r\n".encode())
    assert ok.startswith(b"HTTP/1.1 200")
    for target in ("example.com:443", "nosuchregistry.azurecr.io:443", f"{login_server}:80"):
        refused = _proxy_answer(sandbox, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        assert refused.startswith(b"HTTP/1.1 403"), (target, refused[:80])
    in_clear = _proxy_answer(sandbox, b"GET /subscriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert in_clear.startswith(b"HTTP/1.1 400")  # ARM is only ever served over TLS


def test_inside_the_tunnel_the_registry_presents_its_own_name(sandbox, login_server):
    host, port = urlsplit(sandbox.base_url).hostname, urlsplit(sandbox.base_url).port
    context = ssl.create_default_context(cafile=str(sandbox.ca_bundle))
    with socket.create_connection((host, port), timeout=30) as raw:
        raw.sendall(f"CONNECT {login_server}:443 HTTP/1.1\r\nHost: {login_server}:443\r\n\r\n".encode())
        assert raw.recv(4096).startswith(b"HTTP/1.1 200")
        with context.wrap_socket(raw, server_hostname=login_server) as tls:  # verifies the name against the CA
            tls.sendall(f"GET /v2/ HTTP/1.1\r\nHost: {login_server}\r\nConnection: close\r\n\r\n".encode())
            assert tls.recv(4096).startswith(b"HTTP/1.1 401")  # the registry's challenge, as ACR answers


def _push_through_the_proxy(sandbox, login_server: str, repository: str) -> str:
    """Push a one-layer image with Microsoft's registry SDK to https://LOGIN_SERVER (HTTPS_PROXY already set)."""
    from azure.containerregistry import ContainerRegistryClient

    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        info = tarfile.TarInfo("tmp/start_plumber.R")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"1\n"))
    layer, config = tar.getvalue(), b'{"architecture": "amd64", "os": "linux"}'
    client = ContainerRegistryClient(
        f"https://{login_server}",
        sandbox.credential(),
        audience=sandbox.base_url,  # the cloud's ARM audience, as on a sovereign cloud
        connection_verify=str(sandbox.ca_bundle),
    )
    with client:
        layer_digest, _ = client.upload_blob(repository, io.BytesIO(layer))
        config_digest, _ = client.upload_blob(repository, io.BytesIO(config))
        assert layer_digest == "sha256:" + hashlib.sha256(layer).hexdigest()
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": len(config),
                "digest": config_digest,
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": len(layer), "digest": layer_digest}
            ],
        }
        return client.set_manifest(repository, manifest, tag="v1")


def test_microsofts_registry_sdk_pushes_through_the_proxy(sandbox, login_server, monkeypatch):
    # Both spellings: requests prefers the lowercase one, which an earlier in-process launch may have left set.
    for name in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, f"http://{urlsplit(sandbox.base_url).netloc}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    assert _push_through_the_proxy(sandbox, login_server, "judge/proxied").startswith("sha256:")


def test_registry_login_reaches_the_registry_as_az_acr_login_does(sandbox, rdeploy_home):
    """No Host-header tricks: the login server's own URL, through the HTTPS_PROXY the launch module sets."""
    from rdeploy_tui.azure import Workspace
    from rdeploy_tui.azure.acr_login import NULL_GUID, image_in_registry, registry_login

    with connection_on(sandbox) as connection:
        ws = Workspace.open(connection, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)
        login = registry_login(ws)
        assert login.username == NULL_GUID and login.password
        assert login.login_server == ws.registry().login_server
        assert image_in_registry(ws, login, "login/known", "v1") is False
        _push_through_the_proxy(sandbox, login.login_server, "login/known")
        assert image_in_registry(ws, login, "login/known", "v1") is True
