"""Sending scoring requests over HTTP (httpx): one client, retries of transient failures, errors explained."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable

import httpx

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.scoring.openapi import openapi_url
from rdeploy_tui.scoring.proxy import proxy_for
from rdeploy_tui.scoring.result import ScoreResult
from rdeploy_tui.scoring.target import ScoringTarget
from rdeploy_tui.tls import tls_context

# Connections per client: the load test's concurrency bound.
MAX_CONNECTIONS = 32


class ScoringClient:
    """Sends scoring requests; thread-safe, one httpx connection pool per TLS setting.

    `keep_alive=False` opens a new connection per request. Keep-alive is right for Azure (no TLS
    handshake per request); a plain local plumber (httpuv) answers a reused connection ~40 ms late
    (r-facts: Nagle/delayed ACK), so local latency figures are fairer on new connections.
    """

    def __init__(self, *, keep_alive: bool = True, max_connections: int = MAX_CONNECTIONS) -> None:
        self.keep_alive = keep_alive
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections if keep_alive else 0
        )
        self._clients: dict[tuple[bool | str, str | None], httpx.Client] = {}
        self._lock = threading.Lock()

    def _client(self, verify: bool | str, uri: str = "") -> httpx.Client:
        proxy = proxy_for(uri)  # HTTPS_PROXY/NO_PROXY as the SDKs read them; the key only ever inside a tunnel
        with self._lock:
            client = self._clients.get((verify, proxy))
            if client is None:
                # trust_env=False: httpx would also proxy plain-http targets and read netrc; proxy_for decides instead.
                tls = tls_context(verify)
                client = httpx.Client(
                    verify=tls, limits=self._limits, trust_env=False, follow_redirects=False, proxy=proxy
                )
                self._clients[(verify, proxy)] = client
            return client

    def score(self, target: ScoringTarget, body: str | bytes) -> ScoreResult:
        """POST body (JSON text) to the target. HTTP and network trouble come back in the result."""
        payload = body.encode("utf-8") if isinstance(body, str) else body
        try:
            client = self._client(
                target.verify, target.uri
            )  # creating it loads CA certificates: not part of the latency
        except (OSError, ValueError, ssl.SSLError) as exc:
            return ScoreResult(
                None, 0.0, error=f"cannot use the CA bundle {target.verify!r}: {exc}", deployment=target.deployment
            )
        started = time.perf_counter()
        try:
            response = client.post(target.uri, content=payload, headers=target.headers(), timeout=target.timeout)
        except httpx.TimeoutException:
            return ScoreResult(
                None, _ms(started), error=f"no answer within {target.timeout:g} s", deployment=target.deployment
            )
        except (httpx.HTTPError, OSError, ValueError) as exc:
            return ScoreResult(None, _ms(started), error=_transport_error(exc), deployment=target.deployment)
        except RuntimeError:  # the client was closed meanwhile (its screen went away)
            return ScoreResult(
                None, _ms(started), error="cancelled: the scoring client was closed", deployment=target.deployment
            )
        return ScoreResult(
            response.status_code,
            _ms(started),
            {k.lower(): v for k, v in response.headers.items()},
            response.content,
            deployment=target.deployment,
        )

    def fetch_openapi(self, target: ScoringTarget, score_route: str = "/score", timeout: float = 10.0) -> object:
        """GET the API's /openapi.json beside the score route; None when it is not served (Azure only routes
        the score path to a custom container, so this works locally, rarely in the cloud)."""
        headers = {k: v for k, v in target.headers().items() if k != "Content-Type"}
        try:
            response = self._client(target.verify, target.uri).get(
                openapi_url(target.uri, score_route), headers=headers, timeout=timeout
            )
            return response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, OSError, ValueError):
            return None

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> ScoringClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def score(target: ScoringTarget, body: object) -> ScoreResult:
    """One request on a client of its own; a non-str/bytes body is sent as JSON."""
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    with ScoringClient() as client:
        return client.score(target, body)


def score_retrying(
    client: ScoringClient,
    target: ScoringTarget,
    body: str | bytes,
    *,
    attempts: int = 4,
    delay: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[ScoreResult, int]:
    """Score, trying again after a transient failure (no answer; 429, 502, 503, 504) up to `attempts`
    tries in all, waiting `delay` seconds and doubling (an answer's Retry-After wins). Returns the last
    result and how many tries it took."""
    for tries in range(1, attempts + 1):
        result = client.score(target, body)
        if tries >= attempts or not result.transient:
            return result, tries
        sleep(result.retry_wait(delay))
        delay *= 2
    raise ValueError("attempts must be at least 1")


# Failures whose cause the deployment's container log shows.
_LOG_CODES = frozenset({"ModelError", "Timeout", "BadGateway", "Unavailable"})


def _bare_command(*words: str) -> str:
    import shlex

    return shlex.join(["rdeploy-tui", *words])


def scoring_error(
    result: ScoreResult, endpoint: str, tries: int = 1, *, command: Callable[..., str] = _bare_command
) -> RdeployError | None:
    """None for a 200; otherwise result.explain() as the RdeployError the CLI and the deploy report. `command`
    builds a next command with the flags that reach the same Azure (ConnectionOptions.command)."""
    why = result.explain()
    if why is None:
        return None
    who = result.served_by or result.deployment
    after = f" (after {tries} tries)" if tries > 1 else ""
    next_step = why.next_step
    if why.code in _LOG_CODES or why.code.startswith("HTTP"):
        next_step += f"; the container log: `{command('endpoints', 'logs', endpoint, *(['-d', who] if who else []))}`"
    return RdeployError(
        f"Scoring endpoint {endpoint}" + (f" (deployment {who})" if who else "") + f" failed{after}: {why.what}",
        next_step,
        details=result.text[:500] or None,
        code=why.code,
    )


def score_or_raise(
    target: ScoringTarget,
    body: object,
    *,
    endpoint: str,
    attempts: int = 4,
    delay: float = 1.0,
    command: Callable[..., str] = _bare_command,
) -> ScoreResult:
    """One request on a client of its own (a non-str/bytes body is sent as JSON), retried while transient
    (score_retrying); the 200 result, or RdeployError with what went wrong (scoring_error)."""
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    with ScoringClient() as client:
        result, tries = score_retrying(client, target, body, attempts=attempts, delay=delay)
    error = scoring_error(result, endpoint, tries, command=command)
    if error is not None:
        raise error
    return result


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _transport_error(exc: BaseException) -> str:
    if isinstance(exc, httpx.ConnectError):
        cause = str(exc) or "connection failed"
        if "CERTIFICATE_VERIFY_FAILED" in cause:
            return "the server's TLS certificate is not trusted (give its CA with --ca-bundle)"
        return f"cannot connect ({cause})"
    if isinstance(exc, (httpx.UnsupportedProtocol, ValueError)):
        return f"not a usable URL ({exc})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
