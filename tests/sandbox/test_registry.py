"""The sandbox registries' data plane: ACR's token exchange and the OCI push protocol (sandbox/registry.py).

Judged from outside by Microsoft's own data-plane SDK, azure-containerregistry (its challenge policy does the
/oauth2/exchange + /oauth2/token dance with a TokenCredential; its upload_blob is POST + PATCH chunks + PUT ?digest=;
set_manifest checks the Docker-Content-Digest it gets back), and at the protocol level with httpx for the answers
ACR documents (AAD-OAuth.md: the challenge header and the token bodies) and the refusals."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import ssl
import tarfile

import httpx
import pytest

pytestmark = [pytest.mark.sandbox]


@pytest.fixture
def http(sandbox):
    with httpx.Client(
        base_url=sandbox.base_url, verify=ssl.create_default_context(cafile=str(sandbox.ca_bundle)), timeout=30
    ) as client:
        yield client


def test_the_ping_challenges_as_acr_does(http, login_server):
    answer = http.get("/v2/", headers={"Host": login_server})
    assert answer.status_code == 401
    assert (
        answer.headers["WWW-Authenticate"]
        == f'Bearer realm="https://{login_server}/oauth2/token",service="{login_server}"'
    )
    assert answer.json()["errors"][0]["code"] == "UNAUTHORIZED"
    unknown = http.get("/v2/", headers={"Host": "nosuchregistry.azurecr.io"})
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "NAME_UNKNOWN"


def _exchange(http, login_server, token, **extra):
    form = {"grant_type": "access_token", "service": login_server, "access_token": token, **extra}
    return http.post("/oauth2/exchange", data=form, headers={"Host": login_server})


def test_the_exchange_takes_a_valid_sandbox_arm_token_only(http, sandbox, login_server):
    from rdeploy_tui.sandbox.arm import TENANT_ID

    good = _exchange(
        http, login_server, sandbox.credential().get_token(sandbox.base_url + "/.default").token, tenant=TENANT_ID
    )
    assert good.status_code == 200 and set(good.json()) == {"refresh_token"}
    refresh = good.json()["refresh_token"]
    for token, extra in (
        (sandbox.credential(lifetime_s=-60).get_token(sandbox.base_url + "/.default").token, {}),  # expired
        ("eyJhbGciOiJub25lIn0.e30.", {}),  # not the sandbox's
        (refresh, {}),  # an ACR refresh token is not an AAD token
        (
            sandbox.credential().get_token(sandbox.base_url + "/.default").token,
            {"tenant": "11111111-2222-3333-4444-555555555555"},
        ),
    ):
        refused = _exchange(http, login_server, token, **extra)
        assert refused.status_code == 401, refused.text
        assert refused.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert (
        _exchange(
            http,
            login_server,
            sandbox.credential().get_token(sandbox.base_url + "/.default").token,
            service="other.azurecr.io",
        ).status_code
        == 400
    )
    # the refresh token buys an access token (POST form, AAD-OAuth.md), and only for its own registry
    scope = "repository:some/repo:pull,push"
    access = http.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "service": login_server, "scope": scope, "refresh_token": refresh},
        headers={"Host": login_server},
    )
    assert access.status_code == 200 and "access_token" in access.json()
    ping = http.get("/v2/", headers={"Host": login_server, "Authorization": f"Bearer {access.json()['access_token']}"})
    assert ping.status_code == 200
    wrong = http.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "service": login_server, "scope": scope, "refresh_token": "sbx1.e30.nope"},
        headers={"Host": login_server},
    )
    assert wrong.status_code == 401


def _image_blobs() -> tuple[bytes, bytes]:
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        data = b"cat('hello from a pushed image\\n')\n"
        info = tarfile.TarInfo("tmp/start_plumber.R")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": None, "Cmd": ["Rscript", "/tmp/start_plumber.R"]},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer.getvalue()).hexdigest()]},
        }
    ).encode()
    return gzip.compress(layer.getvalue(), mtime=0), config


def test_the_azure_sdk_pushes_an_image_the_sandbox_then_knows(sandbox, login_server):
    from azure.containerregistry import ContainerRegistryClient

    layer, config = _image_blobs()
    client = ContainerRegistryClient(
        sandbox.base_url,
        sandbox.credential(),
        audience=sandbox.base_url,  # the cloud's ARM audience, as on a sovereign cloud
        connection_verify=str(sandbox.ca_bundle),
        headers={"Host": login_server},
    )
    with client:
        layer_digest, _ = client.upload_blob("judge/sdk", io.BytesIO(layer))
        config_digest, _ = client.upload_blob("judge/sdk", io.BytesIO(config))
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": len(config),
                "digest": config_digest,
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": len(layer), "digest": layer_digest}
            ],
        }
        digest = client.set_manifest("judge/sdk", manifest, tag="v1")
        got = client.get_manifest("judge/sdk", "v1")
    assert layer_digest == "sha256:" + hashlib.sha256(layer).hexdigest()
    assert got.digest == digest and got.manifest["layers"][0]["digest"] == layer_digest
    image = sandbox.images.get_image(login_server, "judge/sdk", "v1")
    assert image is not None and image.files() == {"tmp/start_plumber.R": b"cat('hello from a pushed image\\n')\n"}
    assert image.metadata["start_script"] == "tmp/start_plumber.R"
    assert image.metadata["container"]["entrypoint"] is None  # what the pushed config says starts the container


def test_the_protocol_refusals(http, sandbox, login_server):
    refresh = _exchange(
        http, login_server, sandbox.credential().get_token(sandbox.base_url + "/.default").token
    ).json()["refresh_token"]

    def bearer(scope: str) -> dict[str, str]:
        token = http.post(
            "/oauth2/token",
            data={"grant_type": "refresh_token", "service": login_server, "scope": scope, "refresh_token": refresh},
            headers={"Host": login_server},
        ).json()["access_token"]
        return {"Host": login_server, "Authorization": f"Bearer {token}"}

    push = bearer("repository:judge/raw:pull,push")
    # no token: the challenge names the scope to ask for
    anonymous = http.post("/v2/judge/raw/blobs/uploads/", headers={"Host": login_server})
    assert (
        anonymous.status_code == 401
        and 'scope="repository:judge/raw:push,pull"' in anonymous.headers["WWW-Authenticate"]
    )
    # a monolithic upload with the wrong digest is DIGEST_INVALID; a manifest naming a missing blob is
    # MANIFEST_BLOB_UNKNOWN
    wrong = http.post(
        "/v2/judge/raw/blobs/uploads/", params={"digest": "sha256:" + "0" * 64}, content=b"abc", headers=push
    )
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["code"] == "DIGEST_INVALID"
    missing = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2, "digest": "sha256:" + "1" * 64},
        "layers": [],
    }
    put = http.put(
        "/v2/judge/raw/manifests/v1",
        content=json.dumps(missing).encode(),
        headers={**push, "Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert put.status_code == 400 and put.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"
    assert http.get("/v2/judge/raw/manifests/v1", headers=push).json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    # pull-only (AcrPull without AcrPush): the push is DENIED
    sandbox.faults.arm("registry-push-denied")
    denied = http.post("/v2/judge/raw/blobs/uploads/", headers=bearer("repository:judge/raw:pull,push"))
    assert denied.status_code == 403 and denied.json()["errors"][0]["code"] == "DENIED"
