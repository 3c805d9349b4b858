"""Blob storage with the real azure-storage-blob client, path-style on the sandbox."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobClient, ContainerClient

pytestmark = pytest.mark.sandbox


def test_block_blob_round_trip_with_properties_ranges_and_metadata(sandbox):
    sas = sandbox.blobs.sas_url("tests-roundtrip", permissions="racwdl")
    sandbox.blobs.ensure_container("tests-roundtrip")
    container = ContainerClient.from_container_url(sas)
    blob = container.get_blob_client("folder/data.bin")
    payload = bytes(range(256)) * 40
    blob.upload_blob(payload, overwrite=True, metadata={"origin": "test"})

    props = blob.get_blob_properties()
    assert props.size == len(payload)
    assert props.blob_type == "BlockBlob"
    assert props.metadata == {"origin": "test"}
    assert props.etag

    assert blob.download_blob().readall() == payload
    assert blob.download_blob(offset=100, length=50).readall() == payload[100:150]

    blob.set_blob_metadata({"upload_status": "completed"})
    assert blob.get_blob_properties().metadata == {"upload_status": "completed"}
    assert [b.name for b in container.list_blobs(name_starts_with="folder/")] == ["folder/data.bin"]
    assert [p.name for p in container.walk_blobs(delimiter="/")] == ["folder/"]

    with pytest.raises(HttpResponseError) as info:
        blob.upload_blob(b"again", overwrite=False)
    assert info.value.error_code == "BlobAlreadyExists"


def test_append_blob_grows_and_python_api_sees_it(sandbox):
    sandbox.blobs.ensure_container("tests-append")
    blob = BlobClient.from_blob_url(sandbox.blobs.sas_url("tests-append", "run.log", permissions="racw"))
    blob.create_append_blob()
    first = b"Step 1/3 : FROM x\nStep 2/3 : RUN y\n"
    blob.append_block(first[:18])
    blob.append_block(first[18:])
    assert blob.get_blob_properties().blob_type == "AppendBlob"
    assert sandbox.blobs.read("tests-append", "run.log") == first

    # The way `az acr build` streams a log: ranged reads from the last offset, then the Complete metadata.
    sandbox.blobs.append_block("tests-append", "run.log", b"Step 3/3 : done\n")
    sandbox.blobs.set_metadata("tests-append", "run.log", {"Complete": "Succeeded"})
    tail = blob.download_blob(offset=len(first), length=100).readall()
    assert tail == b"Step 3/3 : done\n"
    assert {k.lower(): v for k, v in blob.get_blob_properties().metadata.items()} == {"complete": "Succeeded"}


def test_empty_append_blob_downloads_as_empty(sandbox):
    sandbox.blobs.create_append_blob("tests-append", "empty.log")
    blob = BlobClient.from_blob_url(sandbox.blobs.sas_url("tests-append", "empty.log"))
    assert blob.download_blob().readall() == b""


def test_sas_is_checked(sandbox):
    sandbox.blobs.put_blob("tests-sas", "secret.txt", b"hidden")
    good = sandbox.blobs.sas_url("tests-sas", "secret.txt")
    assert BlobClient.from_blob_url(good).download_blob().readall() == b"hidden"

    forged = good.replace("sig=", "sig=x")
    with pytest.raises(ClientAuthenticationError) as info:
        BlobClient.from_blob_url(forged).download_blob()
    assert info.value.error_code == "AuthenticationFailed"

    read_only = BlobClient.from_blob_url(good)
    with pytest.raises(HttpResponseError) as info:
        read_only.upload_blob(b"overwrite", overwrite=True)
    assert info.value.status_code == 403

    anonymous = BlobClient.from_blob_url(good.split("?")[0])
    with pytest.raises(HttpResponseError) as info:
        anonymous.download_blob()
    assert info.value.status_code == 401


def test_missing_blob_is_404(sandbox):
    sandbox.blobs.ensure_container("tests-missing")
    blob = BlobClient.from_blob_url(sandbox.blobs.sas_url("tests-missing", "nope.txt"))
    assert blob.exists() is False
    with pytest.raises(ResourceNotFoundError):
        blob.download_blob()
