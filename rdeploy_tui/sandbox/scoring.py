"""The scoring plane: {base_url}/endpoints/{name}/score proxies to the deployment's plumber process.

Answers the way Azure's inference front end does: 401 without a valid key/token, the
`azureml-model-deployment` header picks a deployment, otherwise traffic weights decide,
and a non-200 from the container comes back as 424 with ms-azureml-model-error-* headers.
"""
from __future__ import annotations

import hmac
import http.client
import json
import random
import re
import socket
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from rdeploy_tui.sandbox import online
from rdeploy_tui.sandbox.auth import TokenError
from rdeploy_tui.sandbox.http import Request, Response, Router

SLOW_SCORING_DEFAULT_S = 3.0


def _answer(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps({"message": message}).encode(), {"Content-Type": "application/json", **(headers or {})})


SCORE_PATH = re.compile(r"/endpoints/(?P<name>[^/]+)/score")


def refuse_before_body(sandbox: Any, request: Request) -> Response | None:
    """404/401 decided from the headers alone, so an unauthenticated caller never makes the sandbox read its body."""
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
        return _answer(401, "Unauthorized: the request needs the endpoint's key or token as 'Authorization: Bearer <key>'.", ids)
    return None


def register(router: Router, sandbox: Any) -> None:
    # Azure does not document its answer to other methods on the scoring URI; a POST-only route answers 405
    # (before this, the blob emulator's catch-all route answered them).
    for method in ("GET", "PUT", "DELETE", "PATCH", "HEAD"):
        @router.route(method, SCORE_PATH.pattern)
        def not_allowed(request: Request, name: str) -> Response:
            return _answer(405, "Method Not Allowed: score with POST.", {"Allow": "POST"})

    @router.route("POST", SCORE_PATH.pattern)
    def score(request: Request, name: str) -> Response:
        request_id = str(uuid.uuid4())
        ids = {"x-request-id": request_id, "x-ms-request-id": request_id}
        refused = refuse_before_body(sandbox, request)
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
        if deployment["state"] != "Succeeded" or target is None:
            return _answer(503, f"Deployment {deployment['name']} is not ready (provisioning state {deployment['state']}); no healthy upstream.", headers)
        delay = 0.0
        fault = sandbox.faults.take("slow-scoring", f"POST {request.path}")
        if fault is not None:
            delay = float(fault.params.get("seconds", SLOW_SCORING_DEFAULT_S))
        if delay >= target.request_timeout_s:
            time.sleep(target.request_timeout_s)
            return Response(408, b"upstream request timeout", {**headers, "Content-Type": "text/plain"})
        time.sleep(delay)
        try:
            status, body, content_type = _forward(target, request, target.request_timeout_s - delay)
        except socket.timeout:
            return Response(408, b"upstream request timeout", {**headers, "Content-Type": "text/plain"})
        except OSError:
            return _answer(502, f"Deployment {deployment['name']} did not answer: its container is not running. Read its inference-server logs.", headers)
        headers["Content-Type"] = content_type
        if status != 200:
            headers["ms-azureml-model-error-statuscode"] = str(status)
            headers["ms-azureml-model-error-reason"] = "model_error"
            return Response(424, body, headers)
        return Response(200, body, headers)


def _authorized(sandbox: Any, endpoint: dict[str, Any], header: str) -> bool:
    if not header.startswith("Bearer "):
        return False
    secret = header[7:].strip()
    if endpoint["auth_mode"].lower() == "key":
        keys = (sandbox.signer.endpoint_key(endpoint["id"], slot) for slot in ("primary", "secondary"))
        return any(hmac.compare_digest(secret, key) for key in keys)
    try:
        claims = sandbox.signer.verify(secret, "aml")
    except TokenError:
        return False
    return claims.get("endpoint") == endpoint["id"].lower()


def _pick(sandbox: Any, endpoint: dict[str, Any], wanted: str | None) -> tuple[dict[str, Any] | None, str]:
    deployments = {d["name"].lower(): d for d in online.deployments_of(sandbox, endpoint["id"])}
    if wanted:
        chosen = deployments.get(wanted.lower())
        if chosen is None:
            return None, f"Deployment {wanted} not found in endpoint {endpoint['name']}."
        return chosen, ""
    weights = [(deployments[n.lower()], share) for n, share in (endpoint.get("traffic") or {}).items() if share > 0 and n.lower() in deployments]
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


def _forward(target: Any, request: Request, timeout: float) -> tuple[int, bytes, str]:
    parts = urlsplit(target.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=max(0.1, timeout))
    try:
        conn.request(
            "POST", target.scoring_path, body=request.body,
            headers={"Content-Type": request.headers.get("Content-Type") or "application/json"},
        )
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("Content-Type") or "application/json"
    finally:
        conn.close()
