"""The one place where Azure failures become RdeployError(what happened, what to do next).

`explain(exc, doing=...)` takes anything an SDK call raised (azure-core HTTP errors, credential
errors, network errors, the SDK's own validation errors) and returns an RdeployError, from KNOWN_FAILURES: a table
of known failures (how to recognise one, what happened, what to do next) that a new failure extends by one row.
`azure_call` wraps a block so every exception leaving it is already explained. Messages never carry tokens or keys
(azure-core error texts do not; everything still passes capture.redact).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from rdeploy_tui.azure.capture import redact
from rdeploy_tui.errors import RdeployError

SIGN_IN = (
    "Sign in with `az login` (on an Azure ML compute instance: `az login --identity`), "
    "or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal; then run again. "
    "To try everything without an Azure account first: `rdeploy-tui --sandbox`."
)


class Principal(Protocol):
    """Who is signed in, as a message names them (credentials.Identity, which imports this module)."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def object_id(self) -> str | None: ...


# The signed-in identity, or a callable that reads it (it may sign in, which may fail: then it is not named).
Who = Principal | Callable[[], Principal] | None

# Which built-in role grants the action an AuthorizationFailed names (first matching prefix wins).
_ROLES = [
    (
        "microsoft.containerregistry/registries/schedulerun",
        "Contributor on the container registry (ACR Tasks need it; AcrPush is not enough)",
    ),
    (
        "microsoft.containerregistry/registries/listbuildsourceuploadurl",
        "Contributor on the container registry (ACR Tasks need it; AcrPush is not enough)",
    ),
    ("microsoft.containerregistry/registries/runs", "Contributor on the container registry"),
    ("microsoft.containerregistry", "Reader (to find it) or Contributor (to build in it) on the container registry"),
    (
        "microsoft.machinelearningservices/workspaces/onlineendpoints",
        "AzureML Data Scientist (or Contributor) on the workspace",
    ),
    ("microsoft.machinelearningservices/workspaces/models", "AzureML Data Scientist (or Contributor) on the workspace"),
    ("microsoft.machinelearningservices", "AzureML Data Scientist (or Contributor) on the workspace"),
    ("microsoft.resources/subscriptions", "Reader on the subscription"),
]


def error_code(exc: BaseException) -> str | None:
    """The Azure error code of an HTTP error (ARM body, LRO status body or the SDK's parsed error)."""
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    if code:
        return str(code)
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            body = json.loads(response.text())
            if isinstance(body, dict):
                inner = body.get("error") or body
                if isinstance(inner, dict) and inner.get("code"):
                    return str(inner["code"])
        except Exception:  # not JSON, or no body: no code
            pass
    return None


def error_message(exc: BaseException) -> str:
    """The service's own message, without azure-core's 'Code: ... Message: ...' decoration."""
    error = getattr(exc, "error", None)
    message = getattr(error, "message", None)
    if not message:
        message = getattr(exc, "message", None) or str(exc)
    text = str(message).strip()
    # azure-core prefixes "(Code) " and appends "Code: X\nMessage: Y"; keep the service's sentence.
    text = re.sub(r"^\(\w+\)\s*", "", text)
    text = text.split("\nCode:")[0].strip()
    return redact(text)


def status_code(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    if code is None and response is not None:
        code = getattr(response, "status_code", None)
    return code


@dataclass(frozen=True)
class Failure:
    """An exception an Azure call raised, read once: what every row of KNOWN_FAILURES matches on and words with."""

    exc: BaseException
    where: str  # " while creating endpoint x", or ""
    code: str | None  # Azure's error code
    message: str  # the service's own sentence, redacted
    status: int | None  # the HTTP status, when there was an answer
    details: str | None  # extra text from the caller (container log lines ...)
    who: Who

    @property
    def lowered(self) -> str:
        return self.message.lower()


@dataclass(frozen=True)
class KnownFailure:
    """One known failure: how to recognise it, what happened, what to do next. Rows are tried in order; the first
    whose `matches` holds explains the failure. A new failure is a new row, placed before the rows it is narrower
    than. `explain`, when set, builds the whole error (rows whose wording needs more than one sentence each)."""

    name: str  # what the row is, and the code reported unless `code` says otherwise
    matches: Callable[[Failure], bool]
    what: Callable[[Failure], str] = lambda f: ""
    next_step: Callable[[Failure], str] = lambda f: ""
    code: Callable[[Failure], str | None] | None = None  # the code reported; unset: the row's name
    details: Callable[[Failure], str | None] = lambda f: f.message
    explain: Callable[[Failure], RdeployError | None] | None = None


def _http(exc: BaseException, *names: str) -> bool:
    from azure.core import exceptions as core

    return isinstance(exc, tuple(getattr(core, n) for n in names))


def _credential_unavailable(exc: BaseException) -> bool:
    try:  # azure-identity is only present where we sign in; its errors mean "not signed in"
        from azure.identity import CredentialUnavailableError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, CredentialUnavailableError)


