"""Blob storage, as much of it as azure-storage-blob and azure-ai-ml use, path-style on the sandbox.

URLs look like https://127.0.0.1:PORT/{account}/{container}/{blob}; azure-storage-blob treats
a 127.0.0.1 host as path-style. The account segment may carry a ".blob.<endpoint>" suffix
(see `account_url_for_datastore`), which is ignored.

Python API (for the other sandbox modules, e.g. the ACR build writing its log):
    store = sandbox.blobs
    store.put_blob(container, name, data, metadata=None, content_type=None)
    store.create_append_blob(container, name, metadata=None, content_type="text/plain; charset=utf-8")
    store.append_block(container, name, data) -> new size
    store.set_metadata(container, name, metadata)          # replaces all metadata, like Azure
    store.read(container, name, start=0, end=None) -> bytes   # end inclusive, like HTTP ranges
    store.properties(container, name) -> dict | None       # type, size, etag, metadata, content_type, ...
    store.list_blobs(container, prefix="") -> list[str]
    store.sas_url(container, name=None, permissions="r", expiry_s=3600) -> str   # name=None: container SAS
Requests must carry a SAS the sandbox issued (sig checked, expiry and permissions honoured), a Shared Key signature
made with the account's key (`store.account_key(account)`, what the workspace datastore's listSecrets hands out, as
Azure does: shared_key.py checks it) or a sandbox bearer token.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
import uuid
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from rdeploy_tui.sandbox import shared_key
from rdeploy_tui.sandbox.auth import Signer, TokenError
from rdeploy_tui.sandbox.http import Request, Response, Router
from rdeploy_tui.sandbox.state import SandboxStateFile

DEFAULT_ACCOUNT = "sandboxstore"
STORAGE_VERSION = "2025-01-05"
_SAS_VERSION = "2022-11-02"


class BlobError(Exception):
    def __init__(self, status: int, code: str, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.detail = detail  # Storage's AuthenticationErrorDetail, for a refused signature


def account_url_for_datastore(base_url: str, account: str = DEFAULT_ACCOUNT) -> str:
    """The datastore accountName that makes azure-ai-ml reach this store.

    azure-ai-ml builds datastore URLs as https://{accountName}.blob.{storage_endpoint}; there is no DNS
    for *.blob.<sandbox>, so the account name carries the host and the path-style account segment:
    https://127.0.0.1:PORT/{account}.blob.{storage_endpoint}/{container}/... reaches this module.
    """
    return f"{base_url.split('://', 1)[1]}/{account}"


class BlobStore:
    def __init__(self, state: SandboxStateFile, folder: Path, signer: Signer, base_url: Callable[[], str]) -> None:
        self._state = state
        self._folder = folder
        self._signer = signer
        self._base_url = base_url
        self._blocks: dict[tuple[str, str, str], dict[str, bytes]] = {}  # uncommitted blocks live in memory
        self._lock = threading.RLock()

    # ----- Python API -------------------------------------------------------------------------------
    def ensure_container(self, container: str, account: str = DEFAULT_ACCOUNT) -> None:
        with self._state.edit() as data:
            self._state.collection(data, "blob_containers").setdefault(
                f"{account}/{container}", {"created": time.time()}
            )

    def container_exists(self, container: str, account: str = DEFAULT_ACCOUNT) -> bool:
        with self._state.view() as data:
            return f"{account}/{container}" in data.get("blob_containers", {})

    def put_blob(
        self,
        container: str,
        name: str,
        data: bytes,
        *,
        metadata: dict[str, str] | None = None,
        content_type: str | None = None,
        account: str = DEFAULT_ACCOUNT,
    ) -> dict[str, Any]:
        self.ensure_container(container, account)
        return self._write(account, container, name, data, "BlockBlob", metadata or {}, content_type)

    def create_append_blob(
        self,
        container: str,
        name: str,
        *,
        metadata: dict[str, str] | None = None,
        content_type: str = "text/plain; charset=utf-8",
        account: str = DEFAULT_ACCOUNT,
    ) -> dict[str, Any]:
        self.ensure_container(container, account)
        return self._write(account, container, name, b"", "AppendBlob", metadata or {}, content_type)

    def append_block(self, container: str, name: str, data: bytes, *, account: str = DEFAULT_ACCOUNT) -> int:
        with self._lock, self._state.edit() as state:
            info = self._info(state, account, container, name)
            if info is None:
                raise BlobError(404, "BlobNotFound", "The specified blob does not exist.")
            if info["type"] != "AppendBlob":
                raise BlobError(409, "InvalidBlobType", "The blob type is invalid for this operation.")
            with open(self._path(account, container, name), "ab") as handle:
                handle.write(data)
            info["size"] += len(data)
            info["blocks"] = info.get("blocks", 0) + 1
            self._touch(info)
            return info["size"]

    def set_metadata(
        self, container: str, name: str, metadata: dict[str, str], *, account: str = DEFAULT_ACCOUNT
    ) -> None:
        with self._state.edit() as state:
            info = self._info(state, account, container, name)
            if info is None:
                raise BlobError(404, "BlobNotFound", "The specified blob does not exist.")
            info["metadata"] = dict(metadata)
            self._touch(info)

    def read(
        self, container: str, name: str, start: int = 0, end: int | None = None, *, account: str = DEFAULT_ACCOUNT
    ) -> bytes:
        if self.properties(container, name, account=account) is None:
            raise BlobError(404, "BlobNotFound", "The specified blob does not exist.")
        with open(self._path(account, container, name), "rb") as handle:
            handle.seek(start)
            return handle.read() if end is None else handle.read(max(0, end - start + 1))

    def properties(self, container: str, name: str, *, account: str = DEFAULT_ACCOUNT) -> dict[str, Any] | None:
        with self._state.view() as state:
            info = self._info(state, account, container, name)
            return None if info is None else dict(info, metadata=dict(info["metadata"]))

    def list_blobs(self, container: str, prefix: str = "", *, account: str = DEFAULT_ACCOUNT) -> list[str]:
        head = f"{account}/{container}/"
        with self._state.view() as state:
            keys = [key[len(head) :] for key in state.get("blobs", {}) if key.startswith(head)]
        return sorted(name for name in keys if name.startswith(prefix))

    def delete_blob(self, container: str, name: str, *, account: str = DEFAULT_ACCOUNT) -> None:
        with self._state.edit() as state:
            if state.get("blobs", {}).pop(f"{account}/{container}/{name}", None) is None:
                raise BlobError(404, "BlobNotFound", "The specified blob does not exist.")
        self._path(account, container, name).unlink(missing_ok=True)

    def sas_url(
        self,
        container: str,
        name: str | None = None,
        *,
        permissions: str = "r",
        expiry_s: float = 3600,
        account: str = DEFAULT_ACCOUNT,
    ) -> str:
        url = f"{self._base_url()}/{account}/{quote(container)}"
        if name is not None:
            url += "/" + quote(name)
        return f"{url}?{self.sas_query(container, name, permissions=permissions, expiry_s=expiry_s, account=account)}"

    def sas_query(
        self,
        container: str | None,
        name: str | None = None,
        *,
        permissions: str = "r",
        expiry_s: float = 3600,
        account: str = DEFAULT_ACCOUNT,
    ) -> str:
        """A SAS query string: for one blob, one container (name=None) or the whole account (container=None)."""
        expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + expiry_s))
        resource = "b" if name is not None else "c" if container is not None else "a"
        sig = self._signer.mac("sas", account, container or "", name or "", resource, permissions, expiry)
        params = {"sv": _SAS_VERSION, "sr": resource, "sp": permissions, "se": expiry, "sig": sig}
        if resource == "a":
            params.update(ss="b", srt="sco")
            del params["sr"]
        return urlencode(params)

    def account_key(self, account: str = DEFAULT_ACCOUNT) -> str:
        """The storage account's key (Azure's listKeys / a datastore's AccountKey secret): Shared Key signs with it."""
        return shared_key.account_key(self._signer.mac("storage-account-key", account))

    # ----- storage -----------------------------------------------------------------------------------
    def _path(self, account: str, container: str, name: str) -> Path:
        digest = hashlib.sha256(name.encode()).hexdigest()  # flat, safe file names whatever the blob name
        return self._folder / account / container / digest

    def _info(self, state: dict[str, Any], account: str, container: str, name: str) -> dict[str, Any] | None:
        return state.get("blobs", {}).get(f"{account}/{container}/{name}")

    def _write(
        self,
        account: str,
        container: str,
        name: str,
        data: bytes,
        blob_type: str,
        metadata: dict[str, str],
        content_type: str | None,
    ) -> dict[str, Any]:
        path = self._path(account, container, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        with self._lock, self._state.edit() as state:
            tmp.replace(path)
            now = time.time()
            info = {
                "type": blob_type,
                "size": len(data),
                "metadata": dict(metadata),
                "content_type": content_type or "application/octet-stream",
                "created": now,
                "md5": base64.b64encode(hashlib.md5(data).digest()).decode() if blob_type == "BlockBlob" else None,
            }
            self._touch(info)
            self._state.collection(state, "blobs")[f"{account}/{container}/{name}"] = info
            return dict(info)

    @staticmethod
    def _touch(info: dict[str, Any]) -> None:
        info["modified"] = time.time()
        info["etag"] = f'"0x{uuid.uuid4().hex[:15].upper()}"'

    # ----- HTTP --------------------------------------------------------------------------------------
    def authorize(self, request: Request, account: str, container: str, name: str | None, needed: str) -> None:
        """Raise BlobError unless the request carries a valid SAS, Shared Key signature or sandbox bearer token allowing
        `needed` (Shared Key and bearer tokens allow everything, as an account key and a data owner's token do)."""
        auth = request.headers.get("Authorization", "")
        if auth.startswith(("SharedKey ", "SharedKeyLite ")):
            self._check_shared_key(request, account, auth)
            return
        if auth.startswith("Bearer "):
            try:
                self._signer.verify(auth[7:], "arm")
                return
            except TokenError as exc:
                raise BlobError(401, "InvalidAuthenticationInfo", exc.message) from None
        sig = request.param("sig")
        if not sig:
            raise BlobError(
                401,
                "NoAuthenticationInformation",
                "Server failed to authenticate the request. Please refer to the information in the www-authenticate "
                "header.",
            )
        sp, se = request.param("sp", ""), request.param("se", "")
        resource = request.param("sr") or "a"
        scope = {"a": ("", ""), "c": (container, ""), "b": (container, name or "")}.get(resource, ("?", "?"))
        expected = self._signer.mac("sas", account, scope[0], scope[1], resource, sp, se)
        if sig != expected:
            raise BlobError(
                403,
                "AuthenticationFailed",
                "Server failed to authenticate the request. Make sure the value of Authorization header is formed "
                "correctly including the signature.",
            )
        if time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) > se:
            raise BlobError(403, "AuthenticationFailed", "Signed expiry time has to be after signed start time")
        if not any(letter in sp for letter in needed):
            raise BlobError(
                403,
                "AuthorizationPermissionMismatch",
                "This request is not authorized to perform this operation using this permission.",
            )

    def _check_shared_key(self, request: Request, account: str, auth: str) -> None:
        refused = (
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed "
            "correctly including the signature."
        )
        try:
            parsed = shared_key.parse_authorization(auth)
            assert parsed is not None
            scheme, signer_account, signature = parsed
            if signer_account.split(".blob.", 1)[0] != account:
                # Storage's words for a key of another account are not published: the sandbox names both.
                raise shared_key.SharedKeyError(
                    f"The account '{signer_account}' in the Authorization header is not the account of the request's "
                    f"URL ('{account}')."
                )
            headers = {name.lower(): value for name, value in request.headers.items()}
            shared_key.verify(
                self.account_key(account),
                scheme,
                signature,
                request.method,
                request.raw_path or quote(request.path),
                request.raw_query,
                headers,
                signer_account,
                time.time(),
            )
        except shared_key.SharedKeyError as exc:
            raise BlobError(403, "AuthenticationFailed", refused, str(exc)) from None


