"""The sandbox's own certificate authority and server certificate.

Kept in the state folder so a restarted sandbox presents the same CA: clients
configured once (REQUESTS_CA_BUNDLE) keep working across restarts.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

_CA = "ca.pem"
_BUNDLE = "ca-bundle.pem"
_CERT = "server-cert.pem"
_KEY = "server-key.pem"


def ensure_certificates(folder: Path) -> Path:
    """Create the CA and a server certificate for 127.0.0.1/localhost once; return the CA bundle path.

    The bundle holds the sandbox CA followed by certifi's public roots, so pointing
    REQUESTS_CA_BUNDLE at it does not break HTTPS to real hosts in the same process.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if not all((folder / name).exists() for name in (_CA, _BUNDLE, _CERT, _KEY)):
        import trustme  # only needed the first time

        ca = trustme.CA(organization_name="rdeploy-tui sandbox")
        server = ca.issue_cert("127.0.0.1", "localhost", "::1")
        _write(folder / _CA, ca.cert_pem.bytes())
        _write(folder / _CERT, b"".join(blob.bytes() for blob in server.cert_chain_pems))
        _write(folder / _KEY, server.private_key_pem.bytes(), private=True)
        _write(folder / _BUNDLE, ca.cert_pem.bytes() + _public_roots())
    return folder / _BUNDLE


def server_context(folder: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / _CERT, folder / _KEY)
    return context


def _public_roots() -> bytes:
    try:
        import certifi
    except ImportError:  # certifi comes with requests; without it the bundle is the sandbox CA alone
        return b""
    return b"\n" + Path(certifi.where()).read_bytes()


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    if private:
        os.chmod(tmp, 0o600)
    os.replace(tmp, path)
