"""Access tokens, endpoint keys and SAS signatures.

Tokens are JWTs signed RS256 with the sandbox's signing key (signing_key.py, published as Entra publishes its
keys), with the claims Azure's carry; endpoint keys and SAS signatures are HMACs of public facts with the state
folder's secret. Nothing secret is stored in state.json, and a restarted sandbox on the same folder accepts the
keys and tokens it issued before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import jwt

from rdeploy_tui.sandbox.signing_key import SigningKey, load_signing_key

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
                f"The sandbox secret {path} was too short ({len(secret or b'')} bytes, at least {MIN_SECRET_BYTES} "
                f"needed) or unreadable; a new random secret replaces it (old file kept as {kept.name}). Keys and "
                "tokens the sandbox issued before no longer work: sign in and fetch endpoint keys again."
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


# Who issues each kind of token, as the real services name themselves in `iss`:
# - "arm": Microsoft Entra access tokens (v1 shape, what ARM takes): iss https://sts.windows.net/{tenant}/ in Azure;
#   here STS_ISSUER with the tenant, so the issuer is stable across the sandbox's ports like Entra's.
# - "aml": online endpoint tokens (POST .../token): iss and aud "azureml" (a token recorded in azure-sdk-for-python's
#   test_online_deployment recording carries canRefresh, workspaceId, tid, oid, actions, endpointName, serviceId).
# - "acr-refresh" / "acr-access": ACR's own tokens, iss "Azure Container Registry", aud the login server, told apart by
#   grant_type (Azure/acr docs/AAD-OAuth.md shows the decoded refresh and access tokens).
STS_ISSUER = "https://sts.sandbox.rdeploy.invalid/{tenant}/"
AML_ISSUER = "azureml"
ACR_ISSUER = "Azure Container Registry"
_GRANTS = {"acr-refresh": "refresh_token", "acr-access": "access_token"}


def sts_issuer(tenant: str) -> str:
    return STS_ISSUER.format(tenant=tenant)


class Signer:
    """Signs and verifies the sandbox's tokens (RS256 JWTs with its signing key) and derives its HMAC secrets."""

    def __init__(self, secret: bytes, key: SigningKey) -> None:
        self._secret = secret
        self._key = key
        self._public = key.private_key.public_key()

    @property
    def signing_key(self) -> SigningKey:
        return self._key

    def mac(self, *parts: str) -> str:
        digest = hmac.new(self._secret, "\n".join(parts).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, kind: str, lifetime_s: float, **claims: Any) -> tuple[str, int]:
        """A signed JWT of `kind` valid for `lifetime_s` seconds (negative: already expired); returns (token, exp)."""
        now = int(time.time())
        expires_on = int(time.time() + lifetime_s)
        body: dict[str, Any] = {"iat": min(now, expires_on - 1), "nbf": min(now, expires_on - 1), "exp": expires_on}
        if kind == "arm":
            body.update(iss=sts_issuer(str(claims.get("tid") or "")), ver="1.0")
        elif kind == "aml":
            body.update(iss=AML_ISSUER, aud=AML_ISSUER)
        elif kind in _GRANTS:
            body.update(iss=ACR_ISSUER, aud=claims.get("service"), grant_type=_GRANTS[kind], version="1.0")
        else:
            raise ValueError(f"unknown token kind {kind!r}")
        body.update(claims)
        body["jti"] = str(uuid.uuid4())
        headers = {"kid": self._key.kid, "x5t": self._key.kid}
        return jwt.encode(body, self._key.private_key, algorithm="RS256", headers=headers), expires_on

    def verify(self, token: str, kind: str) -> dict[str, Any]:
        """The token's claims once its signature, lifetime and issuer check out; raises TokenError(code, message)
        the way ARM words it. Audience and tenant are the caller's to check (each service answers them its own way)."""
        invalid = TokenError("InvalidAuthenticationToken", "The access token is invalid.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise invalid from None
        if header.get("alg") != "RS256" or header.get("kid") != self._key.kid:
            raise invalid  # signed with another key (or not signed at all: alg none)
        try:
            claims = jwt.decode(
                token,
                self._public,
                algorithms=["RS256"],
                options={"verify_aud": False, "require": ["exp", "nbf", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            expired = jwt.decode(token, options={"verify_signature": False}).get("exp", 0)
            raise expired_error(float(expired)) from None
        except jwt.ImmatureSignatureError:
            raise TokenError("InvalidAuthenticationToken", "The access token is not yet valid (nbf).") from None
        except jwt.InvalidTokenError:
            raise invalid from None
        issuer = str(claims.get("iss") or "")
        if kind == "arm":
            ok = issuer == sts_issuer(str(claims.get("tid") or "")) and bool(claims.get("tid")) and "aud" in claims
        elif kind == "aml":
            ok = issuer == AML_ISSUER
        else:
            ok = issuer == ACR_ISSUER and claims.get("grant_type") == _GRANTS.get(kind)
        if not ok:
            raise invalid
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


TENANT_ID = "72f988bf-0000-4000-8000-00000000a11e"  # the sandbox's one Entra tenant (arm.py re-exports it)
SANDBOX_USER = "sandbox-user@example.com"
SANDBOX_USER_OID = "00000000-0000-0000-0000-00000000a11e"  # the object id ARM's AuthorizationFailed names (server.py)


class SandboxCredential:
    """A TokenCredential for the sandbox: `get_token(*scopes) -> AccessToken` with tokens it accepts.

    The tokens are the sandbox user's (a user principal of the sandbox tenant), for the scope's resource.
    `lifetime_s` may be negative to get tokens that are already expired (the server rejects them with 401).
    """

    def __init__(self, signer: Signer, lifetime_s: float = 3600.0) -> None:
        self._signer = signer
        self._lifetime_s = lifetime_s

    @classmethod
    def from_state_dir(cls, state_dir: Path, lifetime_s: float = 3600.0) -> SandboxCredential:
        """For another process on this machine that talks to a sandbox serving `state_dir`."""
        folder = Path(state_dir)
        return cls(Signer(load_secret(folder), load_signing_key(folder)), lifetime_s)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        resource = next((s.removesuffix("/.default") for s in scopes if s.endswith("/.default")), "")
        token, expires_on = self._signer.issue(
            "arm",
            self._lifetime_s,
            aud=(resource + "/") if resource and not resource.endswith("/") else resource,
            tid=kwargs.get("tenant_id") or TENANT_ID,
            oid=SANDBOX_USER_OID,
            sub=SANDBOX_USER_OID,
            upn=SANDBOX_USER,
            unique_name=SANDBOX_USER,
            name="Sandbox User",
            idtyp="user",
            scp="user_impersonation",
        )
        return AccessToken(token, expires_on)

    def close(self) -> None:
        """TokenCredential protocol; nothing to release."""

    def __enter__(self) -> SandboxCredential:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