_BLOB_PATH = re.compile(
    r"/(?P<account>[a-z0-9]{3,24}(?:\.blob\.[^/]+)?)/(?P<container>[a-z0-9$][a-z0-9-]{2,62})(?:/(?P<blob>.+))?\Z"
)
_NEEDED = {"GET": "r", "HEAD": "r", "PUT": "wca", "DELETE": "d"}


def refuse_before_body(store: BlobStore, request: Request) -> Response | None:
    """The SAS or bearer check, from the URL and headers alone: an unauthenticated upload is refused before the
    sandbox reads a byte of its body (Storage checks the signature before it takes the content, answering 403
    AuthenticationFailed / 401 NoAuthenticationInformation)."""
    match = _BLOB_PATH.match(request.path)
    if match is None or (not match["blob"] and (request.param("restype") or "").lower() != "container"):
        return None
    account = match["account"].split(".blob.", 1)[0]
    try:
        store.authorize(request, account, match["container"], match["blob"] or None, _NEEDED.get(request.method, "r"))
    except BlobError as exc:
        return blob_error(exc.status, exc.code, exc.message, exc.detail)
    return None


def register(router: Router, sandbox: Any) -> None:
    store: BlobStore = sandbox.blobs

    def handle(request: Request, account: str, container: str, blob: str | None = None) -> Response:
        account = account.split(".blob.", 1)[0]
        try:
            return _dispatch(store, request, account, container, blob or None)
        except BlobError as exc:
            return blob_error(exc.status, exc.code, exc.message, exc.detail)

    router.add(
        "*",
        r"/(?P<account>[a-z0-9]{3,24}(?:\.blob\.[^/]+)?)/(?P<container>[a-z0-9$][a-z0-9-]{2,62})(?:/(?P<blob>.+))?",
        handle,
    )