_SIGNED_OUT_CODES = ("ExpiredAuthenticationToken", "InvalidAuthenticationToken", "AuthenticationFailed")

KNOWN_FAILURES: tuple[KnownFailure, ...] = (
    # Sign-in: the causes hide in chains of credential errors, so these rows read the whole chain.
    KnownFailure("NoManagedIdentity", lambda f: True, explain=lambda f: _managed_identity_missing(f.exc, f.where)),
    KnownFailure("AzSessionExpired", lambda f: True, explain=lambda f: _az_session_gone(f.exc, f.where)),
    KnownFailure(
        "NotSignedIn",
        lambda f: _credential_unavailable(f.exc),
        what=lambda f: "You are not signed in to Azure" + f.where + ".",
        next_step=lambda f: SIGN_IN,
        details=lambda f: redact(str(f.exc)),
    ),
    KnownFailure("AADSTS", lambda f: True, explain=lambda f: _entra_error(f.exc, f.where)),
    KnownFailure("CertificateError", lambda f: True, explain=lambda f: _certificate_error(f.exc, f.where)),
    KnownFailure(
        "ExpiredAuthenticationToken",
        lambda f: f.code == "ExpiredAuthenticationToken",
        what=lambda f: "Your Azure sign-in has expired" + f.where + ".",
        next_step=lambda f: SIGN_IN,
    ),
    KnownFailure(
        "NotSignedIn",
        lambda f: _http(f.exc, "ClientAuthenticationError") or f.status == 401 or f.code in _SIGNED_OUT_CODES,
        what=lambda f: "Azure did not accept your sign-in" + f.where + ".",
        next_step=lambda f: SIGN_IN,
        code=lambda f: f.code or "NotSignedIn",
    ),
    # Access and subscriptions.
    KnownFailure(
        "AuthorizationFailed",
        lambda f: (
            f.code in ("AuthorizationFailed", "LinkedAuthorizationFailed", "AuthorizationPermissionMismatch")
            or f.status == 403
        ),
        explain=lambda f: _authorization_failed(f),
    ),
    KnownFailure(
        "SubscriptionNotFound",
        lambda f: f.code in ("SubscriptionNotFound", "InvalidSubscriptionId"),
        what=lambda f: _subscription(f) + f" was not found, or is not visible to {_who(f.who)}{f.where}.",
        next_step=lambda f: (
            "Check the subscription id in the spec (or --subscription) against `az account list -o "
            "table`; if it is right, ask an owner of the subscription for access (Reader or more), or sign in to its "
            "tenant with `az login --tenant TENANT`; then run again."
        ),
    ),
    KnownFailure(
        "ReadOnlyDisabledSubscription",
        lambda f: f.code == "ReadOnlyDisabledSubscription",
        what=lambda f: _subscription(f) + f" is disabled, so nothing can be created or changed in it{f.where}.",
        next_step=lambda f: (
            "Re-enable it (Azure portal > Subscriptions: a subscription is disabled when it was "
            "cancelled, its free credit or spending limit ran out, or a payment failed), or deploy to another "
            "subscription; then run again."
        ),
    ),
    # Building and running the image.
    KnownFailure(
        "TasksOperationsNotAllowed",
        lambda f: f.code == "TasksOperationsNotAllowed" or "tasksoperationsnotallowed" in f.lowered,
        what=lambda f: (
            "Your subscription does not allow ACR Tasks, so the image cannot be built in the registry"
            + f.where
            + ". Free-credit and trial subscriptions refuse them."
        ),
        next_step=lambda f: (
            "Upgrade the subscription to pay-as-you-go, or build and push the image yourself: "
            "write the files (the review screen or `rdeploy-tui init`), then `az acr login -n REGISTRY`, "
            "`docker build -t IMAGE docker-context`, `docker push IMAGE`."
        ),
    ),
    KnownFailure(
        "OutOfQuota",
        lambda f: (
            f.code in ("OutOfQuota", "QuotaExceeded")
            or ("quota" in f.lowered and ("not enough" in f.lowered or "exceed" in f.lowered))
        ),
        what=lambda f: (
            "There is not enough quota for this deployment"
            + f.where
            + (f": {numbers}" if (numbers := _quota_numbers(f.message)) else "")
            + "."
        ),
        next_step=lambda f: (
            "Use a smaller instance type or fewer instances, delete deployments you no longer need, "
            "or request more quota in Azure ML studio (Quota page) for this VM family and region. Azure needs 20% "
            "extra headroom."
        ),
    ),
    KnownFailure(
        "ImagePullFailure",
        lambda f: f.code in ("ImagePullFailure", "ImageNotFound") or ("pull" in f.lowered and "image" in f.lowered),
        what=lambda f: "The deployment could not pull its container image" + f.where + ".",
        next_step=lambda f: (
            "Check that the image exists in the workspace's registry (rerun with a rebuild) and that "
            "the workspace can reach the registry (its managed identity needs AcrPull)."
        ),
        details=lambda f: _join(f.message, f.details),
    ),
    KnownFailure(
        "ResourceNotReady",
        lambda f: (
            f.code == "ResourceNotReady" or "container has crashed" in f.lowered or "resourcenotready" in f.lowered
        ),
        what=lambda f: (
            "The scoring container did not become ready" + f.where + ": it crashed or its readiness probe kept failing."
        ),
        next_step=lambda f: (
            "Read the container log below (R errors end with 'Execution halted'); test locally with "
            "the local run, check the R packages and the model, then deploy again."
        ),
        details=lambda f: _join(f.message, f.details),
    ),
    # Endpoints.
    KnownFailure(
        "EndpointNameTaken",
        lambda f: _name_taken(f.code, f.message),
        what=lambda f: (
            "That endpoint name is already taken in this region"
            + f.where
            + " (endpoint names are unique per region, and a just-deleted name can stay reserved for a while)."
        ),
        next_step=lambda f: "Choose another endpoint name (for example add your initials or a date) and run again.",
    ),
    KnownFailure(
        "EndpointBusy",
        lambda f: _busy(f.code, f.message),
        what=lambda f: "The endpoint is busy with another operation (Updating)" + f.where + ".",
        next_step=lambda f: (
            "Wait until the current operation finishes (`rdeploy-tui endpoints show NAME`), then run again."
        ),
    ),
    # The service or the network failing.
    KnownFailure(
        "Throttled",
        lambda f: f.status == 429 or f.code in ("TooManyRequests", "429"),
        what=lambda f: "Azure kept throttling requests" + f.where + " even after several retries.",
        next_step=lambda f: "Wait a minute and run the command again (a deploy picks up where it stopped).",
    ),
    KnownFailure(  # an answer: the network works, the service failed (not "check the proxy")
        "ServiceError",
        lambda f: f.status is not None and f.status >= 500,
        what=lambda f: (
            f"Azure answered HTTP {f.status}"
            + (f" ({f.code})" if f.code else "")
            + f.where
            + " even after several retries"
            + (f": {f.message}" if f.message else ".")
        ),
        next_step=lambda f: (
            "Run the command again in a few minutes (a deploy picks up where it stopped); if it "
            "keeps failing, check https://status.azure.com or open a support request with the request id."
        ),
        code=lambda f: f.code or "ServiceError",
    ),
    KnownFailure(
        "NetworkError",
        lambda f: _http(f.exc, "ServiceRequestError", "ServiceResponseError"),
        what=lambda f: "Azure could not be reached or kept failing" + f.where + " even after several retries.",
        next_step=lambda f: (
            "Check the network connection (and proxy settings), then run the command again (a deploy "
            "picks up where it stopped)."
        ),
        code=lambda f: f.code or ("ServiceError" if f.status else "NetworkError"),
    ),
    KnownFailure(
        "NotFound",
        lambda f: _http(f.exc, "ResourceNotFoundError") or f.status == 404,
        what=lambda f: "Azure could not find the resource" + f.where + ".",
        next_step=lambda f: "Check the subscription, resource group, workspace and names in the spec.",
        code=lambda f: f.code or "NotFound",
    ),
    KnownFailure(
        "HttpResponseError",
        lambda f: _http(f.exc, "HttpResponseError"),
        what=lambda f: f"Azure refused the request{f.where}: {f.message}",
        next_step=lambda f: "Fix what the message says and run again.",
        code=lambda f: f.code,
    ),
)


