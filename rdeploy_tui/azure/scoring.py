"""The Azure side of scoring an online endpoint: where the request goes and with which key or token.

Sending the request and reading the answer (status, latency, retries, 401/424 explained, JSON inside a
string) is rdeploy_tui.scoring's, for the wizard, the CLI and the deploy alike. Our own HTTP call, not
online_endpoints.invoke, which leaks its deployment header into later calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdeploy_tui.azure.rest_online import RestEndpoints
from rdeploy_tui.azure.workspace import Workspace
from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:  # rdeploy_tui.scoring loads httpx: only when a request is made
    from rdeploy_tui.scoring.result import ScoreResult
    from rdeploy_tui.scoring.target import ScoringTarget


def endpoint_target(ws: Workspace, endpoint: str, deployment: str | None = None) -> ScoringTarget:
    """The endpoint's scoring URI and key/token (per its auth mode). RdeployError(code="NotReady") when it has no URI
    yet; RdeployError(code="Usage") naming the endpoint's deployments when `deployment` is none of them."""
    from rdeploy_tui.scoring.target import ScoringTarget

    endpoints = RestEndpoints(ws)  # reads and keys only: no azure.ai.ml import for `endpoints score`
    info = endpoints.show(endpoint)
    if not info.scoring_uri:
        raise RdeployError(
            f"endpoint {endpoint} has no scoring URI yet (it is {info.state})",
            "wait until it is Succeeded, then score again",
            code="NotReady",
        )
    if deployment:  # a deployment it does not have: named with the ones it has, before any request
        endpoints.require_deployment(endpoint, deployment, info)
    secret = endpoints.auth_header(endpoint).removeprefix("Bearer ")
    return ScoringTarget(info.scoring_uri, secret, deployment, verify=ws.connection.ca_bundle or True)


def score(
    ws: Workspace, endpoint: str, payload: object, *, deployment: str | None = None, attempts: int = 4
) -> ScoreResult:
    """POST `payload` (JSON-able) to the endpoint; busy or unreachable is tried again. The 200 result
    (rdeploy_tui.scoring.ScoreResult), or RdeployError: a 424 with the model's own status and reason."""
    from rdeploy_tui.scoring.client import score_or_raise

    return score_or_raise(
        endpoint_target(ws, endpoint, deployment),
        payload,
        endpoint=endpoint,
        attempts=attempts,
        delay=ws.connection.pace.poll_interval(1.0),
        command=ws.connection.command,
    )
