"""An ACR refresh token for `docker login`, got the way `az acr login` gets one (no `az` needed).

    login = registry_login(ws)            # RegistryLogin(login_server, username=NULL_GUID, password=<refresh token>)
    docker login <login_server> --username 00000000-0000-0000-0000-000000000000 --password-stdin  <<< password

The flow, as ACR's "AAD OAuth" document describes it (https://github.com/Azure/acr/blob/main/docs/AAD-OAuth.md,
"Authenticating to a registry with Azure CLI" and "Calling POST /oauth2/exchange") and azure-cli does it
(azure/cli/command_modules/acr/_docker_utils.py: _handle_challenge_phase, _get_aad_token_after_challenge):
  1. GET https://<login server>/v2/ without credentials: 401 with `WWW-Authenticate: Bearer realm=...,service=...`;
  2. POST <realm's scheme and host>/oauth2/exchange, form grant_type=access_token, service=<the challenge's service>,
     tenant=<the token's tenant>, access_token=<an Entra access token> -> {"refresh_token": ...};
  3. the refresh token is docker's password, with the null GUID as user name (docker then does the token dance).
The Entra token is the connection's ARM token (what az did before 2.67): ACR accepts ARM-audience
tokens unless the registry's `azureADAuthenticationAsArmPolicy` is disabled, in which case az asks for the audience
https://containerregistry.azure.net instead; the refusal then names that policy.

The refresh token is a password: it goes to docker on stdin only, never on a command line, in a log or a file of
ours (docker's own credential store keeps it, as after `az acr login`). Plain httpx: two small requests, through
HTTPS_PROXY/NO_PROXY as every other client (a corporate proxy; the built-in sandbox is reached the same way).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rdeploy_tui.azure.workspace import Workspace
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.tls import tls_context

if TYPE_CHECKING:
    import httpx

NULL_GUID = "00000000-0000-0000-0000-000000000000"
_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RegistryLogin:
    login_server: str
    username: str
    password: str = field(repr=False)  # the ACR refresh token


def registry_login(ws: Workspace) -> RegistryLogin:
    """The workspace registry's refresh token for `docker login`. Raises RdeployError (RegistryUnreachable,
    RegistryLoginRefused) with what to do next."""
    import httpx

    registry = ws.registry()
    server = registry.login_server
    connection = ws.connection
    verify = tls_context(connection.ca_bundle or True)
    try:
        # trust_env: HTTPS_PROXY/NO_PROXY as everywhere else; no redirects (the exchange's form holds a token)
        with httpx.Client(verify=verify, timeout=_TIMEOUT_S, trust_env=True, follow_redirects=False) as client:
            challenge = client.get(f"https://{server}/v2/")
            params = _bearer_params(challenge.headers.get("WWW-Authenticate", ""))
            if challenge.status_code != 401 or "realm" not in params or "service" not in params:
                raise RdeployError(
                    f"The registry {server} did not answer as a container registry does (HTTP {challenge.status_code} "
                    "to GET /v2/, without a Bearer challenge).",
                    f"Check that {server} is reachable from this machine (proxy, firewall, private endpoint), then "
                    "deploy again.",
                    code="RegistryUnreachable",
                )
            realm_host = urlsplit(params["realm"]).netloc or server
            tenant = connection.identity().tenant_id
            form = {
                "grant_type": "access_token",
                "service": params["service"],
                "access_token": connection.access_token(),
            }
            if tenant:
                form["tenant"] = tenant
            answer = client.post(f"https://{realm_host}/oauth2/exchange", data=form)
    except httpx.HTTPError as exc:
        raise RdeployError(
            f"The registry {server} could not be reached to sign in: {type(exc).__name__}.",
            f"Check that {server} is reachable from this machine (proxy, firewall, private endpoint), then deploy "
            "again.",
            details=str(exc)[:500],
            code="RegistryUnreachable",
        ) from None
    refresh = _json(answer).get("refresh_token") if answer.status_code == 200 else None
    if not refresh:
        raise RdeployError(
            f"The registry {server} refused to exchange your sign-in for a registry token (HTTP {answer.status_code}).",
            f"You need the AcrPush role on {registry.name} (`az role assignment create --role AcrPush --assignee <you> "
            f"--scope {registry.id}`); if the registry disables ARM-audience tokens "
            "(azureADAuthenticationAsArmPolicy), build elsewhere and deploy with `--image`.",
            details=_acr_error(answer),
            code="RegistryLoginRefused",
        )
    return RegistryLogin(server, NULL_GUID, str(refresh))


def _bearer_params(header: str) -> dict[str, str]:
    """realm/service/scope of `Bearer realm="...",service="..."` (quoted values may hold commas)."""
    import re

    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "bearer":
        return {}
    return {key.lower(): value for key, value in re.findall(r'(\w+)="([^"]*)"', rest)}


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _acr_error(response: httpx.Response) -> str:
    """AcrErrors' first {code, message}, else the start of the body (never the request: it held the token)."""
    errors = _json(response).get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return f"{errors[0].get('code')}: {errors[0].get('message')}"
    return response.text[:300]


def image_in_registry(ws: Workspace, login: RegistryLogin, repository: str, tag: str) -> bool:
    """True when repository:tag is in the registry: an access token for `repository:REPO:pull` from the refresh token
    (AAD-OAuth.md, "Calling POST /oauth2/token"), then `HEAD /v2/REPO/manifests/TAG` (OCI distribution spec,
    "Checking if content exists"). Any failure reads as "not known to be there" (the caller builds)."""
    import httpx

    server = login.login_server
    verify = tls_context(ws.connection.ca_bundle or True)
    form = {
        "grant_type": "refresh_token",
        "service": server,
        "scope": f"repository:{repository}:pull",
        "refresh_token": login.password,
    }
    accept = ", ".join(
        (
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
        )
    )
    try:
        with httpx.Client(verify=verify, timeout=_TIMEOUT_S, trust_env=True, follow_redirects=False) as client:
            answer = client.post(f"https://{server}/oauth2/token", data=form)
            token = _json(answer).get("access_token") if answer.status_code == 200 else None
            if not token:
                return False
            head = client.head(
                f"https://{server}/v2/{repository}/manifests/{tag}",
                headers={"Authorization": f"Bearer {token}", "Accept": accept},
            )
    except httpx.HTTPError:
        return False
    return head.status_code == 200
