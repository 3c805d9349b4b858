"""The scoring plane: {base_url}/endpoints/{name}/score proxies to the deployment's plumber process.

Answers the way Azure's inference front end does: 401 without a valid key/token, the
`azureml-model-deployment` header picks a deployment, otherwise traffic weights decide,
and a non-200 from the container comes back as 424 with ms-azureml-model-error-* headers.

Like the reverse proxy in front of an Azure ML container, the front keeps its upstream connections
to the container alive and reuses them (one pool for all deployments). That is what exposes httpuv's
~40 ms on reused connections (r-facts.md), which the generated plumber.R answers with `Connection: close`.
"""

from __future__ import annotations

import hmac
import json
import random
import re
import socket
import time
import uuid
from typing import Any

import httpx

from rdeploy_tui.sandbox import online
from rdeploy_tui.sandbox.auth import TokenError
from rdeploy_tui.sandbox.http import Request, Response, Router

SLOW_SCORING_DEFAULT_S = 3.0


def _answer(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status, json.dumps({"message": message}).encode(), {"Content-Type": "application/json", **(headers or {})}
    )


SCORE_PATH = re.compile(r"/endpoints/(?P<name>[^/]+)/score")


def refuse_before_body(sandbox: Any, request: Request) -> Response | None:
    """404/401 decided from the headers alone, so an unauthenticated caller never makes the sandbox read its body.
    A refusal of an endpoint that exists counts in its metrics (RequestsPerMinute by statusCode), as Azure's do."""
    started = time.perf_counter()
    refused = _refusal(sandbox, request)
    if refused is not None:
        sandbox.metrics.record_scoring(request, refused, started)
    return refused


def _refusal(sandbox: Any, request: Request) -> Response | None:
    match = SCORE_PATH.fullmatch(request.path)
    if request.method != "POST" or match is None:
        return None
    request_id = str(uuid.uuid4())
    ids = {"x-request-id": request_id, "x-ms-request-id": request_id}
    name = match["name"]
    endpoint = online.endpoint_by_name(sandbox, name)
    if endpoint is None or endpoint["state"] in ("Creating", "Deleting"):
        return _answer(404, f"Endpoint {name} not found.", ids)
    if not _authorized(sandbox, endpoint, request.headers.get("Authorization", "")):
        return _answer(
            401, "Unauthorized: the request needs the endpoint's key or token as 'Authorization: Bearer <key>'.", ids
        )
    return None