def _dispatch(store: BlobStore, request: Request, account: str, container: str, blob: str | None) -> Response:
    comp = (request.param("comp") or "").lower()
    restype = (request.param("restype") or "").lower()
    if blob is None:
        if restype != "container":
            raise BlobError(
                400,
                "InvalidQueryParameterValue",
                "Value for one of the query parameters specified in the request URI is invalid.",
            )
        return _container(store, request, account, container, comp)
    method = request.method
    if method in ("GET", "HEAD") and comp in ("", "metadata"):
        store.authorize(request, account, container, blob, "r")
        info = store.properties(container, blob, account=account)
        if info is None:
            raise BlobError(404, "BlobNotFound", "The specified blob does not exist.")
        if comp == "metadata":
            return Response(200, b"", _props_headers(info, metadata_only=True))
        if method == "HEAD":
            return Response(200, b"", {**_props_headers(info), "Content-Length": str(info["size"])})
        return _download(store, request, account, container, blob, info)
    if method == "PUT":
        store.authorize(request, account, container, blob, "wca")
        if not store.container_exists(container, account):
            raise BlobError(404, "ContainerNotFound", "The specified container does not exist.")
        return _put(store, request, account, container, blob, comp)
    if method == "DELETE":
        store.authorize(request, account, container, blob, "d")
        store.delete_blob(container, blob, account=account)
        return Response(202, b"", _base_headers())
    raise BlobError(400, "UnsupportedHttpVerb", f"The resource doesn't support the specified HTTP verb {method}.")


