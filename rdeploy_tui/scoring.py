"""Scoring an online endpoint: the one place rdeploy-tui sends scoring requests over HTTP.

    client = ScoringClient()                                   # reuse it: connections are kept alive
    target = ScoringTarget(uri, key_or_token, deployment="blue", verify=ca_bundle_or_True)
    result = client.score(target, '{"forecast_horizon": [2]}')  # ScoreResult, never raises for HTTP trouble
    result.status, result.latency_ms, result.value, result.explain(), result.double_encoded, records_table(result.value)
    client.close()
    score_or_raise(target, payload, endpoint="my-endpoint")   # retries busy/unreachable, RdeployError unless 200

Pure Python (httpx), no Textual, no Azure SDK: the wizard, the management screens, the deploy's
smoke-score, `rdeploy-tui endpoints score` and the local run all score through here. The Azure layer
only says where to send the request and with which key or token (rdeploy_tui.azure.scoring). The key
or token is sent as `Authorization: Bearer ...` and is never part of a result, a repr, a log line or
a snippet unless the caller asks for it to be revealed.
"""
from __future__ import annotations

import json
import math
import shlex
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

import httpx

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.local_response import DOUBLE_ENCODING_FIX, double_encoded

DEPLOYMENT_HEADER = "azureml-model-deployment"
MODEL_ERROR_STATUS_HEADER = "ms-azureml-model-error-statuscode"
MODEL_ERROR_REASON_HEADER = "ms-azureml-model-error-reason"
MASK = "********"
# Azure's request timeout is at most 180 s (request_settings.request_timeout_ms); wait a little longer.
DEFAULT_TIMEOUT_S = 190.0
# Answers worth another try: throttled, or the front end found no container ready (yet).
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_WAIT_S = 30.0  # a Retry-After header is followed up to this many seconds
MAX_TABLE_ROWS = 500  # a response table beyond this shows the first rows and says how many there are

# Load-test bounds: a sanity check from a terminal, not a load generator.
MAX_LOAD_REQUESTS = 1000
MAX_LOAD_CONCURRENCY = 32
DEFAULT_LOAD_TIME_LIMIT_S = 120.0


# --- the request -----------------------------------------------------------------------------------


class RequestTextError(RdeployError):
    """The request body is not valid JSON; `line`/`column` (1-based) point at the problem."""

    def __init__(self, what: str, line: int, column: int) -> None:
        super().__init__(what, "fix the JSON in the request editor", code="BadRequestJson")
        self.line, self.column = line, column


