"""The data plane of the sandbox's container registries: ACR's token exchange and the OCI distribution push protocol.

What a docker client needs to log in and push an image, and nothing more:
    POST /oauth2/exchange          AAD (here: sandbox ARM) access token -> ACR refresh token
    GET|POST /oauth2/token         ACR refresh token -> ACR access token for the asked scopes
    GET  /v2/                      the ping: 401 + WWW-Authenticate challenge without a token, 200 with one
    HEAD|GET /v2/<name>/blobs/<digest>
    POST /v2/<name>/blobs/uploads/ (+ ?digest= for a monolithic upload)
    PATCH|PUT /v2/<name>/blobs/uploads/<uuid> (chunks; PUT ?digest= ends the upload)
    PUT|HEAD|GET /v2/<name>/manifests/<tag or digest>
Sources: the token flow is ACR's "AAD OAuth" document (https://github.com/Azure/acr/blob/main/docs/AAD-OAuth.md,
also https://azure.github.io/acr/AAD-OAuth.html); the registry API is the OCI distribution spec
(https://github.com/opencontainers/distribution-spec/blob/main/spec.md) with Docker's token authentication
(https://distribution.github.io/distribution/spec/auth/token/); ACR's error body is AcrErrors of its data-plane REST
spec (azure-rest-api-specs: specification/containerregistry/data-plane/Azure.ContainerRegistry/stable/2021-07-01/
containerregistry.json), the same {"errors":[{code, message, detail}]} the OCI spec defines.

Which registry: Azure gives each registry its own host name ({name}.azurecr.io) and its front door picks the registry
by that name (the Host header / SNI); the sandbox has one listener for all of them, so it picks the registry by the
Host header alone. A client reaches a sandbox registry as a registry behind a proxy is reached: HTTPS_PROXY names
the sandbox, which answers `CONNECT {name}.azurecr.io:443` and then the TLS inside (server.py); or, as tests' docker
double does, by connecting to the sandbox's address and sending `Host: {name}.azurecr.io`.

Who may: every principal with a valid sandbox ARM token may push, as every signed-in principal may call ARM in the
sandbox (it has no role assignments). The fault "registry-push-denied" grants pull only, as ACR does for a principal
with AcrPull and not AcrPush (the push then ends in DENIED).

A pushed manifest makes the image known to the sandbox (images.py), like an ACR build's push: its layers' files are
the image's files, its config's Entrypoint/Cmd say what starts, so a deployment of it runs.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import re
import tarfile
import time
import uuid
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl

from rdeploy_tui.sandbox import container
from rdeploy_tui.sandbox.arm import TENANT_ID, iso
from rdeploy_tui.sandbox.auth import TokenError
from rdeploy_tui.sandbox.http import Request, Response, json_response

NULL_GUID = "00000000-0000-0000-0000-000000000000"  # the user name that says "the password is an ACR refresh token"
# `az acr login --expose-token` says its token lasts 3 hours (learn.microsoft.com/azure/container-registry/
# container-registry-authentication#az-acr-login-with---expose-token); the access token's own lifetime is not
# documented: the sandbox gives it the same.
REFRESH_LIFETIME_S = 3 * 3600
ACCESS_LIFETIME_S = 3 * 3600
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json")
TAGS = "registry_tags"  # state collection: json [login server lower, repository, tag] -> {digest, mediaType}

_NAME = r"(?P<name>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
# (method, path, handler, access): "pull"/"push"/"metadata_read" on the repository named in the path, "catalog" for
# the registry's catalog (scope registry:catalog:*), "" for the ping. ACR's metadata API (/acr/v1/...) is its data-plane
# REST spec's (GetRepositories, GetProperties, GetTags, GetTagProperties, GetManifests, GetManifestProperties).
_ROUTES = [
    ("GET", re.compile(r"/v2/?"), "ping", ""),
    ("HEAD", re.compile(r"/v2/?"), "ping", ""),
    ("GET", re.compile(r"/v2/_catalog"), "catalog", "catalog"),
    ("GET", re.compile(rf"/v2/{_NAME}/tags/list"), "tags_list", "pull"),
    ("HEAD", re.compile(rf"/v2/{_NAME}/blobs/(?P<digest>[^/]+)"), "get_blob", "pull"),
    ("GET", re.compile(rf"/v2/{_NAME}/blobs/(?P<digest>[^/]+)"), "get_blob", "pull"),
    ("POST", re.compile(rf"/v2/{_NAME}/blobs/uploads/?"), "start_upload", "push"),
    ("PATCH", re.compile(rf"/v2/{_NAME}/blobs/uploads/(?P<upload>[a-f0-9-]+)"), "patch_upload", "push"),
    ("PUT", re.compile(rf"/v2/{_NAME}/blobs/uploads/(?P<upload>[a-f0-9-]+)"), "finish_upload", "push"),
    ("PUT", re.compile(rf"/v2/{_NAME}/manifests/(?P<reference>[^/]+)"), "put_manifest", "push"),
    ("HEAD", re.compile(rf"/v2/{_NAME}/manifests/(?P<reference>[^/]+)"), "get_manifest", "pull"),
    ("GET", re.compile(rf"/v2/{_NAME}/manifests/(?P<reference>[^/]+)"), "get_manifest", "pull"),
    ("GET", re.compile(r"/acr/v1/_catalog"), "catalog", "catalog"),
    ("GET", re.compile(rf"/acr/v1/{_NAME}/_tags"), "acr_tags", "metadata_read"),
    ("GET", re.compile(rf"/acr/v1/{_NAME}/_tags/(?P<tag>[^/]+)"), "acr_tag", "metadata_read"),
    ("GET", re.compile(rf"/acr/v1/{_NAME}/_manifests"), "acr_manifests", "metadata_read"),
    (
        "GET",
        re.compile(rf"/acr/v1/{_NAME}/_manifests/(?P<digest>sha256:[a-f0-9]{{64}})"),
        "acr_manifest",
        "metadata_read",
    ),
    ("GET", re.compile(rf"/acr/v1/{_NAME}"), "acr_repository", "metadata_read"),
]
_GRANTABLE = ("pull", "push", "delete", "metadata_read", "metadata_write", "*")
_CHANGEABLE = {"deleteEnabled": True, "writeEnabled": True, "readEnabled": True, "listEnabled": True}


def handles(path: str) -> bool:
    """The paths of a registry's data plane (no ARM, blob storage or Entra path looks like these)."""
    return path == "/v2" or path.startswith(("/v2/", "/acr/v1/")) or path in ("/oauth2/exchange", "/oauth2/token")