def _container(store: BlobStore, request: Request, account: str, container: str, comp: str) -> Response:
    if request.method == "PUT" and not comp:
        store.authorize(request, account, container, None, "wc")
        if store.container_exists(container, account):
            raise BlobError(409, "ContainerAlreadyExists", "The specified container already exists.")
        store.ensure_container(container, account)
        return Response(201, b"", {**_base_headers(), "ETag": '"0x1"', "Last-Modified": _http_date(time.time())})
    store.authorize(request, account, container, None, "rl")
    if not store.container_exists(container, account):
        raise BlobError(404, "ContainerNotFound", "The specified container does not exist.")
    if comp == "list" and request.method == "GET":
        return _list(store, request, account, container)
    if request.method in ("GET", "HEAD") and not comp:
        return Response(
            200,
            b"",
            {
                **_base_headers(),
                "ETag": '"0x1"',
                "Last-Modified": _http_date(time.time()),
                "x-ms-lease-state": "available",
                "x-ms-lease-status": "unlocked",
            },
        )
    raise BlobError(
        400,
        "InvalidQueryParameterValue",
        "Value for one of the query parameters specified in the request URI is invalid.",
    )


def _list(store: BlobStore, request: Request, account: str, container: str) -> Response:
    prefix = request.param("prefix") or ""
    delimiter = request.param("delimiter") or ""
    with_metadata = "metadata" in (request.param("include") or "")
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<EnumerationResults ServiceEndpoint="{escape(store._base_url())}/{account}/" '
        f'ContainerName="{escape(container)}">',
        f"<Prefix>{escape(prefix)}</Prefix>",
    ]
    if delimiter:
        out.append(f"<Delimiter>{escape(delimiter)}</Delimiter>")
    out.append("<Blobs>")
    prefixes: list[str] = []
    for name in store.list_blobs(container, prefix, account=account):
        rest = name[len(prefix) :]
        if delimiter and delimiter in rest:
            folder = prefix + rest.split(delimiter, 1)[0] + delimiter
            if folder not in prefixes:
                prefixes.append(folder)
                out.append(f"<BlobPrefix><Name>{escape(folder)}</Name></BlobPrefix>")
            continue
        info = store.properties(container, name, account=account)
        if info is None:
            continue
        out.append(
            f"<Blob><Name>{escape(name)}</Name><Properties>"
            f"<Creation-Time>{_http_date(info['created'])}</Creation-Time><Last-Modified>{_http_date(info['modified'])}</Last-Modified>"
            f"<Etag>{escape(info['etag'])}</Etag><Content-Length>{info['size']}</Content-Length>"
            f"<Content-Type>{escape(info['content_type'])}</Content-Type><BlobType>{info['type']}</BlobType>"
            "<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted>"
            "</Properties>"
        )
        if with_metadata:
            out.append(
                "<Metadata>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in info["metadata"].items()) + "</Metadata>"
            )
        out.append("</Blob>")
    out.append("</Blobs><NextMarker/></EnumerationResults>")
    return Response(200, "".join(out).encode(), {**_base_headers(), "Content-Type": "application/xml"})


