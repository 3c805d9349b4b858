"""Sign-in the way a custom cloud publishes it: ARM's cloud metadata and a Microsoft Entra token endpoint.

    GET  /metadata/endpoints?api-version=...                     ARM's cloud metadata (no auth), in the shape ARM
                                                                 answers each api-version (see metadata_for_version);
                                                                 loginEndpoint is the sandbox
    GET  /{tenant}/v2.0/.well-known/openid-configuration         what MSAL asks first (tenant discovery)
    POST /{tenant}/oauth2/v2.0/token                             client-credentials grant (azure-identity's
                                                                 ClientSecretCredential / EnvironmentCredential)
    GET  /common/discovery/instance                              instance discovery (MSAL only asks it when told to)
    GET  /{tenant}/.well-known/openid-configuration              the v1 metadata (its issuer is ARM tokens' iss)
    GET  /{tenant}/discovery/v2.0/keys, /{tenant}/discovery/keys the signing keys (JWKS)

Only the registered test service principal gets tokens: its client id is fixed, its secret is derived from the
state folder's secret (so it survives restarts and is never stored in state.json), and `rdeploy-tui sandbox` prints
both. Errors have Entra's shape: {"error", "error_description": "AADSTSnnn: ...", "error_codes", "timestamp",
"trace_id", "correlation_id", "error_uri"}. Tokens carry the claims Entra's do (aud, iss, tid, oid, appid, iat, nbf,
exp, ...) and are RS256 JWTs signed with the sandbox's key, which it publishes as Entra does
(`{tenant}/discovery/v2.0/keys`, the openid-configuration's jwks_uri), so any JWT library can verify them.
"""

from __future__ import annotations

import base64
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from rdeploy_tui.sandbox import arm_front_door
from rdeploy_tui.sandbox.arm import TENANT_ID
from rdeploy_tui.sandbox.auth import sts_issuer
from rdeploy_tui.sandbox.http import Request, Response, Router, json_response
from rdeploy_tui.sandbox.settings import STORAGE_ENDPOINT

SP_CLIENT_ID = "0c1d5a7e-5a4d-4f3e-8b1c-5a4db0c5e7a1"
SP_DISPLAY_NAME = "rdeploy-sandbox-deployer"
SP_OBJECT_ID = "7e1f0a3b-2c4d-4e5f-9a6b-00000000d3b1"
TOKEN_LIFETIME_S = 3599  # Entra's usual expires_in for app tokens
# An audience that is not the ARM URL, the way public Azure lists https://management.core.windows.net/ first.
EXTRA_AUDIENCE = "https://management.sandbox.rdeploy.invalid/"


@dataclass(frozen=True)
class RegisteredPrincipal:
    """The service principal registered in the sandbox's simulated Entra: what a client signs in as (the launch
    module hands it to the client as a connection_options.ServicePrincipal)."""

    tenant_id: str
    client_id: str
    client_secret: str
    display_name: str = SP_DISPLAY_NAME

    def environment(self) -> dict[str, str]:
        """The variables azure-identity's EnvironmentCredential reads."""
        return {
            "AZURE_TENANT_ID": self.tenant_id,
            "AZURE_CLIENT_ID": self.client_id,
            "AZURE_CLIENT_SECRET": self.client_secret,
        }


def service_principal(sandbox: Any) -> RegisteredPrincipal:
    """The sandbox's registered test service principal (secret derived from the state folder's secret)."""
    mac = sandbox.signer.mac("service-principal-secret", SP_CLIENT_ID).replace("-", "a").replace("_", "b")
    return RegisteredPrincipal(TENANT_ID, SP_CLIENT_ID, f"sbx8Q~{mac[:34]}")


def audiences(sandbox: Any) -> list[str]:
    """Token audiences the sandbox's ARM accepts (each with a trailing slash, as ARM's metadata lists them)."""
    return [sandbox.base_url + "/", EXTRA_AUDIENCE]


def audience_allowed(sandbox: Any, aud: str) -> bool:
    wanted = aud.rstrip("/").lower()
    return any(wanted == a.rstrip("/").lower() for a in audiences(sandbox))


CLOUD_NAME = "RdeploySandbox"  # the name az and azure-ai-ml know the sandbox by when they read its metadata

# The shapes ARM answers /metadata/endpoints in, by api-version, as the public clients read them:
# - 2015-01-01: one legacy object {galleryEndpoint, graphEndpoint, portalEndpoint, authentication} (msrestazure's
#   get_cloud_from_metadata_endpoint; Azure Stack Hub docs).
# - 2019-05-01 .. 2020-06-01: a JSON list of clouds, each {name, resourceManager, authentication, suffixes, ...}:
#   azure-cli's azure/cli/core/cloud.py (retrieve_arm_cloud_metadata + _convert_arm_to_cli iterate it when
#   ARM_CLOUD_METADATA_URL=...?api-version=2019-05-01), azure-ai-ml's _azure_environments._convert_arm_to_cli, and the
#   Azure Stack Hub samples for 2019-10-01 (Azure-Samples/*-azurestack: `metadata = result[0]`, ArrayNode in Java).
# - 2022-09-01: this cloud's entry alone, one object: `az cloud register --endpoint-resource-manager` reads it with
#   azure/cli/command_modules/cloud/custom.py _populate_from_metadata_endpoint -> _arm_to_cli_mapper(metadata), and
#   hashicorp/go-azure-sdk's metadata client unmarshals it into one struct (metaDataResponse20220901).
# What ARM answers for other api-versions is not documented: the sandbox answers as the newest known version at or
# below the one asked (an older one than 2015-01-01 gets ARM's InvalidApiVersionParameter).
METADATA_SHAPES = (("2022-09-01", "object"), ("2019-05-01", "list"), ("2015-01-01", "legacy"))