def errors(status: int, code: str, message: str, detail: Any = None, headers: dict[str, str] | None = None) -> Response:
    """The OCI / ACR error body: {"errors": [{"code", "message", "detail"}]}."""
    return json_response(status, {"errors": [{"code": code, "message": message, "detail": detail}]}, headers)


class RegistryPlane:
    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.root = Path(sandbox.state_dir) / "registry"

    # ----- dispatch ------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        login_server = self._login_server(request)
        if login_server is None:
            host = request.headers.get("Host", "")
            return errors(
                404,
                "NAME_UNKNOWN",
                f"No sandbox registry is named {host!r}: send the registry's login server "
                "({name}.azurecr.io) as the Host header.",
            )
        if request.path == "/oauth2/exchange":
            return (
                self.exchange(request, login_server)
                if request.method == "POST"
                else errors(405, "UNSUPPORTED", "POST only.")
            )
        if request.path == "/oauth2/token":
            return (
                self.token(request, login_server)
                if request.method in ("GET", "POST")
                else errors(405, "UNSUPPORTED", "GET or POST.")
            )
        for method, pattern, handler, action in _ROUTES:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                groups = match.groupdict()
                scope = _scope(groups.get("name"), action)
                access = self._authorize(request, login_server, scope)
                if isinstance(access, Response):
                    return access
                if access is None:
                    return self._challenge(login_server, scope)
                return getattr(self, handler)(request, login_server, **groups)
        return errors(404, "UNSUPPORTED", f"The sandbox registry does not answer {request.method} {request.path}.")

    def refuse_before_body(self, request: Request) -> Response | None:
        """An upload without a bearer token is refused before its body is read."""
        if (
            request.path.startswith("/v2/")
            and request.method in ("PATCH", "PUT", "POST")
            and not request.headers.get("Authorization")
        ):
            login_server = self._login_server(request)
            scope = next(
                (
                    _scope(m.groupdict().get("name"), action)
                    for method, pattern, _, action in _ROUTES
                    if method == request.method
                    for m in [pattern.fullmatch(request.path)]
                    if m
                ),
                None,
            )
            if login_server is not None:
                return self._challenge(login_server, scope)
        return None

    def serves(self, host: str) -> bool:
        """Whether `host` is the login server of one of the sandbox's registries (what CONNECT may tunnel to)."""
        return self._registry_named(host.lower()) is not None

    def _login_server(self, request: Request) -> str | None:
        host = (request.headers.get("Host") or "").lower()
        host = host.rsplit(":", 1)[0] if ":" in host and not host.startswith("[") else host
        return self._registry_named(host)

    def _registry_named(self, host: str) -> str | None:
        with self.sandbox.state.view() as data:
            for doc in data.get("registries", {}).values():
                if doc["login_server"].lower() == host:
                    return doc["login_server"]
        return None

    # ----- tokens --------------------------------------------------------------------------------------
    def exchange(self, request: Request, login_server: str) -> Response:
        """AAD-OAuth.md, "Calling POST /oauth2/exchange": form grant_type=access_token, service, tenant, access_token
        -> 200 {"refresh_token": ...}. The deprecated grant types (with an AAD refresh token) are not served."""
        form = _form(request)
        if form.get("grant_type") != "access_token":
            return errors(
                400,
                "UNSUPPORTED",
                f"grant_type {form.get('grant_type')!r} is not supported: send grant_type=access_token.",
            )
        if (form.get("service") or "").lower() != login_server.lower():
            return errors(400, "UNSUPPORTED", f"service {form.get('service')!r} is not this registry ({login_server}).")
        from rdeploy_tui.sandbox import login

        tenant = form.get("tenant")
        if tenant and tenant.lower() != TENANT_ID.lower():
            # ACR's exact wording for a tenant mismatch is not documented: the code is AcrErrors' UNAUTHORIZED.
            return errors(401, "UNAUTHORIZED", f"The access token is not from tenant {tenant}.")
        try:
            claims = self.sandbox.signer.verify(form.get("access_token") or "", "arm")
        except TokenError as exc:
            return errors(401, "UNAUTHORIZED", f"The AAD access token was refused: {exc.message}")
        aud = str(claims.get("aud") or "")
        if not login.audience_allowed(self.sandbox, aud):
            return errors(401, "UNAUTHORIZED", f"The AAD access token is for {aud}, not Azure Resource Manager.")
        if str(claims.get("tid") or "").lower() != TENANT_ID.lower():
            return errors(401, "UNAUTHORIZED", f"The access token is from tenant {claims.get('tid')}, not {TENANT_ID}.")
        refresh, _ = self.sandbox.signer.issue(
            "acr-refresh",
            REFRESH_LIFETIME_S,
            service=login_server.lower(),
            sub=str(claims.get("oid") or claims.get("sub") or "sandbox-user"),
        )
        return json_response(200, {"refresh_token": refresh})

    def token(self, request: Request, login_server: str) -> Response:
        """AAD-OAuth.md: POST form grant_type=refresh_token, service, scope, refresh_token; or, as docker does with a
        user name and password, GET ?service=&scope= with Basic auth (user NULL_GUID, password = the refresh token).
        -> 200 {"access_token": ...}."""
        form = _form(request) if request.method == "POST" else {}
        query = request.query if request.method == "GET" else {}
        scopes = (
            [value for key, value in parse_qsl(request.body.decode("utf-8", "replace")) if key == "scope"]
            if form
            else [v for k, v in _query_pairs(request) if k == "scope"]
        )
        service = form.get("service") or query.get("service") or ""
        if service.lower() != login_server.lower():
            return errors(400, "UNSUPPORTED", f"service {service!r} is not this registry ({login_server}).")
        if form:
            if form.get("grant_type") != "refresh_token":
                return errors(
                    400,
                    "UNSUPPORTED",
                    f"grant_type {form.get('grant_type')!r} is not supported: send grant_type=refresh_token.",
                )
            refresh = form.get("refresh_token") or ""
        else:
            user, _, refresh = _basic(request.headers.get("Authorization", ""))
            if user != NULL_GUID:
                return self._admin_token(login_server, user, refresh, scopes)
        try:
            claims = self.sandbox.signer.verify(refresh, "acr-refresh")
        except TokenError as exc:
            return errors(401, "UNAUTHORIZED", f"The ACR refresh token was refused: {exc.message}")
        if claims.get("service") != login_server.lower():
            return errors(401, "UNAUTHORIZED", "The ACR refresh token is for another registry.")
        return self._access_token(login_server, scopes, claims.get("sub"))

    def _admin_token(self, login_server: str, user: str, password: str, scopes: list[str]) -> Response:
        """`docker login -u REGISTRY -p PASSWORD`: the admin user (when enabled) signs in with either of its passwords
        (learn.microsoft.com/azure/container-registry/container-registry-authentication, "Admin account"); tokens
        scoped to repositories are not simulated."""
        from rdeploy_tui.sandbox.acr_registry import credentials

        with self.sandbox.state.view() as data:
            doc = next(
                (
                    dict(d)
                    for d in data.get("registries", {}).values()
                    if d["login_server"].lower() == login_server.lower()
                ),
                None,
            )
        valid = (
            doc is not None
            and doc.get("admin_user_enabled")
            and user.lower() == doc["name"].lower()
            and password in {p["value"] for p in credentials(self.sandbox, doc)["passwords"]}
        )
        if not valid:
            return errors(401, "UNAUTHORIZED", "authentication required, visit https://aka.ms/acr/authorization")
        return self._access_token(login_server, scopes, user)

    def _access_token(self, login_server: str, scopes: list[str], sub: Any) -> Response:
        push_denied = self.sandbox.faults.take("registry-push-denied", "POST /oauth2/token") is not None
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            granted = [a for a in actions.split(",") if a in _GRANTABLE]
            if push_denied:
                granted = [a for a in granted if a in ("pull", "metadata_read")]
            access.append({"type": kind, "name": name, "actions": granted})
        token, _ = self.sandbox.signer.issue(
            "acr-access", ACCESS_LIFETIME_S, service=login_server.lower(), access=access, sub=sub
        )
        return json_response(200, {"access_token": token})

    def _authorize(self, request: Request, login_server: str, scope: str | None) -> dict[str, Any] | Response | None:
        """The access token's claims when it grants `scope` (TYPE:NAME:ACTION); None when there is no usable token
        (challenge); a DENIED response when the token is good but lacks the action."""
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        try:
            claims = self.sandbox.signer.verify(auth[7:], "acr-access")
        except TokenError:
            return None
        if claims.get("service") != login_server.lower():
            return None
        if scope is None:
            return claims
        kind, name, needed = _split_scope(scope)
        needed = needed.split(",")[0]  # push,pull: push is what a write needs
        entries = [e for e in claims.get("access") or [] if e.get("type") == kind and e.get("name") == name]
        if any(needed in e["actions"] or "*" in e["actions"] for e in entries):
            return claims
        if entries:
            # OCI spec error code DENIED; docker prints "denied: requested access to the resource is denied".
            return errors(
                403,
                "DENIED",
                "requested access to the resource is denied",
                [{"Type": kind, "Name": name, "Action": needed}],
            )
        return None

    def _challenge(self, login_server: str, scope: str | None) -> Response:
        """AAD-OAuth.md: 401 + Www-Authenticate: Bearer realm="https://{registry}/oauth2/token",service="{registry}"
        [,scope="..."] and an UNAUTHORIZED body."""
        challenge = f'Bearer realm="https://{login_server}/oauth2/token",service="{login_server}"'
        detail = None
        if scope:
            challenge += f',scope="{scope}"'
            kind, name, actions = _split_scope(scope)
            detail = [{"Type": kind, "Name": name, "Action": a} for a in actions.split(",")]
        return errors(401, "UNAUTHORIZED", "authentication required", detail, {"WWW-Authenticate": challenge})

    # ----- the API ---------------------------------------------------------------------------------------
    def ping(self, request: Request, login_server: str) -> Response:
        return json_response(200, {}, {"Docker-Distribution-API-Version": "registry/2.0"})

    def _blobs(self, login_server: str) -> Path:
        return self.root / login_server.lower() / "blobs"

    def _blob_path(self, login_server: str, digest: str) -> Path | None:
        if not _DIGEST.fullmatch(digest):
            return None
        return self._blobs(login_server) / digest.split(":", 1)[1]

    def _blob(self, login_server: str, digest: str) -> bytes | None:
        """A stored blob's bytes, or None when the registry does not hold it."""
        path = self._blob_path(login_server, digest)
        return path.read_bytes() if path is not None and path.is_file() else None

    def get_blob(self, request: Request, login_server: str, name: str, digest: str) -> Response:
        path = self._blob_path(login_server, digest)
        if path is None or not path.is_file():
            return errors(404, "BLOB_UNKNOWN", "blob unknown to registry", {"digest": digest})
        data = path.read_bytes()
        headers = {
            "Docker-Content-Digest": digest,
            "Content-Type": "application/octet-stream",
            "Content-Length": str(len(data)),
        }
        ranged = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("Range") or "")
        if ranged and request.method == "GET":  # the distribution spec's ranged blob fetch: 206 and Content-Range
            start = int(ranged.group(1))
            end = min(int(ranged.group(2)) if ranged.group(2) else len(data) - 1, len(data) - 1)
            if start > end:
                return Response(416, b"", {"Content-Range": f"bytes */{len(data)}"})
            part = data[start : end + 1]
            headers.update({"Content-Length": str(len(part)), "Content-Range": f"bytes {start}-{end}/{len(data)}"})
            return Response(206, part, headers)
        return Response(200, b"" if request.method == "HEAD" else data, headers)

    def _upload_path(self, login_server: str, upload: str) -> Path:
        return self.root / login_server.lower() / "uploads" / upload

    def start_upload(self, request: Request, login_server: str, name: str) -> Response:
        digest = request.param("digest")
        if digest is not None:  # monolithic: POST ?digest= with the whole blob
            return self._store_blob(login_server, name, digest, request.body)
        upload = str(uuid.uuid4())
        path = self._upload_path(login_server, upload)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        return Response(
            202, b"", {"Location": f"/v2/{name}/blobs/uploads/{upload}", "Docker-Upload-UUID": upload, "Range": "0-0"}
        )

    def patch_upload(self, request: Request, login_server: str, name: str, upload: str) -> Response:
        path = self._upload_path(login_server, upload)
        if not path.is_file():
            return errors(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
        size = path.stat().st_size
        content_range = request.headers.get("Content-Range")
        if content_range and not content_range.startswith(f"{size}-"):  # OCI: out-of-order chunks are 416
            return Response(
                416, b"", {"Location": f"/v2/{name}/blobs/uploads/{upload}", "Range": f"0-{max(0, size - 1)}"}
            )
        with open(path, "ab") as handle:
            handle.write(request.body)
        size += len(request.body)
        return Response(
            202,
            b"",
            {
                "Location": f"/v2/{name}/blobs/uploads/{upload}",
                "Docker-Upload-UUID": upload,
                "Range": f"0-{max(0, size - 1)}",
            },
        )

    def finish_upload(self, request: Request, login_server: str, name: str, upload: str) -> Response:
        path = self._upload_path(login_server, upload)
        if not path.is_file():
            return errors(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
        data = path.read_bytes() + request.body
        answer = self._store_blob(login_server, name, request.param("digest") or "", data)
        if answer.status == 201:
            path.unlink(missing_ok=True)
        return answer

    def _store_blob(self, login_server: str, name: str, digest: str, data: bytes) -> Response:
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if digest != actual:
            return errors(400, "DIGEST_INVALID", "provided digest did not match uploaded content", {"digest": digest})
        _write(self._blob_path(login_server, digest), data)
        return Response(201, b"", {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest})

    def put_manifest(self, request: Request, login_server: str, name: str, reference: str) -> Response:
        media_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
        try:
            manifest = json.loads(request.body)
        except ValueError:
            return errors(400, "MANIFEST_INVALID", "manifest invalid: not JSON")
        media_type = media_type or manifest.get("mediaType", "")
        if media_type not in MANIFEST_TYPES:
            # A sandbox limit: image indexes and manifest lists are valid OCI but not simulated.
            return errors(
                400,
                "MANIFEST_INVALID",
                f"manifest invalid: the sandbox registry takes single image manifests ({', '.join(MANIFEST_TYPES)}), "
                f"not {media_type!r}",
            )
        digest = "sha256:" + hashlib.sha256(request.body).hexdigest()
        if _DIGEST.fullmatch(reference) and reference != digest:
            return errors(
                400, "DIGEST_INVALID", "provided digest did not match uploaded content", {"digest": reference}
            )
        wanted = [manifest.get("config") or {}, *(manifest.get("layers") or [])]
        missing = [d.get("digest") for d in wanted if self._blob(login_server, str(d.get("digest"))) is None]
        if missing:
            return errors(400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", {"digest": missing[0]})
        try:
            files = self._image_files(login_server, manifest)
            config = json.loads(self._blob(login_server, manifest["config"]["digest"]) or b"")
        except (ValueError, KeyError, OSError, tarfile.TarError) as exc:
            return errors(400, "MANIFEST_INVALID", f"manifest invalid: {exc}")
        _write(self._blob_path(login_server, digest), request.body)
        if not _DIGEST.fullmatch(reference):
            image = self.sandbox.images.record_image(
                login_server, name, reference, files, metadata=_describe(config, files, digest)
            )
            self._tag(login_server, name, reference, digest, media_type, len(request.body), image.digest)
        return Response(201, b"", {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest})

    def get_manifest(self, request: Request, login_server: str, name: str, reference: str) -> Response:
        digest, media_type = reference, None
        if not _DIGEST.fullmatch(reference):
            with self.sandbox.state.view() as data:
                entry = data.get(TAGS, {}).get(json.dumps([login_server.lower(), name, reference]))
            if entry is None:
                self.ensure_published(login_server)  # an image an ACR build or import recorded since
                with self.sandbox.state.view() as data:
                    entry = data.get(TAGS, {}).get(json.dumps([login_server.lower(), name, reference]))
            if entry is None:
                return errors(
                    404, "MANIFEST_UNKNOWN", f'manifest tagged by "{reference}" is not found', {"Tag": reference}
                )
            digest, media_type = entry["digest"], entry["mediaType"]
        path = self._blob_path(login_server, digest)
        if path is None or not path.is_file():
            return errors(404, "MANIFEST_UNKNOWN", "manifest unknown", {"Digest": reference})
        body = path.read_bytes()
        media_type = media_type or json.loads(body).get("mediaType") or MANIFEST_TYPES[0]
        headers = {"Docker-Content-Digest": digest, "Content-Type": media_type, "Content-Length": str(len(body))}
        return Response(200, b"" if request.method == "HEAD" else body, headers)

    # ----- what the registry holds: built, imported and pushed images --------------------------------------
    def _tag(
        self, login_server: str, name: str, tag: str, digest: str, media_type: str, size: int, image_digest: str
    ) -> None:
        now = time.time()
        with self.sandbox.state.edit() as data:
            tags = self.sandbox.state.collection(data, TAGS)
            key = json.dumps([login_server.lower(), name, tag])
            created = (tags.get(key) or {}).get("created", now)
            tags[key] = {
                "digest": digest,
                "mediaType": media_type,
                "size": size,
                "image_digest": image_digest,  # the images.py record this manifest stands for
                "created": created,
                "updated": now,
            }

    def publish(self, image: Any) -> str:
        """Give an image an ACR build or import recorded an OCI image manifest (config + one layer of its files at
        their paths in the image) and its tag, so the data plane serves it as it serves pushed images; returns the
        manifest's digest. The layer holds the files the sandbox knows (what the build copied in), not the base
        image's layers (a sandbox limit)."""
        login_server = image.login_server
        run = (
            container.ContainerConfig.from_metadata(image.metadata["container"])
            if image.metadata.get("container")
            else container.config_from_dockerfile(image.files()) or container.ContainerConfig()
        )
        files = image.files()
        layer_files = {path.lstrip("/"): files[key] for path, key in run.paths.items() if key in files}
        tar = _deterministic_tar(layer_files)
        layer = gzip.compress(tar, mtime=0)
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "created": iso(image.created),
                "config": {
                    "Entrypoint": run.entrypoint,
                    "Cmd": run.cmd,
                    "WorkingDir": run.workdir,
                    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                },
                "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]},
            },
            sort_keys=True,
        ).encode()
        descriptors = []
        for media_type, blob in (
            ("application/vnd.oci.image.config.v1+json", config),
            ("application/vnd.oci.image.layer.v1.tar+gzip", layer),
        ):
            digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            _write(self._blob_path(login_server, digest), blob)
            descriptors.append({"mediaType": media_type, "size": len(blob), "digest": digest})
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_TYPES[0],
                "config": descriptors[0],
                "layers": descriptors[1:],
            }
        ).encode()
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        _write(self._blob_path(login_server, digest), manifest)
        self._tag(login_server, image.repository, image.tag, digest, MANIFEST_TYPES[0], len(manifest), image.digest)
        return digest

    def manifest_digest(self, image: Any) -> str | None:
        with self.sandbox.state.view() as data:
            entry = data.get(TAGS, {}).get(json.dumps([image.login_server.lower(), image.repository, image.tag]))
        return entry["digest"] if entry else None

    def ensure_published(self, login_server: str) -> None:
        """Every image of the registry has its manifest (images recorded before, or by a caller of images.py)."""
        with self.sandbox.state.view() as data:
            tags = dict(data.get(TAGS, {}))
        for image in self.sandbox.images.list_images(login_server):
            entry = tags.get(json.dumps([login_server.lower(), image.repository, image.tag]))
            if entry is None or entry.get("image_digest") not in (None, image.digest):
                self.publish(image)

    def _tags_of(self, login_server: str) -> dict[tuple[str, str], dict[str, Any]]:
        self.ensure_published(login_server)
        with self.sandbox.state.view() as data:
            entries = dict(data.get(TAGS, {}))
        found = {}
        for key, entry in entries.items():
            server, repository, tag = json.loads(key)
            if server == login_server.lower():
                found[(repository, tag)] = dict(entry)
        return found

    # ----- listing: the distribution spec's catalog and tags, ACR's /acr/v1 metadata API ------------------
    def catalog(self, request: Request, login_server: str) -> Response:
        """GET /v2/_catalog and /acr/v1/_catalog: {"repositories": [...]}, paged by `n` and `last` with a Link header
        (distribution spec, "Listing Repositories"; ACR's GetRepositories)."""
        names = sorted({repository for repository, _ in self._tags_of(login_server)})
        page, link = _paged(names, request)
        return json_response(200, {"repositories": page}, link)

    def tags_list(self, request: Request, login_server: str, name: str) -> Response:
        """GET /v2/{name}/tags/list: {"name", "tags"}, paged like the catalog; an unknown repository is NAME_UNKNOWN."""
        tags = sorted(tag for repository, tag in self._tags_of(login_server) if repository == name)
        if not tags:
            return errors(404, "NAME_UNKNOWN", "repository name not known to registry", {"name": name})
        page, link = _paged(tags, request)
        return json_response(200, {"name": name, "tags": page}, link)

    def _repository(self, login_server: str, name: str) -> dict[tuple[str, str], dict[str, Any]] | None:
        entries = {key: entry for key, entry in self._tags_of(login_server).items() if key[0] == name}
        return entries or None

    def acr_repository(self, request: Request, login_server: str, name: str) -> Response:
        entries = self._repository(login_server, name)
        if entries is None:
            return _name_unknown(name)
        return json_response(
            200,
            {
                "registry": login_server,
                "imageName": name,
                "createdTime": iso(min(e["created"] for e in entries.values())),
                "lastUpdateTime": iso(max(e["updated"] for e in entries.values())),
                "manifestCount": len({e["digest"] for e in entries.values()}),
                "tagCount": len(entries),
                "changeableAttributes": dict(_CHANGEABLE),
            },
        )

    def acr_tags(self, request: Request, login_server: str, name: str) -> Response:
        entries = self._repository(login_server, name)
        if entries is None:
            return _name_unknown(name)
        tags = [_tag_attributes(tag, entry) for (_, tag), entry in entries.items()]
        order = (request.param("orderby") or "").lower()
        tags.sort(key=lambda t: t["lastUpdateTime"] if order in ("timedesc", "timeasc") else t["name"])
        if order == "timedesc":
            tags.reverse()
        page, link = _paged(tags, request, key=lambda t: t["name"])
        return json_response(200, {"registry": login_server, "imageName": name, "tags": page}, link)

    def acr_tag(self, request: Request, login_server: str, name: str, tag: str) -> Response:
        entry = (self._repository(login_server, name) or {}).get((name, tag))
        if entry is None:
            return errors(404, "TAG_UNKNOWN", "the specified tag does not exist", {"Tag": tag})
        return json_response(200, {"registry": login_server, "imageName": name, "tag": _tag_attributes(tag, entry)})

    def _manifests(self, login_server: str, name: str) -> dict[str, dict[str, Any]] | None:
        entries = self._repository(login_server, name)
        if entries is None:
            return None
        manifests: dict[str, dict[str, Any]] = {}
        for (_, tag), entry in sorted(entries.items()):
            item = manifests.setdefault(
                entry["digest"],
                {
                    "digest": entry["digest"],
                    "imageSize": entry.get("size", 0),
                    "createdTime": iso(entry["created"]),
                    "lastUpdateTime": iso(entry["updated"]),
                    "architecture": "amd64",
                    "os": "linux",
                    "mediaType": entry["mediaType"],
                    "tags": [],
                    "changeableAttributes": dict(_CHANGEABLE),
                },
            )
            item["tags"].append(tag)
        return manifests

    def acr_manifests(self, request: Request, login_server: str, name: str) -> Response:
        manifests = self._manifests(login_server, name)
        if manifests is None:
            return _name_unknown(name)
        page, link = _paged(sorted(manifests.values(), key=lambda m: m["digest"]), request, key=lambda m: m["digest"])
        return json_response(200, {"registry": login_server, "imageName": name, "manifests": page}, link)

    def acr_manifest(self, request: Request, login_server: str, name: str, digest: str) -> Response:
        manifest = (self._manifests(login_server, name) or {}).get(digest)
        if manifest is None:
            return errors(404, "MANIFEST_UNKNOWN", "manifest unknown", {"Digest": digest})
        return json_response(200, {"registry": login_server, "imageName": name, "manifest": manifest})

    def _image_files(self, login_server: str, manifest: dict[str, Any]) -> dict[str, bytes]:
        """The regular files of the layers, later layers over earlier ones (whiteouts are not simulated)."""
        files: dict[str, bytes] = {}
        for layer in manifest.get("layers") or []:
            data = self._blob(login_server, layer["digest"]) or b""
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
                for member in tar.getmembers():
                    path = PurePosixPath(member.name.lstrip("./") if member.name.startswith("./") else member.name)
                    if not member.isfile() or path.is_absolute() or ".." in path.parts or not path.parts:
                        continue
                    handle = tar.extractfile(member)
                    if handle is not None:
                        files[path.as_posix()] = handle.read()
        return files