def _download(
    store: BlobStore, request: Request, account: str, container: str, blob: str, info: dict[str, Any]
) -> Response:
    headers = _props_headers(info)
    size = info["size"]
    spec = request.headers.get("x-ms-range") or request.headers.get("Range")
    if not spec:
        return Response(200, store.read(container, blob, account=account), headers)
    try:
        start_text, _, end_text = spec.split("=", 1)[1].partition("-")
        start = int(start_text)
        end = min(int(end_text), size - 1) if end_text else size - 1
    except (IndexError, ValueError):
        raise BlobError(
            400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format."
        ) from None
    if start >= size or end < start:
        response = blob_error(
            416, "InvalidRange", "The range specified is invalid for the current size of the resource."
        )
        response.headers["Content-Range"] = f"bytes */{size}"
        return response
    headers.pop("Content-MD5", None)  # a ranged answer carries the whole blob's MD5 elsewhere; the SDK does not need it
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(206, store.read(container, blob, start, end, account=account), headers)


def _put(store: BlobStore, request: Request, account: str, container: str, blob: str, comp: str) -> Response:
    metadata = {k[len("x-ms-meta-") :]: v for k, v in request.headers.items() if k.startswith("x-ms-meta-")}
    if comp == "metadata":
        store.set_metadata(container, blob, metadata, account=account)
        return Response(
            200, b"", _props_headers(store.properties(container, blob, account=account) or {}, metadata_only=True)
        )
    if comp == "appendblock":
        offset = (store.properties(container, blob, account=account) or {}).get("size", 0)
        store.append_block(container, blob, request.body, account=account)
        info = store.properties(container, blob, account=account) or {}
        return Response(
            201,
            b"",
            {
                **_etag_headers(info),
                "x-ms-blob-append-offset": str(offset),
                "x-ms-blob-committed-block-count": str(info.get("blocks", 0)),
                "x-ms-request-server-encrypted": "true",
            },
        )
    if comp == "block":
        block_id = request.param("blockid") or ""
        with store._lock:
            store._blocks.setdefault((account, container, blob), {})[block_id] = request.body
        return Response(201, b"", {**_base_headers(), "x-ms-request-server-encrypted": "true"})
    if comp == "blocklist":
        return _commit_blocks(store, request, account, container, blob, metadata)
    if comp:
        raise BlobError(400, "InvalidQueryParameterValue", f"The sandbox does not support comp={comp}.")
    if request.headers.get("If-None-Match") == "*" and store.properties(container, blob, account=account) is not None:
        raise BlobError(409, "BlobAlreadyExists", "The specified blob already exists.")
    blob_type = request.headers.get("x-ms-blob-type", "BlockBlob")
    content_type = request.headers.get("x-ms-blob-content-type")
    if blob_type == "AppendBlob":
        info = store._write(account, container, blob, b"", "AppendBlob", metadata, content_type)
    elif blob_type == "BlockBlob":
        info = store._write(account, container, blob, request.body, "BlockBlob", metadata, content_type)
    else:
        raise BlobError(400, "InvalidHeaderValue", f"The sandbox does not support {blob_type} blobs.")
    headers = {**_etag_headers(info), "x-ms-request-server-encrypted": "true"}
    if info.get("md5"):
        headers["Content-MD5"] = info["md5"]
    return Response(201, b"", headers)


