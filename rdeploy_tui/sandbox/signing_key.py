"""The sandbox's own token-signing key, published the way Microsoft Entra publishes its keys.

One RSA key (2048 bits, RS256, as Entra signs access tokens) with a self-signed certificate, kept in the state folder
(`signing-key.pem`, mode 0600) so a restarted sandbox accepts the tokens it issued before. Its public half is
served as a JSON Web Key Set (login.py: `{authority}/{tenant}/discovery/v2.0/keys`, the `jwks_uri` of the tenant's
openid-configuration), each key as Entra lists it: kty, use, kid (= x5t, the certificate's SHA-1 thumbprint, base64url),
x5t, n, e, x5c (https://learn.microsoft.com/entra/identity-platform/signing-key-rollover, "Validating the signature").
"""

from __future__ import annotations

import base64
import datetime
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

KEY_FILE = "signing-key.pem"  # the private key and its certificate, in one PEM file
KEY_BITS = 2048


@dataclass(frozen=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def kid(self) -> str:
        """The key id tokens name in their header: the certificate's SHA-1 thumbprint, base64url (Entra's x5t)."""
        return _b64url(self.certificate.fingerprint(hashes.SHA1()))

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self, issuer: str) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": _b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": _b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
            "x5c": [base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode()],
            "issuer": issuer,
        }


def load_signing_key(folder: Path, warn: Callable[[str], None] | None = None) -> SigningKey:
    """The folder's signing key, created on first use; an unreadable one is kept aside and replaced (warn says so)."""
    path = Path(folder) / KEY_FILE
    if path.is_file():
        try:
            return _parse(path.read_bytes())
        except (OSError, ValueError, IndexError) as exc:
            from rdeploy_tui.sandbox.state import aside_name

            kept = aside_name(path, "corrupt")
            os.replace(path, kept)
            if warn is not None:
                warn(
                    f"The sandbox signing key {path} could not be read ({exc}); a new key replaces it (old file kept "
                    f"as {kept.name}). Tokens the sandbox issued before no longer verify: sign in again."
                )
    key = _new_key()
    data = key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + key.certificate.public_bytes(serialization.Encoding.PEM)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:  # never world-readable
        handle.write(data)
    os.replace(tmp, path)
    return key


def _parse(data: bytes) -> SigningKey:
    private = serialization.load_pem_private_key(data, password=None)
    if not isinstance(private, rsa.RSAPrivateKey) or private.key_size < KEY_BITS:
        raise ValueError("not an RSA key of at least 2048 bits")
    certificate = x509.load_pem_x509_certificates(data)[0]
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey) or public.public_numbers() != private.public_key().public_numbers():
        raise ValueError("the certificate is not the key's")
    return SigningKey(private, certificate)


def _new_key() -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rdeploy-tui sandbox token signing")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(private, hashes.SHA256())
    )
    return SigningKey(private, certificate)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
