"""Access tokens, endpoint keys and SAS signatures, all derived from the state folder's secret.

Nothing secret is stored in state.json: tokens are self-contained (expiry + HMAC),
endpoint keys and SAS signatures are HMACs of public facts. A restarted sandbox on
the same folder therefore accepts the keys and tokens it issued before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

_PREFIX = "sbx1"


MIN_SECRET_BYTES = 32  # HMAC-SHA256's own key size: shorter secrets make every key and token guessable


def load_secret(folder: Path, warn: Callable[[str], None] | None = None) -> bytes:
    """The folder's secret, created on first use. A secret shorter than 32 bytes (an empty file, a typo'd
    copy) would make every endpoint key, token and SAS computable from public facts: it is replaced by a
    new random one (keys and tokens issued before stop working) and `warn` is told."""
    path = folder / "secret"
    try:
        secret = path.read_bytes() if path.is_file() else None
    except OSError:
        secret = None
    if secret is not None and len(secret) >= MIN_SECRET_BYTES:
        return secret
    if secret is not None or path.exists():
        from rdeploy_tui.sandbox.state import aside_name

        kept = aside_name(path, "weak")
        os.replace(path, kept)
        if warn is not None:
            warn(
                f"The sandbox secret {path} was too short ({len(secret or b'')} bytes, at least {MIN_SECRET_BYTES} needed) "
                f"or unreadable; a new random secret replaces it (old file kept as {kept.name}). Keys and tokens the "
                "sandbox issued before no longer work: sign in and fetch endpoint keys again."
            )
    secret = secrets.token_bytes(MIN_SECRET_BYTES)
    tmp = path.with_suffix(".tmp")
    with open(
        os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb"
    ) as handle:  # never world-readable, not even briefly
        handle.write(secret)
    os.replace(tmp, path)
    return secret


class TokenError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def mac(self, *parts: str) -> str:
        digest = hmac.new(self._secret, "\n".join(parts).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, kind: str, lifetime_s: float, **claims: Any) -> tuple[str, int]:
        expires_on = int(time.time() + lifetime_s)
        payload = _b64(json.dumps({"kind": kind, "exp": expires_on, **claims}, sort_keys=True).encode())
        return f"{_PREFIX}.{payload}.{self.mac(kind, payload)}", expires_on

    def verify(self, token: str, kind: str) -> dict[str, Any]:
        """The token's claims; raises TokenError(code, message) the way ARM words it."""
        try:
            prefix, payload, signature = token.split(".")
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            raise TokenError("InvalidAuthenticationToken", "The access token is invalid.") from None
        if (
            prefix != _PREFIX
            or not hmac.compare_digest(signature, self.mac(kind, payload))
            or claims.get("kind") != kind
        ):
            raise TokenError("InvalidAuthenticationToken", "The access token is invalid.")
        if claims["exp"] <= time.time():
            raise expired_error(claims["exp"])
        return claims

    def endpoint_key(self, endpoint_id: str, slot: str) -> str:
        return self.mac("endpoint-key", endpoint_id.lower(), slot)


def expired_error(expired_at: float) -> TokenError:
    def fmt(ts: float) -> str:
        return datetime.fromtimestamp(ts, timezone.utc).strftime("%m/%d/%Y %H:%M:%S")

    return TokenError(
        "ExpiredAuthenticationToken",
        f"The access token expiry UTC time '{fmt(expired_at)}' is earlier than current UTC time '{fmt(time.time())}'.",
    )


class AccessToken(NamedTuple):
    """The shape azure-core's TokenCredential protocol returns (token, expires_on); the sandbox is a server
    and imports no Azure SDK, so it declares the two fields itself."""

    token: str
    expires_on: int


class SandboxCredential:
    """A TokenCredential for the sandbox: `get_token(*scopes) -> AccessToken` with tokens it accepts.

    `lifetime_s` may be negative to get tokens that are already expired (the server rejects them with 401).
    """

    def __init__(self, signer: Signer, lifetime_s: float = 3600.0) -> None:
        self._signer = signer
        self._lifetime_s = lifetime_s

    @classmethod
    def from_state_dir(cls, state_dir: Path, lifetime_s: float = 3600.0) -> SandboxCredential:
        """For another process on this machine that talks to a sandbox serving `state_dir`."""
        return cls(Signer(load_secret(Path(state_dir))), lifetime_s)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token, expires_on = self._signer.issue("arm", self._lifetime_s, scp=" ".join(scopes))
        return AccessToken(token, expires_on)

    def close(self) -> None:
        """TokenCredential protocol; nothing to release."""

    def __enter__(self) -> SandboxCredential:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