def _commit_blocks(
    store: BlobStore, request: Request, account: str, container: str, blob: str, metadata: dict[str, str]
) -> Response:
    try:
        ids = [element.text or "" for element in ET.fromstring(request.body)]
    except ET.ParseError:
        raise BlobError(400, "InvalidXmlDocument", "XML specified is not syntactically valid.") from None
    with store._lock:
        staged = store._blocks.pop((account, container, blob), {})
    if any(block_id not in staged for block_id in ids):
        raise BlobError(400, "InvalidBlockList", "The specified block list is invalid.")
    data = b"".join(staged[block_id] for block_id in ids)
    info = store._write(
        account, container, blob, data, "BlockBlob", metadata, request.headers.get("x-ms-blob-content-type")
    )
    return Response(201, b"", {**_etag_headers(info), "x-ms-request-server-encrypted": "true"})


def _base_headers() -> dict[str, str]:
    return {"x-ms-request-id": str(uuid.uuid4()), "x-ms-version": STORAGE_VERSION}


def _etag_headers(info: dict[str, Any]) -> dict[str, str]:
    return {
        **_base_headers(),
        "ETag": info.get("etag", '"0x0"'),
        "Last-Modified": _http_date(info.get("modified", time.time())),
    }


def _props_headers(info: dict[str, Any], *, metadata_only: bool = False) -> dict[str, str]:
    headers = _etag_headers(info)
    headers.update({f"x-ms-meta-{k}": v for k, v in info.get("metadata", {}).items()})
    if metadata_only:
        return headers
    headers.update(
        {
            "Content-Type": info["content_type"],
            "x-ms-blob-type": info["type"],
            "x-ms-creation-time": _http_date(info["created"]),
            "Accept-Ranges": "bytes",
            "x-ms-lease-state": "available",
            "x-ms-lease-status": "unlocked",
            "x-ms-server-encrypted": "true",
        }
    )
    if info["type"] == "AppendBlob":
        headers["x-ms-blob-committed-block-count"] = str(info.get("blocks", 0))
    elif info.get("md5"):
        headers["Content-MD5"] = info["md5"]
    return headers


def blob_error(status: int, code: str, message: str, detail: str | None = None) -> Response:
    extra = f"<AuthenticationErrorDetail>{escape(detail)}</AuthenticationErrorDetail>" if detail else ""
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{escape(message)}</Message>'
        f"{extra}</Error>"
    )
    return Response(
        status, body.encode(), {**_base_headers(), "Content-Type": "application/xml", "x-ms-error-code": code}
    )


def _http_date(ts: float) -> str:
    return formatdate(ts, usegmt=True)