def explain(exc: BaseException, doing: str = "", *, details: str | None = None, who: Who = None) -> RdeployError:
    """Turn any exception raised by an Azure call into an RdeployError: the first row of KNOWN_FAILURES that matches,
    else the SDK's own message. `doing`: e.g. "creating endpoint x". `who`: the signed-in identity (or a callable
    returning it), named when a subscription is not visible."""
    if isinstance(exc, RdeployError):
        return exc
    failure = Failure(
        exc, f" while {doing}" if doing else "", error_code(exc), error_message(exc), status_code(exc), details, who
    )
    for row in KNOWN_FAILURES:
        if not row.matches(failure):
            continue
        if row.explain is not None:
            error = row.explain(failure)
            if error is None:
                continue
            return error
        return RdeployError(
            row.what(failure),
            row.next_step(failure),
            details=row.details(failure),
            code=row.name if row.code is None else row.code(failure),
        )
    # The SDK's own validation errors and anything else: its message, never a traceback.
    text = redact(str(exc)) or type(exc).__name__
    return RdeployError(
        f"The Azure SDK failed{failure.where}: {text}",
        "Check the settings it names and run again.",
        details=text,
        code=type(exc).__name__,
    )


def _subscription(f: Failure) -> str:
    sub = _quoted_after(f.message, "subscription")
    return f"Subscription {sub}" if sub else "The subscription"


