"""Why a scoring request did not answer 200, in the user's terms, and what to do next."""

from __future__ import annotations

from dataclasses import dataclass

from rdeploy_tui.bounded_read import parse_json

MODEL_ERROR_STATUS_HEADER = "ms-azureml-model-error-statuscode"


MODEL_ERROR_REASON_HEADER = "ms-azureml-model-error-reason"


@dataclass(frozen=True)
class Explanation:
    """Why a request did not score, and what to do about it."""

    what: str
    next_step: str
    code: str


def _error_text(body: bytes) -> str | None:
    """The message an API put in its error body ({"error": ...} from plumber.R, {"message": ...} from Azure)."""
    try:
        value = parse_json(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):  # ContentError too: nested too deep, a number too long
        text = body.decode("utf-8", errors="replace").strip()
        return text[:300] or None
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict):
        for key in ("error", "message", "detail"):
            item = value.get(key)
            if isinstance(item, list) and len(item) == 1:
                item = item[0]
            if isinstance(item, str) and item.strip():
                return item.strip()
            if isinstance(item, dict) and isinstance(item.get("message"), str):
                return item["message"].strip()
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


# Next steps for a status the model container itself returned (behind a 424, or locally).
_CONTAINER_STATUS_NEXT = {
    400: "the scoring script refused this request: check the request's fields and types against what the model expects",
    404: "the container has no such route: the deployment's scoring route must match the script's #* @post path",
    405: "the score route does not accept POST: declare it with #* @post in the scoring script",
    500: "the R code failed while scoring: read the inference-server log for R's error message "
    "(malformed JSON, a missing argument or a model error all end as 500 in plumber)",
}


# What Azure's front end (or a proxy) means by a status: (what, with {status}; next step; code).
_TIMED_OUT = (
    "HTTP {status}: scoring took longer than the deployment's request timeout",
    "make the model faster, or raise request_settings.request_timeout_ms (at most 180000)",
    "Timeout",
)


_FRONT_END_STATUS: dict[int, tuple[str, str, str]] = {
    401: (
        "HTTP 401: the key or token was refused",
        "get the endpoint's keys again (tokens expire after a while; keys change when regenerated)",
        "Unauthorized",
    ),
    403: (
        "HTTP 403: not allowed",
        "ask for a role that may score this endpoint (e.g. AzureML Data Scientist)",
        "Forbidden",
    ),
    404: (
        "HTTP 404",
        "check the endpoint exists and that a deployment takes traffic, or pick a deployment that exists",
        "NotFound",
    ),
    408: _TIMED_OUT,
    429: (
        "HTTP 429: too many requests at once",
        "send fewer requests at a time, or add instances (plumber answers one request at a time)",
        "TooManyRequests",
    ),
    502: (
        "HTTP 502: the container did not answer",
        "read the deployment's inference-server log: the R process probably stopped",
        "BadGateway",
    ),
    503: (
        "HTTP 503: no healthy deployment could take the request",
        "wait until the deployment is ready, or read its logs if it keeps failing its probes",
        "Unavailable",
    ),
    504: _TIMED_OUT,
}


def explain_status(status: int, headers: dict[str, str], body: bytes) -> Explanation:
    """Explain a non-200 answer; a 424 through the model-error headers Azure adds."""
    says = _error_text(body)
    said = f": {says}" if says else ""
    if status == 424:
        inner = headers.get(MODEL_ERROR_STATUS_HEADER)
        reason = headers.get(MODEL_ERROR_REASON_HEADER)
        try:
            inner_status = int(inner) if inner else None
        except ValueError:
            inner_status = None
        about = f"HTTP {inner}" if inner else "a non-200 status"
        if reason:
            about += f" (reason: {reason})"
        next_step = _CONTAINER_STATUS_NEXT.get(
            inner_status or 0, "read the inference-server log of the deployment for what the scoring script did"
        )
        return Explanation(
            f"the model container answered {about}{said}; Azure passes a container's non-200 answer "
            "on as 424 (Failed Dependency)",
            next_step,
            "ModelError",
        )
    if status in _FRONT_END_STATUS:
        head, next_step, code = _FRONT_END_STATUS[status]
        return Explanation(head.format(status=status) + said, next_step, code)
    # Any other status: straight from the container when scoring locally, or an Azure front-end error.
    next_step = _CONTAINER_STATUS_NEXT.get(status, "read the deployment's inference-server log")
    return Explanation(f"HTTP {status}{said}", next_step, f"HTTP{status}")
