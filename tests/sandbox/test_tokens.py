"""The sandbox's tokens are JWTs a stranger can verify, and its ARM checks them as ARM does.

The judge of the tokens is PyJWT's own JWKS client, pointed only at the tenant's openid-configuration: it finds the
keys the way any Entra relying party does and verifies signature, audience, issuer and lifetime."""

from __future__ import annotations

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

pytestmark = pytest.mark.sandbox


def _jwks_client(sandbox, metadata_path: str) -> tuple[jwt.PyJWKClient, dict]:
    import ssl

    metadata = requests.get(f"{sandbox.base_url}{metadata_path}", verify=str(sandbox.ca_bundle), timeout=5).json()
    context = ssl.create_default_context(cafile=str(sandbox.ca_bundle))
    return jwt.PyJWKClient(metadata["jwks_uri"], ssl_context=context), metadata


def _arm(sandbox, token: str, path: str | None = None) -> requests.Response:
    return requests.get(
        f"{sandbox.base_url}{path or f'/subscriptions/{sandbox.subscription_id}/resourcegroups'}",
        params={"api-version": "2022-12-01"},
        headers={"Authorization": f"Bearer {token}"},
        verify=str(sandbox.ca_bundle),
        timeout=5,
    )


def test_a_service_principal_token_verifies_against_the_published_keys(sandbox):
    from azure.identity import ClientSecretCredential

    sp = sandbox.service_principal
    credential = ClientSecretCredential(
        sp.tenant_id,
        sp.client_id,
        sp.client_secret,
        authority=sandbox.base_url,
        disable_instance_discovery=True,
        connection_verify=str(sandbox.ca_bundle),
    )
    token = credential.get_token(sandbox.base_url + "/.default").token
    keys, metadata = _jwks_client(sandbox, f"/{sp.tenant_id}/.well-known/openid-configuration")
    claims = jwt.decode(
        token,
        keys.get_signing_key_from_jwt(token).key,
        algorithms=["RS256"],
        audience=[sandbox.base_url, sandbox.base_url + "/"],  # the resource as asked, as Entra names it
        issuer=metadata["issuer"],
        options={"require": ["exp", "iat", "nbf", "aud", "iss"]},
    )
    assert claims["tid"] == sp.tenant_id and claims["appid"] == sp.client_id and claims["oid"]
    assert claims["iat"] <= claims["nbf"] + 1 and claims["exp"] > claims["iat"]
    # The v2.0 keys endpoint serves the same key, with the v2 issuer beside it, as Entra's does.
    v2_keys, _ = _jwks_client(sandbox, f"/{sp.tenant_id}/v2.0/.well-known/openid-configuration")
    assert v2_keys.get_signing_key_from_jwt(token).key_id == jwt.get_unverified_header(token)["kid"]


def test_tokens_from_another_tenant_are_refused_naming_both_tenants(sandbox):
    other = "11111111-2222-3333-4444-555555555555"
    token, _ = sandbox.signer.issue("arm", 600, aud=sandbox.base_url + "/", tid=other, oid="x")
    answer = _arm(sandbox, token)
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert error["code"] == "InvalidAuthenticationTokenTenant"
    assert f"/{other}/'" in error["message"] and "associated with this subscription" in error["message"]
    # The same token, from the right tenant, is served.
    from rdeploy_tui.sandbox.arm import TENANT_ID

    good, _ = sandbox.signer.issue("arm", 600, aud=sandbox.base_url + "/", tid=TENANT_ID, oid="x")
    assert _arm(sandbox, good).status_code == 200


def test_forged_unsigned_and_expired_tokens_are_refused(sandbox):
    from rdeploy_tui.sandbox.arm import TENANT_ID

    claims = {
        "aud": sandbox.base_url + "/",
        "tid": TENANT_ID,
        "iss": f"https://sts.sandbox.rdeploy.invalid/{TENANT_ID}/",
    }
    claims.update(exp=2_000_000_000, nbf=1, iat=1)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = sandbox.signer.signing_key.kid
    forged = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": kid})
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token in (forged, unsigned):
        answer = _arm(sandbox, token)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "InvalidAuthenticationToken"
    expired = sandbox.credential(lifetime_s=-60).get_token(sandbox.base_url + "/.default").token
    answer = _arm(sandbox, expired)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "ExpiredAuthenticationToken"


def test_the_signing_key_survives_a_restart_and_is_private(tmp_path):
    from rdeploy_tui.sandbox import Sandbox

    with Sandbox(tmp_path / "s", time_scale=0.003) as first:
        token = first.credential().get_token(first.base_url + "/.default").token
        port = first.port
    assert (tmp_path / "s" / "signing-key.pem").stat().st_mode & 0o077 == 0
    with Sandbox(tmp_path / "s", port=port, time_scale=0.003) as second:
        assert _arm(second, token).status_code == 200