def _authorization_failed(f: Failure) -> RdeployError:
    action = _quoted_after(f.message, "action")
    scope = _quoted_after(f.message, "scope")
    role = _role_for(action or f.message)
    what = "You do not have permission" + (f" to perform {action}" if action else "") + f.where + "."
    nxt = f"Ask an owner of {scope or 'the resource'} to give you the role {role}, then run again."
    principal = re.search(r"object id '([0-9a-fA-F-]{36})'", f.message)
    if principal and scope:  # the scope once, in the command (a long id twice does not fit a dialog at 80x24)
        command = role_assignment_command(principal.group(1), re.split(r" \(| on ", role, maxsplit=1)[0], scope)
        nxt = f"Ask an owner to give you the role {role}. The owner runs:\n  {command}\nThen run again."
    return RdeployError(what, nxt, details=f.message, code=f.code or "AuthorizationFailed")


def _who(who: Who) -> str:
    """The signed-in identity as text; "the signed-in identity" when it is unknown or cannot be read."""
    try:
        value = who() if callable(who) else who
    except Exception:  # reading who failed (e.g. the sign-in itself): say it generically
        value = None
    return str(value) if value else "the signed-in identity"


@contextmanager
def azure_call(doing: str, *, details: str | Callable[[], str | None] | None = None, who: Who = None) -> Iterator[None]:
    """Every exception leaving the block becomes an explained RdeployError (KeyboardInterrupt passes).

    What the SDK prints inside the block is captured (capture.thread_output), never shown on the terminal."""
    from rdeploy_tui.azure.capture import thread_output

    try:
        with thread_output():
            yield
    except RdeployError:
        raise
    except Exception as exc:
        extra = details() if callable(details) else details
        raise explain(exc, doing, details=extra, who=who) from None


