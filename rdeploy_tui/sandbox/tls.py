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
_CA_KEY = "ca-key.pem"
# The names the server certificate covers: the sandbox's address, and its registries' login servers
# (NAME.azurecr.io), which clients reach through the sandbox as an HTTPS proxy (CONNECT, see server.py).
SERVER_NAMES = ("127.0.0.1", "localhost", "::1", "*.azurecr.io")


def ensure_certificates(folder: Path) -> Path:
    """Create the CA and a server certificate for SERVER_NAMES once; return the CA bundle path.

    The bundle holds the sandbox CA followed by certifi's public roots, so pointing
    REQUESTS_CA_BUNDLE at it does not break HTTPS to real hosts in the same process. A folder whose
    server certificate predates a name in SERVER_NAMES gets a new one from the same CA when its key was
    kept; a folder from before the CA key was kept gets a new CA (clients then read the new ca.pem).
    """
    folder.mkdir(parents=True, exist_ok=True)
    if all((folder / name).exists() for name in (_CA, _BUNDLE, _CERT, _KEY)) and _covers(folder / _CERT):
        return folder / _BUNDLE
    import trustme  # only needed when a certificate is made

    if (folder / _CA).exists() and (folder / _CA_KEY).exists():
        ca = trustme.CA.from_pem((folder / _CA).read_bytes(), (folder / _CA_KEY).read_bytes())
    else:
        ca = trustme.CA(organization_name="rdeploy-tui sandbox")
        _write(folder / _CA_KEY, ca.private_key_pem.bytes(), private=True)
        _write(folder / _CA, ca.cert_pem.bytes())
    server = ca.issue_cert(*SERVER_NAMES)
    _write(folder / _CERT, b"".join(blob.bytes() for blob in server.cert_chain_pems))
    _write(folder / _KEY, server.private_key_pem.bytes(), private=True)
    _write(folder / _BUNDLE, ca.cert_pem.bytes() + _public_roots())
    return folder / _BUNDLE


def _covers(cert: Path) -> bool:
    """Whether the server certificate names every entry of SERVER_NAMES."""
    from cryptography import x509

    try:
        names = x509.load_pem_x509_certificate(cert.read_bytes()).extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
    except (ValueError, x509.ExtensionNotFound):
        return False
    have = {str(n) for n in names.value.get_values_for_type(x509.DNSName)}
    have |= {str(ip) for ip in names.value.get_values_for_type(x509.IPAddress)}
    return all(name in have for name in SERVER_NAMES)


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