def metadata_for_version(sandbox: Any, version: str) -> Any | None:
    """The /metadata/endpoints body for `version`, or None when the version predates every known one."""
    for first, shape in METADATA_SHAPES:
        if version >= first:
            if shape == "object":
                return cloud_metadata(sandbox)
            if shape == "list":
                return [cloud_metadata(sandbox)]
            return legacy_metadata(sandbox)
    return None


def cloud_metadata(sandbox: Any) -> dict[str, Any]:
    """This cloud's entry in ARM's /metadata/endpoints (the 2022-09-01 body, and each item of the 2019-05-01 list)."""
    base = sandbox.base_url + "/"
    return {
        "name": CLOUD_NAME,
        "portal": base,
        "authentication": {
            "loginEndpoint": base,
            "audiences": audiences(sandbox),
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": base,
        "graphAudience": base,
        "graph": base,
        "batch": base,
        "resourceManager": base,
        "vmImageAliasDoc": base + "vm-image-aliases.json",
        "sqlManagement": base,
        "microsoftGraphResourceId": base,
        "appInsightsResourceId": base,
        "appInsightsTelemetryChannelResourceId": base,
        "attestationResourceId": base,
        "synapseAnalyticsResourceId": base,
        "logAnalyticsResourceId": base,
        "ossrDbmsResourceId": base,
        "suffixes": {
            "acrLoginServer": "azurecr.io",
            "keyVaultDns": "vault.azure.net",
            "storage": STORAGE_ENDPOINT,
            "sqlServerHostname": "database.windows.net",
            "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "mhsmDns": "managedhsm.azure.net",
        },
    }


def legacy_metadata(sandbox: Any) -> dict[str, Any]:
    """The older shape (api-version 2015-01-01, what msrestazure and Azure Stack Hub docs show)."""
    base = sandbox.base_url + "/"
    return {
        "galleryEndpoint": base,
        "graphEndpoint": base,
        "portalEndpoint": base,
        "authentication": {"loginEndpoint": base, "audiences": audiences(sandbox)},
    }


def entra_error(
    status: int, error: str, code: int, description: str, request: Request | None = None, base: str = ""
) -> Response:
    """An error in the shape Microsoft Entra's token and discovery endpoints send."""
    trace_id = str(uuid.uuid4())
    correlation_id = (request.headers.get("client-request-id") if request else None) or str(uuid.uuid4())
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    return json_response(
        status,
        {
            "error": error,
            "error_description": (
                f"AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {stamp}Z"
            ),
            "error_codes": [code],
            "timestamp": stamp + "Z",
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{base or 'https://login.microsoftonline.com'}/error?code={code}",
        },
        {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
    )


def _tenant_known(tenant: str) -> bool:
    return tenant.lower() in (TENANT_ID.lower(), "rdeploysandbox.onmicrosoft.com")


def _tenant_not_found(tenant: str, request: Request, base: str) -> Response:
    return entra_error(
        400,
        "invalid_tenant",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the "
        "correct cloud. Check with your subscription administrator, this may happen if there are no active "
        "subscriptions for the tenant.",
        request,
        base,
    )


def openid_configuration(sandbox: Any, tenant: str) -> dict[str, Any]:
    base = sandbox.base_url
    tid = TENANT_ID
    return {
        "token_endpoint": f"{base}/{tid}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{tid}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/{tid}/oauth2/v2.0/logout",
        "claims_supported": [
            "sub",
            "iss",
            "cloud_instance_name",
            "cloud_instance_host_name",
            "cloud_graph_host_name",
            "msgraph_host",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "ver",
            "at_hash",
            "c_hash",
            "email",
        ],
        "kerberos_endpoint": f"{base}/{tid}/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "rdeploy-sandbox",
        "cloud_graph_host_name": "graph.sandbox.rdeploy.invalid",
        "msgraph_host": "graph.sandbox.rdeploy.invalid",
        "rbac_url": base,
    }


def _client_credentials(request: Request) -> tuple[str | None, str | None, dict[str, str]]:
    form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    client_id, secret = form.get("client_id"), form.get("client_secret")
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("basic "):  # client_secret_basic
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            client_id, secret = client_id or user, secret or password
        except ValueError:
            pass
    return client_id, secret, form


def register(router: Router, sandbox: Any) -> None:

    @router.route("GET", r"/metadata/endpoints")
    def metadata_endpoints(request: Request) -> Response:
        version = request.api_version
        if not version:
            return arm_front_door.missing_error().response()
        body = metadata_for_version(sandbox, version)
        if body is None:
            return arm_front_door.invalid_error(version, [v for v, _ in METADATA_SHAPES]).response()
        return json_response(200, body)

    @router.route("GET", r"/common/discovery/instance")
    def instance_discovery(request: Request) -> Response:
        endpoint = request.param("authorization_endpoint") or ""
        if not endpoint.lower().startswith(sandbox.base_url.lower() + "/"):
            return entra_error(
                400, "invalid_instance", 50049, "Unknown or invalid instance.", request, sandbox.base_url
            )
        tenant = endpoint[len(sandbox.base_url) + 1 :].split("/")[0]
        host = sandbox.base_url.split("://", 1)[1]
        return json_response(
            200,
            {
                "tenant_discovery_endpoint": f"{sandbox.base_url}/{tenant}/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
            },
        )

    @router.route("GET", r"/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration")
    def openid(request: Request, tenant: str) -> Response:
        if not _tenant_known(tenant):
            return _tenant_not_found(tenant, request, sandbox.base_url)
        return json_response(200, openid_configuration(sandbox, tenant))

    @router.route("GET", r"/(?P<tenant>[^/]+)/\.well-known/openid-configuration")
    def openid_v1(request: Request, tenant: str) -> Response:
        """The v1 endpoint's metadata: its issuer is the one ARM tokens (v1) carry, as Entra's says sts.windows.net."""
        if not _tenant_known(tenant):
            return _tenant_not_found(tenant, request, sandbox.base_url)
        body = openid_configuration(sandbox, tenant)
        body.update(
            issuer=sts_issuer(TENANT_ID),
            jwks_uri=f"{sandbox.base_url}/{TENANT_ID}/discovery/keys",
            token_endpoint=f"{sandbox.base_url}/{TENANT_ID}/oauth2/token",
        )
        return json_response(200, body)

    # The keys tokens are signed with, as Entra publishes them (jwks_uri of the openid-configuration; v2.0 keys carry
    # the v2 issuer, v1 keys none): https://learn.microsoft.com/entra/identity-platform/signing-key-rollover
    @router.route("GET", r"/(?P<tenant>[^/]+)/discovery/(?P<version>v2\.0/)?keys")
    def keys(request: Request, tenant: str, version: str | None) -> Response:
        if tenant.lower() != "common" and not _tenant_known(tenant):
            return _tenant_not_found(tenant, request, sandbox.base_url)
        jwk = sandbox.signer.signing_key.jwk(f"{sandbox.base_url}/{TENANT_ID}/v2.0")
        if not version:
            jwk.pop("issuer")
        return json_response(200, {"keys": [jwk]})

    @router.route("POST", r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token")
    def token(request: Request, tenant: str) -> Response:
        if not _tenant_known(tenant):
            return _tenant_not_found(tenant, request, sandbox.base_url)
        client_id, secret, form = _client_credentials(request)
        grant = form.get("grant_type")
        if grant != "client_credentials":
            return entra_error(
                400,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type. The sandbox signs in service principals only (client "
                "credentials).",
                request,
                sandbox.base_url,
            )
        sp = service_principal(sandbox)
        if not client_id:
            return entra_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
                request,
                sandbox.base_url,
            )
        if client_id.lower() != sp.client_id:
            return entra_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{sp.tenant_id}'. This can "
                "happen if the application has not been installed by the administrator of the tenant or consented to "
                "by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                request,
                sandbox.base_url,
            )
        if not secret:
            return entra_error(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                request,
                sandbox.base_url,
            )
        if not hmac.compare_digest(secret.encode(), sp.client_secret.encode()):
            return entra_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                f"value, not the client secret ID, for a secret added to app '{sp.client_id}'.",
                request,
                sandbox.base_url,
            )
        scopes = (form.get("scope") or "").split()
        resources = [
            s[: -len("/.default")] if s.endswith("/.default") else s
            for s in scopes
            if s not in ("openid", "profile", "offline_access")
        ]
        if len(resources) != 1 or not scopes[0].endswith("/.default"):
            return entra_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {form.get('scope') or ''} is not valid. Client credential flows must "
                "have a scope value with /.default suffixed to the resource identifier (application ID URI).",
                request,
                sandbox.base_url,
            )
        resource = resources[0]
        if not audience_allowed(sandbox, resource):
            return entra_error(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named {sp.tenant_id}. This can "
                "happen if the application has not been installed by the administrator of the tenant or consented to "
                "by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
                request,
                sandbox.base_url,
            )
        access_token, _expires_on = sandbox.signer.issue(
            "arm",
            TOKEN_LIFETIME_S,
            aud=resource,
            tid=sp.tenant_id,
            appid=sp.client_id,
            app_displayname=sp.display_name,
            oid=SP_OBJECT_ID,
            sub=SP_OBJECT_ID,
            idtyp="app",
            ver="1.0",
        )
        return json_response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_S,
                "ext_expires_in": TOKEN_LIFETIME_S,
                "access_token": access_token,
            },
            {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
        )
