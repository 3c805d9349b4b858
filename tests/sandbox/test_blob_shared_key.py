"""The workspace datastore's account key, as Azure hands it out, and Shared Key signatures the blob service checks.

Judges: azure-storage-blob signing with the key (its SharedKeyCredentialPolicy), azure-ai-ml uploading a model from a
local folder as `az ml model create --path` does, and hand-made requests signed from the documented string-to-sign
(learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key), written here independently of the sandbox.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ssl
import uuid
from email.utils import formatdate
from pathlib import Path
from time import time
from xml.etree import ElementTree as ET

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.storage.blob import BlobServiceClient
from sandbox_specs import sandbox_ml_client

pytestmark = pytest.mark.sandbox


@pytest.fixture
def account_key(sandbox):
    """The key the default datastore's listSecrets answers, read through azure-ai-ml."""
    client = sandbox_ml_client(sandbox.client_settings())
    datastore = client.datastores.get_default(include_secrets=True)
    assert datastore.credentials.type == "account_key"
    return datastore.credentials.account_key


def test_the_datastore_key_signs_every_blob_operation_the_sdk_makes(sandbox, account_key):
    service = BlobServiceClient(
        f"{sandbox.base_url}/sandboxstore", credential=account_key, max_single_put_size=4096, max_block_size=4096
    )
    container = service.get_container_client(f"shared-key-{uuid.uuid4().hex[:8]}")
    container.create_container()
    payload = bytes(range(256)) * 64  # 16 KiB: staged as four blocks, then a block list
    name = "models/a b+c/crate.bin"  # a space and a plus: the encoded path is what is signed
    blob = container.get_blob_client(name)
    blob.upload_blob(payload, metadata={"upload_status": "completed"})
    assert blob.download_blob().readall() == payload
    assert blob.download_blob(offset=10, length=5).readall() == payload[10:15]
    assert blob.get_blob_properties().metadata == {"upload_status": "completed"}
    assert [b.name for b in container.list_blobs(name_starts_with="models/a b+c/", include=["metadata"])] == [name]
    blob.delete_blob()
    assert not blob.exists()


def test_a_wrong_key_is_refused_with_storages_words_and_the_string_it_signed(sandbox, account_key):
    forged = base64.b64encode(b"\0" * 64).decode()
    sandbox.blobs.put_blob("shared-key-refused", "x.txt", b"x")
    blob = BlobServiceClient(f"{sandbox.base_url}/sandboxstore", credential=forged).get_blob_client(
        "shared-key-refused", "x.txt"
    )
    with pytest.raises(ClientAuthenticationError) as info:
        blob.download_blob()
    assert info.value.error_code == "AuthenticationFailed"
    error = ET.fromstring(info.value.response.text())
    assert error.findtext("Message", "").startswith("Server failed to authenticate the request.")
    detail = error.findtext("AuthenticationErrorDetail", "")
    assert "is not the same as any computed signature" in detail
    assert "/sandboxstore/sandboxstore/shared-key-refused/x.txt" in detail


def _documented_signature(key: str, scheme: str, method: str, path: str, query: str, headers: dict[str, str]) -> str:
    """The string-to-sign written from the documentation page, not from the sandbox's code."""
    lowered = {k.lower(): v for k, v in headers.items()}
    x_ms = "".join(f"{k}:{v}\n" for k, v in sorted(lowered.items()) if k.startswith("x-ms-"))
    resource = f"/sandboxstore{path}"
    if scheme == "SharedKeyLite":
        comp = [p.split("=", 1)[1] for p in query.split("&") if p.startswith("comp=")]
        text = f"{method}\n\n{lowered.get('content-type', '')}\n\n{x_ms}{resource}" + (
            f"?comp={comp[0]}" if comp else ""
        )
    else:
        fields = ["content-encoding", "content-language", "content-length", "content-md5", "content-type", "date"]
        fields += ["if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range"]
        text = method + "".join("\n" + lowered.get(f, "") for f in fields) + "\n" + x_ms + resource
        text += "".join(f"\n{k}:{v}" for k, v in sorted(p.split("=", 1) for p in query.split("&") if p))
    mac = hmac.new(base64.b64decode(key), text.encode(), hashlib.sha256).digest()
    return f"{scheme} sandboxstore:{base64.b64encode(mac).decode()}"


@pytest.mark.parametrize("scheme", ["SharedKey", "SharedKeyLite"])
def test_hand_signed_requests_pass_and_a_stale_date_is_refused(sandbox, account_key, scheme):
    sandbox.blobs.put_blob("shared-key-hand", "hello.txt", b"hello")
    path, query = "/sandboxstore/shared-key-hand", "comp=list&restype=container"
    context = ssl.create_default_context(cafile=str(sandbox.ca_bundle))

    def list_blobs(when: float) -> httpx.Response:
        headers = {"x-ms-date": formatdate(when, usegmt=True), "x-ms-version": "2025-01-05"}
        headers["Authorization"] = _documented_signature(account_key, scheme, "GET", path, query, headers)
        return httpx.get(f"{sandbox.base_url}{path}?{query}", headers=headers, verify=context)

    fresh = list_blobs(time())
    assert fresh.status_code == 200, fresh.text
    assert "<Name>hello.txt</Name>" in fresh.text
    stale = list_blobs(time() - 20 * 60)  # Storage refuses requests more than 15 minutes old
    assert stale.status_code == 403
    assert "Request date header too old" in stale.text


def test_a_model_uploaded_from_a_folder_lands_in_the_datastore_signed_with_its_key(sandbox, tmp_path: Path):
    """`az ml model create --path DIR` uploads through the default datastore's credentials (an account key)."""
    from azure.ai.ml.entities import Model

    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "crate.bin").write_bytes(b"not really a crate, but bytes to carry")
    client = sandbox_ml_client(sandbox.client_settings())
    name = f"shared-key-model-{uuid.uuid4().hex[:6]}"
    start = len(sandbox.request_log)
    model = client.models.create_or_update(Model(name=name, path=str(folder)))
    uploads = [e for e in list(sandbox.request_log)[start:] if e["method"] == "PUT" and "/sandboxstore" in e["path"]]
    # the blob, then its metadata (upload_status): both signed with the key
    assert uploads and {(e["auth"], e["status"]) for e in uploads} <= {("SharedKey", 201), ("SharedKey", 200)}
    before = len(sandbox.request_log)
    downloaded = tmp_path / "downloaded"
    client.models.download(name, model.version, download_path=str(downloaded))
    assert (downloaded / name / "models" / "crate.bin").read_bytes() == b"not really a crate, but bytes to carry"
    reads = [e for e in list(sandbox.request_log)[before:] if e["path"].startswith("/sandboxstore")]
    # (a HEAD of the folder's name answers 404, as Storage does for a blob that is not there: the SDK then lists)
    assert reads and {e["auth"] for e in reads} == {"SharedKey"}
    assert not [e for e in reads if e["status"] in (401, 403)]
