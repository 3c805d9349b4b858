"""Score an online endpoint with our own HTTP call (not online_endpoints.invoke, which leaks its
deployment header into later calls), so we also get latency, status and the model-error headers."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from rdeploy_tui.azure.online import Endpoints
from rdeploy_tui.azure.workspace import Workspace
from rdeploy_tui.errors import RdeployError

RETRY_STATUSES = (429, 502, 503, 504)


@dataclass(frozen=True)
class ScoreResult:
    status: int
    body: Any  # parsed JSON, or the text when it is not JSON
    text: str
    latency_ms: float
    deployment: str | None  # which deployment answered (azureml-model-deployment response header)
    request_id: str | None


def score(ws: Workspace, endpoint: str, payload: Any, *, deployment: str | None = None, timeout_s: float = 200.0, attempts: int = 4) -> ScoreResult:
    """POST `payload` (JSON-able) to the endpoint's scoring URI. Errors -> RdeployError, 424 with the model's own status and reason."""
    import httpx

    endpoints = Endpoints(ws)
    info = endpoints.show(endpoint)
    if not info.scoring_uri:
        raise RdeployError(f"Endpoint {endpoint} has no scoring URI yet (it is {info.state}).", "Wait until it is Succeeded, then score again.", code="NotReady")
    headers = {"Content-Type": "application/json", "Authorization": endpoints.auth_header(endpoint)}
    if deployment:
        headers["azureml-model-deployment"] = deployment
    body = json.dumps(payload).encode("utf-8")
    import ssl

    verify: Any = ssl.create_default_context(cafile=ws.session.ca_bundle) if ws.session.ca_bundle else True
    delay = 1.0 * ws.session.poll_scale
    last_error: str = ""
    with httpx.Client(verify=verify, timeout=timeout_s) as client:
        for attempt in range(attempts):
            started = time.perf_counter()
            try:
                response = client.post(info.scoring_uri, content=body, headers=headers)
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                if attempt + 1 < attempts:
                    time.sleep(delay)
                    delay *= 2
                    continue
                raise RdeployError(
                    f"The scoring request to {endpoint} did not get an answer ({last_error}).",
                    "Check the network; a slow model may need a longer request timeout (deployment request_timeout_ms, up to 180000).",
                    code="NetworkError",
                ) from None
            latency = (time.perf_counter() - started) * 1000
            if response.status_code in RETRY_STATUSES and attempt + 1 < attempts:
                time.sleep(_retry_after(response, delay))
                delay *= 2
                continue
            return _result_or_error(endpoint, deployment, response, latency)
    raise AssertionError("unreachable")  # pragma: no cover


def _retry_after(response: Any, default: float) -> float:
    try:
        return min(30.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default


def _result_or_error(endpoint: str, deployment: str | None, response: Any, latency: float) -> ScoreResult:
    text = response.text
    try:
        parsed = response.json()
    except ValueError:
        parsed = text
    status = response.status_code
    who = response.headers.get("azureml-model-deployment") or deployment
    if status == 200:
        return ScoreResult(status, parsed, text, latency, who, response.headers.get("x-request-id"))
    target = f"{endpoint}" + (f"/{who}" if who else "")
    short = text[:500]
    if status == 424:
        model_status = response.headers.get("ms-azureml-model-error-statuscode")
        reason = response.headers.get("ms-azureml-model-error-reason")
        raise RdeployError(
            f"The model container of {target} answered HTTP {model_status or '?'}" + (f" ({reason})" if reason else "") + " to the scoring request (Azure reports that as 424).",
            "The request reached your plumber API but it failed: check that the request matches what plumber.R expects, "
            "and read the inference-server log (`rdeploy-tui endpoints logs NAME`).",
            details=short,
            code="ModelError",
        )
    if status in (401, 403):
        raise RdeployError(f"The endpoint {endpoint} refused the key or token (HTTP {status}).", "Keys may have been regenerated: run again to fetch fresh ones.", details=short, code="ScoringAuth")
    if status == 404:
        raise RdeployError(f"Endpoint {endpoint} has no deployment {deployment or 'with traffic'} to answer (HTTP 404).", "Check the deployment name and the traffic split (`rdeploy-tui endpoints show NAME`).", details=short, code="NotFound")
    if status == 408 or status == 504:
        raise RdeployError(f"The scoring request to {target} timed out (HTTP {status}).", "Raise the deployment's request_timeout_ms (max 180000) or make the model faster.", details=short, code="Timeout")
    if status in RETRY_STATUSES:
        raise RdeployError(f"{target} kept answering HTTP {status} (busy or not ready) after several retries.", "Wait a little and score again; scale out if it stays busy.", details=short, code="Busy")
    raise RdeployError(f"The scoring request to {target} failed with HTTP {status}.", "Read the response below and the inference-server log.", details=short, code=f"HTTP{status}")