# Microsoft Entra sign-in errors (AADSTSnnn in error_description): what happened, what to do.
_ENTRA: dict[str, tuple[str, str]] = {
    "7000215": (
        "Microsoft Entra rejected the service principal's client secret (AADSTS7000215: invalid client secret)",
        "Set AZURE_CLIENT_SECRET to the secret's Value (not its Secret ID). If it expired or was deleted, create a new "
        "one (Microsoft Entra admin center > App registrations > the app > Certificates & secrets), then run again.",
    ),
    "7000222": (
        "The service principal's client secret has expired (AADSTS7000222)",
        "Create a new client secret (Microsoft Entra admin center > App registrations > the app > Certificates & "
        "secrets), set AZURE_CLIENT_SECRET to its Value, then run again.",
    ),
    "7000218": (
        "The sign-in request carried no client secret (AADSTS7000218)",
        "Set AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) for the service principal, then run again.",
    ),
    "700016": (
        "Microsoft Entra has no application with this client id in this tenant (AADSTS700016)",
        "Check AZURE_CLIENT_ID (the app's Application (client) ID) and AZURE_TENANT_ID (its Directory (tenant) ID), "
        "and that you sign in to the right cloud (--cloud / --arm-endpoint), then run again.",
    ),
    "90002": (
        "Microsoft Entra does not know this tenant (AADSTS90002)",
        "Check AZURE_TENANT_ID (the Directory (tenant) ID) and that you sign in to the right cloud (--cloud / "
        "--arm-endpoint), then run again.",
    ),
    "500011": (
        "The sign-in service does not know the resource the token was asked for (AADSTS500011)",
        "The ARM endpoint's token audience is not registered in this tenant: check --arm-endpoint and AZURE_TENANT_ID, "
        "or ask the cloud's operator which audience ARM expects.",
    ),
}


def _chain_text(exc: BaseException) -> str:
    """The messages of `exc` and everything it was raised from (credential chains wrap the real cause)."""
    parts: list[str] = []
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        parts.append(str(cause))
        cause = cause.__cause__ or cause.__context__
    return "\n".join(parts)


def role_assignment_command(assignee: str, role: str, scope: str) -> str:
    """The command an owner of `scope` runs to give `assignee` (an object id) `role`
    (learn.microsoft.com/cli/azure/role/assignment#az-role-assignment-create)."""
    return f'az role assignment create --assignee {assignee} --role "{role}" --scope {scope}'


def compute_instance_workspace_id() -> str | None:
    """The ARM id of the workspace a compute instance belongs to (its CI_* variables), or None elsewhere."""
    env = os.environ
    sub, group, ws = env.get("CI_SUBSCRIPTION_ID"), env.get("CI_RESOURCE_GROUP"), env.get("CI_WORKSPACE")
    if not (sub and group and ws):
        return None
    return f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.MachineLearningServices/workspaces/{ws}"


def no_role_on_compute_instance(who: Principal) -> RdeployError | None:
    """A compute instance's managed identity that sees no subscription has no role anywhere (ARM lists the
    subscriptions an identity holds a role in): name the role on the instance's workspace and the command."""
    workspace_id = compute_instance_workspace_id()
    if workspace_id is None or getattr(who, "kind", "") != "managed identity":
        return None
    assignee = getattr(who, "object_id", None) or who.name
    return RdeployError(
        f"The compute instance's managed identity ({assignee}) has no role in any subscription, so it cannot use "
        f"workspace {os.environ['CI_WORKSPACE']}.",
        "Ask an owner of the workspace to give it the role AzureML Data Scientist. The owner runs:\n  "
        + role_assignment_command(assignee, "AzureML Data Scientist", workspace_id)
        + "\nOr sign in with `az login` in this terminal. Then run again.",
        code="NoRoleAssignment",
    )


def _managed_identity_missing(exc: BaseException, where: str) -> RdeployError | None:
    """A compute instance (MSI_ENDPOINT) whose token endpoint says it has no identity ("Identity not found", as
    Azure's instance metadata service words it)."""
    if not os.environ.get("MSI_ENDPOINT") or "Identity not found" not in _chain_text(exc):
        return None
    # A compute instance gets its identity in its settings (learn.microsoft.com/azure/machine-learning/
    # how-to-create-compute-instance, "Assign managed identity"); whether it can be added later is not checked here.
    return RdeployError(
        "This compute instance has no managed identity, so it cannot sign in to Azure"
        + ("" if where == " while signing in" else where)
        + ".",
        "Sign in with `az login` in this terminal; or have the compute instance given a managed identity (its "
        "settings in Azure ML studio) with the role AzureML Data Scientist on the workspace. Then run again.",
        details=redact(_chain_text(exc)),
        code="NoManagedIdentity",
    )


def _az_session_gone(exc: BaseException, where: str) -> RdeployError | None:
    """The az CLI has no usable sign-in: never signed in, signed out, or expired. AzureCliCredential relays az's advice
    ("Please run 'az login' to set up an account"; "Run `az login` ..." after an expired refresh token)."""
    text = _chain_text(exc)
    if not re.search(r"(?i)run ['`]az login['`]", text):
        return None
    return RdeployError(
        "The Azure CLI is not signed in: its `az login` session has expired or was signed out" + where + ".",
        "Run `az login` again (on a compute instance: `az login --identity`), then run rdeploy-tui again.",
        details=redact(text),
        code="AzSessionExpired",
    )