def parse_request_text(text: str) -> Any:
    """The JSON value of an editor's text; RequestTextError with the position when it is not JSON."""
    if not text.strip():
        raise RequestTextError("the request body is empty: write a JSON object, e.g. {\"x\": [1]}", 1, 1)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestTextError(f"the request is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                               exc.lineno, exc.colno) from None


def request_text(value: Any) -> str:
    """How a request value is shown in the editor and in snippets."""
    return json.dumps(value, indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class ScoringTarget:
    """Where to score and with what. `deployment` None: the endpoint's traffic split decides."""

    uri: str
    credential: str | None = field(default=None, repr=False)  # endpoint key or token: never shown unless revealed
    deployment: str | None = None
    verify: bool | str = True  # True, or a CA bundle path (custom ARM endpoints, the sandbox)
    timeout: float = DEFAULT_TIMEOUT_S

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.credential:
            headers["Authorization"] = f"Bearer {self.credential}"
        if self.deployment:
            headers[DEPLOYMENT_HEADER] = self.deployment
        return headers

    def describe(self) -> str:
        return f"{self.uri} (deployment {self.deployment})" if self.deployment else self.uri


def endpoint_target(ws: Any, endpoint: str, deployment: str | None = None) -> ScoringTarget:
    """The target of an Azure (or sandbox) endpoint: its scoring URI and key/token, which only the Azure
    layer knows. Blocks on the network (call it from a worker); RdeployError when it has no URI yet."""
    from rdeploy_tui.azure.scoring import endpoint_target as azure_target  # the SDK loads only when a call needs it

    return azure_target(ws, endpoint, deployment)


# --- the answer ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """Why a request did not score, and what to do about it."""

    what: str
    next_step: str
    code: str


@dataclass(frozen=True)
class ScoreResult:
    status: int | None  # None: no HTTP answer at all (see `error`)
    latency_ms: float  # from sending the request to the last byte of the answer
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    content: bytes = b""  # the body as received
    error: str | None = None  # transport failure: refused, timed out, TLS ...
    deployment: str | None = None  # the deployment asked for (None: traffic split)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def body(self) -> Any:
        """The parsed JSON body, or the text when it is not JSON (what the CLI prints with --json)."""
        return self.value if self.is_json else self.text

    @property
    def is_json(self) -> bool:
        return self._parsed()[0]

    @property
    def value(self) -> Any:
        """The parsed JSON body (None when the body is not JSON)."""
        return self._parsed()[1]

    def _parsed(self) -> tuple[bool, Any]:
        cached = self.__dict__.get("_parsed_cache")
        if cached is None:
            try:
                cached = (True, json.loads(self.content)) if self.content else (False, None)
            except (ValueError, UnicodeDecodeError):
                cached = (False, None)
            object.__setattr__(self, "_parsed_cache", cached)  # frozen dataclass: cache by hand
        return cached

    @property
    def served_by(self) -> str | None:
        """The deployment that answered, as Azure reports it."""
        return self.headers.get(DEPLOYMENT_HEADER)

    @property
    def double_encoded(self) -> Any | None:
        """The real result when the response is JSON inside a string (the script returned toJSON() text)."""
        return double_encoded(self.value) if self.ok and self.is_json else None

    def pretty(self) -> str:
        """The body for reading: indented JSON when it is JSON, else the text as received."""
        if self.is_json:
            return json.dumps(self.value, indent=2, ensure_ascii=False)
        return self.text

    def explain(self) -> Explanation | None:
        """None for a 200; otherwise what went wrong, in the user's terms."""
        if self.ok:
            return None
        if self.status is None:
            return Explanation(f"no answer from {self.deployment_note()}the endpoint: {self.error}",
                               "check the scoring URI and the network; on a compute instance the endpoint must be reachable "
                               "from its virtual network", "NoAnswer")
        return explain_status(self.status, self.headers, self.content)

    def deployment_note(self) -> str:
        return f"deployment {self.deployment} of " if self.deployment else ""

    def summary(self) -> str:
        """One line: status, latency and who answered."""
        if self.status is None:
            return f"no answer after {self.latency_ms:.0f} ms"
        by = f" from {self.served_by}" if self.served_by else ""
        return f"HTTP {self.status}{by} in {self.latency_ms:.0f} ms"

    @property
    def transient(self) -> bool:
        """No answer, or an answer that may be different a moment later (busy, not ready yet)."""
        return self.status is None or self.status in RETRY_STATUSES

    def retry_wait(self, default: float) -> float:
        """Seconds to wait before trying again: the answer's Retry-After (at most 30 s), else `default`."""
        try:
            return min(MAX_RETRY_WAIT_S, float(self.headers.get("retry-after", default)))
        except ValueError:
            return default


def _error_text(body: bytes) -> str | None:
    """The message an API put in its error body ({"error": ...} from plumber.R, {"message": ...} from Azure)."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
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
_TIMED_OUT = ("HTTP {status}: scoring took longer than the deployment's request timeout",
              "make the model faster, or raise request_settings.request_timeout_ms (at most 180000)", "Timeout")
_FRONT_END_STATUS: dict[int, tuple[str, str, str]] = {
    401: ("HTTP 401: the key or token was refused",
          "get the endpoint's keys again (tokens expire after a while; keys change when regenerated)", "Unauthorized"),
    403: ("HTTP 403: not allowed", "ask for a role that may score this endpoint (e.g. AzureML Data Scientist)", "Forbidden"),
    404: ("HTTP 404", "check the endpoint exists and that a deployment takes traffic, or pick a deployment that exists",
          "NotFound"),
    408: _TIMED_OUT,
    429: ("HTTP 429: too many requests at once",
          "send fewer requests at a time, or add instances (plumber answers one request at a time)", "TooManyRequests"),
    502: ("HTTP 502: the container did not answer",
          "read the deployment's inference-server log: the R process probably stopped", "BadGateway"),
    503: ("HTTP 503: no healthy deployment could take the request",
          "wait until the deployment is ready, or read its logs if it keeps failing its probes", "Unavailable"),
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
            inner_status or 0, "read the inference-server log of the deployment for what the scoring script did")
        return Explanation(f"the model container answered {about}{said}; Azure passes a container's non-200 answer "
                           "on as 424 (Failed Dependency)", next_step, "ModelError")
    if status in _FRONT_END_STATUS:
        head, next_step, code = _FRONT_END_STATUS[status]
        return Explanation(head.format(status=status) + said, next_step, code)
    # Any other status: straight from the container when scoring locally, or an Azure front-end error.
    next_step = _CONTAINER_STATUS_NEXT.get(status, "read the deployment's inference-server log")
    return Explanation(f"HTTP {status}{said}", next_step, f"HTTP{status}")


def double_encoding_message(result: ScoreResult) -> str | None:
    """The warning shown when the response is JSON inside a string, with the fix."""
    if result.double_encoded is None:
        return None
    return f"the response is JSON inside a string. Fix the R script: {DOUBLE_ENCODING_FIX}"


# --- tables ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordsTable:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    total: int  # rows in the response; may exceed len(rows)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def records_table(value: Any, max_rows: int = MAX_TABLE_ROWS) -> RecordsTable | None:
    """A table when `value` is a non-empty list of JSON objects (plumber's encoding of a data.frame)."""
    if not isinstance(value, list) or not value or not all(isinstance(item, dict) for item in value):
        return None
    columns: dict[str, None] = {}
    for record in value:
        for key in record:
            columns.setdefault(str(key), None)
    if not columns:
        return None
    names = tuple(columns)
    rows = tuple(tuple(_cell(record.get(name)) for name in names) for record in value[:max_rows])
    return RecordsTable(names, rows, len(value))


# --- a sample request from the API's OpenAPI description -------------------------------------------


def openapi_url(scoring_uri: str, score_route: str = "/score") -> str:
    """Where plumber serves /openapi.json, next to the score route of `scoring_uri`."""
    parts = urlsplit(scoring_uri)
    path = parts.path
    if score_route and path.endswith(score_route):
        path = path[: -len(score_route)]
    return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/") + "/openapi.json", "", ""))


def _example(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return "value"
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "array":
        return [_example(schema.get("items", {}))]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "object":
        props = schema.get("properties")
        return {k: _example(v) for k, v in props.items()} if isinstance(props, dict) else {}
    return "value"


def sample_from_openapi(doc: Any, score_route: str = "/score") -> dict[str, Any] | None:
    """A request body for the score route from plumber's OpenAPI 3.0.3 description, or None when it
    does not describe the arguments (a `function(req, res)` handler lists no parameters).

    plumber lists a POST handler's arguments as query parameters (type string unless annotated with
    `#* @param name:type`); a JSON request body carries them as fields, which is how they are sent.
    """
    if not isinstance(doc, dict):
        return None
    paths = doc.get("paths")
    op = paths.get(score_route, {}).get("post") if isinstance(paths, dict) and isinstance(paths.get(score_route), dict) else None
    if not isinstance(op, dict):
        return None
    sample: dict[str, Any] = {}
    for param in op.get("parameters") or []:
        if isinstance(param, dict) and isinstance(param.get("name"), str) and param.get("in") in ("query", None):
            if param["name"] in ("req", "res"):
                continue
            sample[param["name"]] = _example(param.get("schema"))
    body = (((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("schema")
    if isinstance(body, dict) and isinstance(body.get("properties"), dict):
        for name, schema in body["properties"].items():
            sample.setdefault(name, _example(schema))
    return sample or None


# --- copyable snippets -----------------------------------------------------------------------------


def _secret(target: ScoringTarget, reveal: bool) -> str:
    if not target.credential:
        return "<KEY-OR-TOKEN>"
    return target.credential if reveal else MASK


def curl_snippet(target: ScoringTarget, body_text: str, *, reveal: bool = False) -> str:
    """A curl command that sends this request; the key/token is masked unless `reveal`."""
    lines = [f"curl -sS -X POST {shlex.quote(target.uri)}",
             f"  -H {shlex.quote('Authorization: Bearer ' + _secret(target, reveal))}",
             "  -H 'Content-Type: application/json'"]
    if target.deployment:
        lines.append(f"  -H {shlex.quote(DEPLOYMENT_HEADER + ': ' + target.deployment)}")
    compact = json.dumps(json.loads(body_text), separators=(",", ":"), ensure_ascii=False) if _is_json(body_text) else body_text
    lines.append(f"  --data-binary {shlex.quote(compact)}")
    return " \\\n".join(lines)


def python_snippet(target: ScoringTarget, body_text: str, *, reveal: bool = False) -> str:
    """Standard-library Python that sends this request; the key/token is masked unless `reveal`."""
    body = json.loads(body_text) if _is_json(body_text) else body_text
    headers = {"Authorization": "Bearer " + _secret(target, reveal), "Content-Type": "application/json"}
    if target.deployment:
        headers[DEPLOYMENT_HEADER] = target.deployment
    header_lines = "".join(f"    {k!r}: {v!r},\n" for k, v in headers.items())
    return (
        "import json\n"
        "import urllib.request\n"
        "\n"
        f"url = {target.uri!r}\n"
        f"headers = {{\n{header_lines}}}\n"
        f"body = {body!r}\n"
        "request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method=\"POST\")\n"
        "with urllib.request.urlopen(request, timeout=180) as response:\n"
        "    print(response.status, json.loads(response.read()))\n"
    )


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
        return True
    except ValueError:
        return False


# --- the client ------------------------------------------------------------------------------------


class ScoringClient:
    """Sends scoring requests; thread-safe, one httpx connection pool per TLS setting.

    `keep_alive=False` opens a new connection per request. Keep-alive is right for Azure (no TLS
    handshake per request); a plain local plumber (httpuv) answers a reused connection ~40 ms late
    (r-facts: Nagle/delayed ACK), so local latency figures are fairer on new connections.
    """

    def __init__(self, *, keep_alive: bool = True, max_connections: int = MAX_LOAD_CONCURRENCY) -> None:
        self.keep_alive = keep_alive
        self._limits = httpx.Limits(max_connections=max_connections,
                                    max_keepalive_connections=max_connections if keep_alive else 0)
        self._clients: dict[bool | str, httpx.Client] = {}
        self._lock = threading.Lock()

    def _client(self, verify: bool | str) -> httpx.Client:
        with self._lock:
            client = self._clients.get(verify)
            if client is None:
                # trust_env=False: no proxy or netrc from the environment may see the Authorization header.
                tls: Any = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
                client = httpx.Client(verify=tls, limits=self._limits, trust_env=False, follow_redirects=False)
                self._clients[verify] = client
            return client

    def score(self, target: ScoringTarget, body: str | bytes) -> ScoreResult:
        """POST body (JSON text) to the target. HTTP and network trouble come back in the result."""
        payload = body.encode("utf-8") if isinstance(body, str) else body
        try:
            client = self._client(target.verify)  # creating it loads CA certificates: not part of the latency
        except (OSError, ValueError, ssl.SSLError) as exc:
            return ScoreResult(None, 0.0, error=f"cannot use the CA bundle {target.verify!r}: {exc}",
                               deployment=target.deployment)
        started = time.perf_counter()
        try:
            response = client.post(
                target.uri, content=payload, headers=target.headers(), timeout=target.timeout)
        except httpx.TimeoutException:
            return ScoreResult(None, _ms(started), error=f"no answer within {target.timeout:g} s",
                               deployment=target.deployment)
        except (httpx.HTTPError, OSError, ValueError) as exc:
            return ScoreResult(None, _ms(started), error=_transport_error(exc), deployment=target.deployment)
        except RuntimeError:  # the client was closed meanwhile (its screen went away)
            return ScoreResult(None, _ms(started), error="cancelled: the scoring client was closed",
                               deployment=target.deployment)
        return ScoreResult(response.status_code, _ms(started), {k.lower(): v for k, v in response.headers.items()},
                           response.content, deployment=target.deployment)

    def fetch_openapi(self, target: ScoringTarget, score_route: str = "/score", timeout: float = 10.0) -> Any | None:
        """GET the API's /openapi.json beside the score route; None when it is not served (Azure only routes
        the score path to a custom container, so this works locally, rarely in the cloud)."""
        headers = {k: v for k, v in target.headers().items() if k != "Content-Type"}
        try:
            response = self._client(target.verify).get(openapi_url(target.uri, score_route), headers=headers, timeout=timeout)
            return response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, OSError, ValueError):
            return None

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> "ScoringClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def score(target: ScoringTarget, body: str | bytes | Any) -> ScoreResult:
    """One request on a client of its own; a non-str/bytes body is sent as JSON."""
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    with ScoringClient() as client:
        return client.score(target, body)


def score_retrying(client: ScoringClient, target: ScoringTarget, body: str | bytes, *, attempts: int = 4,
                   delay: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> tuple[ScoreResult, int]:
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


def scoring_error(result: ScoreResult, endpoint: str, tries: int = 1) -> RdeployError | None:
    """None for a 200; otherwise result.explain() as the RdeployError the CLI and the deploy report."""
    why = result.explain()
    if why is None:
        return None
    who = result.served_by or result.deployment
    after = f" (after {tries} tries)" if tries > 1 else ""
    next_step = why.next_step
    if why.code in _LOG_CODES or why.code.startswith("HTTP"):
        next_step += f"; the container log: `rdeploy-tui endpoints logs {endpoint}" + (f" -d {who}`" if who else "`")
    return RdeployError(f"Scoring endpoint {endpoint}" + (f" (deployment {who})" if who else "") + f" failed{after}: {why.what}",
                        next_step, details=result.text[:500] or None, code=why.code)


def score_or_raise(target: ScoringTarget, body: str | bytes | Any, *, endpoint: str, attempts: int = 4,
                   delay: float = 1.0) -> ScoreResult:
    """One request on a client of its own (a non-str/bytes body is sent as JSON), retried while transient
    (score_retrying); the 200 result, or RdeployError with what went wrong (scoring_error)."""
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    with ScoringClient() as client:
        result, tries = score_retrying(client, target, body, attempts=attempts, delay=delay)
    error = scoring_error(result, endpoint, tries)
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
    if isinstance(exc, httpx.UnsupportedProtocol) or isinstance(exc, ValueError):
        return f"not a usable URL ({exc})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# --- load test -------------------------------------------------------------------------------------


def check_load_test(n: int, concurrency: int) -> str | None:
    """The message for a load test that is out of bounds, or None."""
    if not 1 <= n <= MAX_LOAD_REQUESTS:
        return f"requests must be from 1 to {MAX_LOAD_REQUESTS}"
    if not 1 <= concurrency <= MAX_LOAD_CONCURRENCY:
        return f"concurrency must be from 1 to {MAX_LOAD_CONCURRENCY}"
    if concurrency > n:
        return "concurrency cannot exceed the number of requests"
    return None


def percentile(samples: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = min(len(ordered), max(1, math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass(frozen=True)
class LoadTestResult:
    requested: int
    concurrency: int
    latencies_ms: tuple[float, ...]  # of every answered request (any status)
    statuses: dict[int, int]  # status -> count
    failures: dict[str, int]  # transport error -> count
    seconds: float  # wall time of the whole test
    stopped: str | None = None  # why it ended early: "time limit", "cancelled"

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + sum(self.failures.values())

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def errors(self) -> int:
        return self.sent - self.ok

    def p(self, q: float) -> float | None:
        return percentile(list(self.latencies_ms), q)

    @property
    def throughput(self) -> float:
        """Completed requests per second of wall time."""
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        def fmt(v: float | None) -> str:
            return "-" if v is None else f"{v:.0f} ms"

        parts = [f"{self.sent}/{self.requested} requests at concurrency {self.concurrency} in {self.seconds:.1f} s",
                 f"p50 {fmt(self.p(50))} · p95 {fmt(self.p(95))} · p99 {fmt(self.p(99))}",
                 f"{self.throughput:.1f} req/s · {self.errors} errors"]
        if self.stopped:
            parts.append(f"stopped early: {self.stopped}")
        return "\n".join(parts)

    def error_lines(self) -> list[str]:
        lines = [f"HTTP {status}: {count}" for status, count in sorted(self.statuses.items()) if status != 200]
        lines += [f"{what}: {count}" for what, count in sorted(self.failures.items())]
        return lines


def run_load_test(
    client: ScoringClient,
    target: ScoringTarget,
    body: str | bytes,
    n: int,
    concurrency: int,
    *,
    time_limit: float = DEFAULT_LOAD_TIME_LIMIT_S,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int], None] | None = None,
) -> LoadTestResult:
    """n requests, at most `concurrency` in flight, stopping at `time_limit` seconds or when `cancelled()`.

    Raises RdeployError when n/concurrency are out of bounds (check_load_test).
    """
    problem = check_load_test(n, concurrency)
    if problem:
        raise RdeployError(f"load test not started: {problem}", "change the numbers and start it again", code="BadLoadTest")
    # No single request may outlive the test's time limit.
    target = replace(target, timeout=min(target.timeout, time_limit))
    lock = threading.Lock()
    next_index = [0]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    failures: dict[str, int] = {}
    stopped: list[str] = []
    started = time.perf_counter()
    deadline = started + time_limit

    def take() -> bool:
        with lock:
            if stopped:
                return False
            if cancelled():
                stopped.append("cancelled")
                return False
            if time.perf_counter() >= deadline:
                stopped.append("time limit")
                return False
            if next_index[0] >= n:
                return False
            next_index[0] += 1
            return True

    def worker() -> None:
        while take():
            result = client.score(target, body)
            with lock:
                if result.status is None:
                    failures[result.error or "no answer"] = failures.get(result.error or "no answer", 0) + 1
                else:
                    latencies.append(result.latency_ms)
                    statuses[result.status] = statuses.get(result.status, 0) + 1
                done = len(latencies) + sum(failures.values())
            if progress is not None:
                progress(done, n)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="rdeploy-load") as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    return LoadTestResult(n, concurrency, tuple(latencies), statuses, failures,
                          time.perf_counter() - started, stopped[0] if stopped else None)