def _describe(config: dict[str, Any], files: dict[str, bytes], digest: str) -> dict[str, Any]:
    """images.py's metadata for a pushed image: its config's Entrypoint/Cmd/WorkingDir say what its container runs."""
    settings = config.get("config") or {}
    entrypoint = list(settings.get("Entrypoint") or []) or None
    cmd = list(settings.get("Cmd") or []) or None
    start = next((arg.lstrip("/") for arg in reversed(cmd or []) if arg.lstrip("/") in files), None)
    run = container.ContainerConfig(
        entrypoint=entrypoint,
        cmd=cmd,
        workdir=settings.get("WorkingDir") or "/",
        paths={f"/{path}": path for path in files},
    )
    return {
        **({"start_script": start} if start else {}),
        "container": run.to_metadata(),
        "pushed": True,
        "manifest_digest": digest,
    }


def _scope(name: str | None, action: str) -> str | None:
    """The scope a challenge names for this request (Docker's token spec TYPE:NAME:ACTIONS; ACR adds
    registry:catalog:* and the metadata_read action of its /acr/v1 API)."""
    if action == "catalog":
        return "registry:catalog:*"
    if not action or name is None:
        return None
    return f"repository:{name}:{'push,pull' if action == 'push' else action}"


def _split_scope(scope: str) -> tuple[str, str, str]:
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return kind, name, actions