def _entra_error(exc: BaseException, where: str) -> RdeployError | None:
    """A Microsoft Entra error as what + what to do, from MSAL/azure-identity whatever exception class carries it.

    MSAL re-raises a failed tenant discovery (AADSTS90002) as its own ValueError: the code is further down the chain."""
    text, match = "", None
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen and match is None:
        seen.add(id(cause))
        text = redact(str(cause))
        match = re.search(r"AADSTS(\d+)", text)
        cause = cause.__cause__ or cause.__context__
    if not match:
        return None
    code = "AADSTS" + match.group(1)
    detail = _entra_description(text)
    known = _ENTRA.get(match.group(1))
    if known:
        return RdeployError(known[0] + where + ".", known[1], details=detail, code=code)
    return RdeployError(f"Microsoft Entra refused the sign-in{where}: {detail}", SIGN_IN, details=detail, code=code)


def _entra_description(text: str) -> str:
    """'AADSTSnnn: sentence.' without the trace/correlation ids and timestamp Entra appends."""
    match = re.search(r"AADSTS\d+:.*?(?= Trace ID:|$)", text, re.DOTALL)
    return (match.group(0) if match else text).strip()


def _certificate_error(exc: BaseException, where: str) -> RdeployError | None:
    """TLS verification failures (a private CA without --ca-bundle): name the certificate problem, not 'the network'."""
    text = str(exc)
    cause: BaseException | None = exc
    while cause is not None and "CERTIFICATE_VERIFY_FAILED" not in text:
        cause = cause.__cause__ or cause.__context__
        text = str(cause) if cause is not None else text
    if "CERTIFICATE_VERIFY_FAILED" not in text:
        return None
    reason = re.search(r"CERTIFICATE_VERIFY_FAILED\]\s*certificate verify failed:\s*([^(\)']+)", text)
    return RdeployError(
        "A TLS certificate was not trusted" + where + (f" ({reason.group(1).strip()})" if reason else "") + ".",
        "For an ARM endpoint with its own CA (Azure Stack Hub, a private cloud), pass --ca-bundle FILE with that "
        "CA's PEM certificate; behind a TLS-inspecting proxy, set REQUESTS_CA_BUNDLE to a bundle with the proxy's "
        "CA. Then run again.",
        details=redact(text),
        code="CertificateError",
    )


def _join(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p)


def _quoted_after(message: str, word: str) -> str | None:
    match = re.search(word + r"\s+'([^']+)'", message, re.IGNORECASE)
    return match.group(1) if match else None


def _role_for(action: str) -> str:
    lowered = action.lower()
    for prefix, role in _ROLES:
        if prefix in lowered:
            return role
    return "Contributor (or a role that grants the action named above)"


def _quota_numbers(message: str) -> str:
    """'Current usage/limit: 4/10. Additional needed: 8' -> 'using 4 of 10 cores, 8 more needed'."""
    usage = re.search(r"usage\s*/\s*limit\s*:?\s*(\d+)\s*/\s*(\d+)", message, re.IGNORECASE)
    needed = re.search(r"(?:additional|more)\s+(?:cores\s+)?needed\s*:?\s*(\d+)", message, re.IGNORECASE)
    parts = []
    if usage:
        parts.append(f"{usage.group(1)} of {usage.group(2)} cores in use")
    if needed:
        parts.append(f"{needed.group(1)} more needed")
    return ", ".join(parts)


def _name_taken(code: str | None, message: str) -> bool:
    lowered = message.lower()
    if code in ("EndpointNameTaken", "EndpointAlreadyExists", "DuplicateEndpointName"):
        return True
    return "endpoint" in lowered and any(
        w in lowered for w in ("already exists in", "already taken", "not available", "is in use", "already in use")
    )


def _busy(code: str | None, message: str) -> bool:
    lowered = message.lower()
    if code in ("EndpointBusy", "OperationNotAllowedDuringUpdate"):
        return True
    return (
        code in ("Conflict", "UserError", None)
        and "updating" in lowered
        and ("state" in lowered or "operation" in lowered or "progress" in lowered)
    )
