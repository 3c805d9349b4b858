"""How often to poll Azure and how long to wait for it, as Azure itself says.

Every client of a connection reports its responses here (azure-core's `raw_response_hook`):
- `Retry-After` / `retry-after-ms` / `x-ms-retry-after-ms` on a successful response of a long-running operation
  (the 201/202 that starts it, the status that says InProgress) is how soon the service wants to be asked again:
  azure-core's pollers already wait that long (LROBasePolling), and our own polls of the same service (a resource's
  state, a deployment's logs, a build's log blob) follow the latest hint too, never slower than their documented
  default. Throttling answers (429/503 Retry-After) are the retry policy's business, not a pace.
- `x-ms-async-operation-timeout` (ISO 8601, e.g. PT30M: Azure ML sends it on endpoint and deployment creates;
  ARM's async operation guideline, https://github.com/Azure/azure-resource-manager-rpc/blob/master/v1.0/async-api-reference.md)
  is how long the operation on that resource may run before the service itself ends it: waiting longer never helps.
Where a service sends neither, callers use Azure's documented limits (azure/deadlines.py).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from azure.core.pipeline import PipelineResponse
    from azure.core.pipeline.transport import HttpRequest as LegacyHttpRequest
    from azure.core.pipeline.transport import HttpResponse as LegacyHttpResponse
    from azure.core.rest import HttpRequest, HttpResponse

RETRY_AFTER_MS = ("retry-after-ms", "x-ms-retry-after-ms")
OPERATION_TIMEOUT = "x-ms-async-operation-timeout"


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The wait a response asks for, in seconds (the millisecond headers win, as in azure-core); None if none."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in RETRY_AFTER_MS:
        value = lowered.get(name)
        if value:
            try:
                return max(0.0, float(value) / 1000)
            except ValueError:
                pass
    value = lowered.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            return None  # an HTTP date: only throttling answers send one
    return None


def iso_duration_s(text: str) -> float | None:
    """Seconds of an ISO 8601 duration such as PT30M or PT5.4S; None when it does not read as one."""
    import isodate

    try:
        value = isodate.parse_duration(text.strip())
    except (isodate.ISO8601Error, ValueError):
        return None
    seconds = value.total_seconds() if hasattr(value, "total_seconds") else None
    return seconds if seconds is not None and seconds > 0 else None


def resource_key(url: str) -> str:
    """A resource's path, lowercased, without the query: how operations on it are matched."""
    return urlsplit(url).path.rstrip("/").lower()


class Pace:
    """What Azure said about its own pace on one connection. Thread-safe: every client thread reports here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hint_s: float | None = None
        self._timeouts: dict[str, float] = {}

    def observe(
        self,
        pipeline_response: PipelineResponse[HttpRequest | LegacyHttpRequest, HttpResponse | LegacyHttpResponse],
    ) -> None:
        """azure-core's raw_response_hook: read the pace headers of a successful response (the generated clients
        send azure.core.rest's types, azure-ai-ml's older code its pipeline.transport ones)."""
        response = pipeline_response.http_response
        if not 200 <= response.status_code < 300:
            return
        headers = response.headers
        hint = retry_after_s(headers)
        starts = pipeline_response.http_request.method in ("PUT", "PATCH", "DELETE", "POST") and (
            "azure-asyncoperation" in {k.lower() for k in headers} or response.status_code == 202
        )
        timeout_text = headers.get(OPERATION_TIMEOUT)
        timeout = iso_duration_s(timeout_text) if timeout_text else None
        with self._lock:
            if hint is not None:
                self._hint_s = hint
            if starts:  # a new operation on this resource: its own timeout, or none announced
                key = resource_key(pipeline_response.http_request.url)
                if timeout is None:
                    self._timeouts.pop(key, None)
                else:
                    self._timeouts[key] = timeout

    def poll_interval(self, default_s: float) -> float:
        """Seconds until our next poll: the service's latest hint, never more than the documented `default_s`."""
        with self._lock:
            hint = self._hint_s
        return default_s if hint is None else min(default_s, hint)

    def operation_timeout(self, resource_suffix: str) -> float | None:
        """The service's own timeout for the latest operation started on the resource whose path ends with
        `resource_suffix` (e.g. "/onlineEndpoints/ep/deployments/blue"); None when it sent none."""
        suffix = resource_suffix.rstrip("/").lower()
        with self._lock:
            found = [t for key, t in self._timeouts.items() if key.endswith(suffix)]
        return found[-1] if found else None