def _tag_attributes(tag: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": tag,
        "digest": entry["digest"],
        "createdTime": iso(entry["created"]),
        "lastUpdateTime": iso(entry["updated"]),
        "signed": False,
        "changeableAttributes": dict(_CHANGEABLE),
    }


def _name_unknown(name: str) -> Response:
    return errors(404, "NAME_UNKNOWN", "repository name not known to registry", {"name": name})


def _paged(items: list[Any], request: Request, key: Any = lambda item: item) -> tuple[list[Any], dict[str, str]]:
    """`n` and `last` paging with the Link header the distribution spec defines (rel="next" on the same path)."""
    last = request.param("last")
    if last:
        items = [item for item in items if key(item) > last]
    size = request.param("n") or ""
    if not size.isdigit() or int(size) <= 0 or len(items) <= int(size):
        return items, {}
    page = items[: int(size)]
    return page, {"Link": f'<{request.path}?last={key(page[-1])}&n={size}>; rel="next"'}


def _deterministic_tar(files: dict[str, bytes]) -> bytes:
    """A tar of `files` whose bytes depend on the files alone (fixed times and owners), so its digest is stable."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(files[name]), 0, 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    return buffer.getvalue()


def _form(request: Request) -> dict[str, str]:
    return dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))


def _query_pairs(request: Request) -> list[tuple[str, str]]:
    """The query's parameters; Request.query keeps the last of a repeated one (one scope per GET is served)."""
    return list(request.query.items())


def _basic(header: str) -> tuple[str, str, str]:
    if not header.startswith("Basic "):
        return "", "", ""
    try:
        user, sep, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except ValueError:
        return "", "", ""
    return user, sep, password


def _write(path: Path | None, data: bytes) -> None:
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.{uuid.uuid4().hex[:6]}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