def register(router: Router, sandbox: Any) -> None:
    # trust_env=False: no proxy from the environment between the front and the container.
    # TCP_NODELAY as a reverse proxy sets it upstream (nginx: tcp_nodelay on): h11 writes a request's headers and body
    # separately, and on a reused connection Nagle would hold the body for the container's delayed ACK.
    limits = httpx.Limits(max_connections=None)
    transport = httpx.HTTPTransport(limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    upstream = httpx.Client(trust_env=False, follow_redirects=False, transport=transport)
    sandbox.scoring_upstream = upstream  # closed by Sandbox.stop

    # Azure does not document its answer to other methods on the scoring URI; a POST-only route answers 405
    # (before this, the blob emulator's catch-all route answered them).
    for method in ("GET", "PUT", "DELETE", "PATCH", "HEAD"):

        @router.route(method, SCORE_PATH.pattern)
        def not_allowed(request: Request, name: str) -> Response:
            return _answer(405, "Method Not Allowed: score with POST.", {"Allow": "POST"})

    @router.route("POST", SCORE_PATH.pattern)
    def score(request: Request, name: str) -> Response:
        started = time.perf_counter()
        response = answer(request, name)
        sandbox.metrics.record_scoring(request, response, started)  # status, latency, deployment (sandbox/metrics.py)
        return response

    def answer(request: Request, name: str) -> Response:
        request_id = str(uuid.uuid4())
        ids = {"x-request-id": request_id, "x-ms-request-id": request_id}
        refused = _refusal(sandbox, request)
        if refused is not None:
            return refused
        endpoint = online.endpoint_by_name(sandbox, name)
        if endpoint is None:  # deleted in between
            return _answer(404, f"Endpoint {name} not found.", ids)
        deployment, routed = _pick(sandbox, endpoint, request.headers.get("azureml-model-deployment"))
        if deployment is None:
            return _answer(404, routed, ids)
        headers = {**ids, "azureml-model-deployment": deployment["name"]}
        target = sandbox.hosting.target(deployment["id"])
        if target is None and deployment["state"] == "Succeeded":
            target = _after_restart(sandbox, deployment["id"])
        if deployment["state"] != "Succeeded" or target is None:
            return _answer(
                503,
                f"Deployment {deployment['name']} is not ready (provisioning state {deployment['state']}); no healthy "
                "upstream.",
                headers,
            )
        if not request.headers.get("azureml-model-deployment"):
            _mirror(sandbox, endpoint, request)
        delay = 0.0
        fault = sandbox.faults.take("slow-scoring", f"POST {request.path}")
        if fault is not None:
            delay = float(fault.params.get("seconds", SLOW_SCORING_DEFAULT_S))
        if delay >= target.request_timeout_s:
            time.sleep(target.request_timeout_s)
            return Response(408, b"upstream request timeout", {**headers, "Content-Type": "text/plain"})
        time.sleep(delay)
        try:
            status, body, content_type = _serve(
                sandbox, upstream, endpoint, deployment, target, request, target.request_timeout_s - delay
            )
        except httpx.TimeoutException:
            return Response(408, b"upstream request timeout", {**headers, "Content-Type": "text/plain"})
        except httpx.TransportError:
            return _answer(
                502,
                f"Deployment {deployment['name']} did not answer: its container is not running. Read its "
                "inference-server logs.",
                headers,
            )
        headers["Content-Type"] = content_type
        if status != 200:
            headers["ms-azureml-model-error-statuscode"] = str(status)
            headers["ms-azureml-model-error-reason"] = "model_error"
            return Response(424, body, headers)
        return Response(200, body, headers)


def _after_restart(sandbox: Any, dep_id: str) -> Any:
    """The target of a deployment whose container the sandbox is restarting because the sandbox itself restarted
    (online.resume). On Azure a Succeeded deployment keeps running: hold the request until the restart is over
    (hosting bounds it by its ready timeout) rather than answer 503 for the sandbox's own artifact."""
    while dep_id.lower() in sandbox.restarting and not sandbox.stopping:
        time.sleep(0.05)
    return sandbox.hosting.target(dep_id)


def _authorized(sandbox: Any, endpoint: dict[str, Any], header: str) -> bool:
    if not header.startswith("Bearer "):
        return False
    secret = header[7:].strip()
    if endpoint["auth_mode"].lower() == "key":
        keys = (online.endpoint_key(sandbox, endpoint, slot) for slot in ("primary", "secondary"))
        return any(hmac.compare_digest(secret, key) for key in keys)
    try:
        claims = sandbox.signer.verify(secret, "aml")
    except TokenError:
        return False
    with sandbox.state.view() as data:
        workspace = data.get("workspaces", {}).get(endpoint["workspace"].lower()) or {}
    return claims.get("endpointName") == endpoint["name"] and claims.get("workspaceId") == workspace.get(
        "workspace_guid"
    )


def _pick(sandbox: Any, endpoint: dict[str, Any], wanted: str | None) -> tuple[dict[str, Any] | None, str]:
    deployments = {d["name"].lower(): d for d in online.deployments_of(sandbox, endpoint["id"])}
    if wanted:
        chosen = deployments.get(wanted.lower())
        if chosen is None:
            return None, f"Deployment {wanted} not found in endpoint {endpoint['name']}."
        return chosen, ""
    weights = [
        (deployments[n.lower()], share)
        for n, share in (endpoint.get("traffic") or {}).items()
        if share > 0 and n.lower() in deployments
    ]
    if not weights:
        return None, (
            "No valid deployments to route to. Please check that the endpoint has at least one deployment with "
            "positive weight values or use a deployment specific header to route."
        )
    pick = random.uniform(0, sum(share for _, share in weights))
    for deployment, share in weights:
        pick -= share
        if pick <= 0:
            return deployment, ""
    return weights[-1][0], ""


def _serve(
    sandbox: Any,
    upstream: httpx.Client,
    endpoint: dict[str, Any],
    deployment: dict[str, Any],
    target: Any,
    request: Request,
    timeout: float,
) -> tuple[int, bytes, str]:
    """The deployment's answer, through the deployment-slow / deployment-errors knobs (faults.py) when they
    target it: one deployment made slow or failing after N requests, so a rollout can be seen rolling back."""
    who = f"{endpoint['name']}/{deployment['name']}"
    started = time.monotonic()
    failing = sandbox.faults.take("deployment-errors", who)
    if failing is not None and failing.hits > int(failing.params.get("after", 0)):
        status = int(failing.params.get("status", 500))
        return (
            status,
            json.dumps({"error": f"model failed (sandbox fault deployment-errors, HTTP {status})"}).encode(),
            "application/json",
        )
    answer = _forward(upstream, target, request, timeout)
    slow = sandbox.faults.take("deployment-slow", who)
    if slow is not None and slow.hits > int(slow.params.get("after", 0)):
        took = time.monotonic() - started
        extra = (float(slow.params.get("factor", 5)) - 1) * took + float(slow.params.get("seconds", 0))
        if took + extra >= timeout:
            time.sleep(max(0.0, timeout - took))
            raise httpx.ReadTimeout("upstream request timeout")
        time.sleep(extra)
    return answer


def _mirror(sandbox: Any, endpoint: dict[str, Any], request: Request) -> None:
    """Copy the request to the shadow deployment (endpoint mirrorTraffic) in the background; its answer is dropped.

    Azure mirrors only requests sent to the endpoint without a deployment named in azureml-model-deployment, and
    the caller sees only the live deployment's answer ("Test the deployment with mirrored traffic",
    https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints).
    """
    for name, share in (endpoint.get("mirror_traffic") or {}).items():
        if not share or random.uniform(0, 100) >= share:
            continue
        shadow = next(
            (d for d in online.deployments_of(sandbox, endpoint["id"]) if d["name"].lower() == name.lower()), None
        )
        if shadow is None or shadow["state"] != "Succeeded":
            continue
        target = sandbox.hosting.target(shadow["id"])
        if target is None:
            continue

        def copy(shadow: dict[str, Any] = shadow, target: Any = target) -> None:
            try:
                _serve(sandbox, sandbox.scoring_upstream, endpoint, shadow, target, request, target.request_timeout_s)
            except (httpx.HTTPError, OSError):
                pass  # a mirrored answer (or its absence) never reaches the caller

        sandbox.spawn(copy, name="sandbox-mirror")


def _forward(upstream: httpx.Client, target: Any, request: Request, timeout: float) -> tuple[int, bytes, str]:
    """POST to the least busy instance, on a pooled connection (kept alive unless the container says
    Connection: close)."""
    with target.lease() as instance:
        response = upstream.post(
            instance.url + target.scoring_path,
            content=request.body,
            timeout=max(0.1, timeout),
            headers={"Content-Type": request.headers.get("Content-Type") or "application/json"},
        )
    return response.status_code, response.content, response.headers.get("Content-Type") or "application/json"
