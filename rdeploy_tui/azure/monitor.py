"""An endpoint's health from Azure Monitor's platform metrics: requests, errors by status class, latency
percentiles, and a deployment's CPU and memory per instance and its instance count.

    health = read_health(ws, "my-endpoint", "blue", window="1h")
    health.requests.last, health.latency["P95"].points, health.cpu["blue-1"].average, health.instances.last

Read with azure-mgmt-monitor (imported on the first call, ~0.1 s) over ARM, with the session's base URL, credential
and CA bundle: `GET {endpoint or deployment id}/providers/Microsoft.Insights/metrics` (api-version 2024-02-01). The
metric names, units and dimensions are Microsoft's (spec/azure_metrics.py). The queries of one read go out together.
Reading needs a role with Microsoft.Insights/metrics/read (Monitoring Reader, Reader, Contributor).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from rdeploy_tui.azure.errors import azure_call
from rdeploy_tui.azure.insights import deployment_id, endpoint_id
from rdeploy_tui.azure.workspace import Workspace
from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    from azure.mgmt.monitor import MonitorManagementClient
    from azure.mgmt.monitor.models import Metric, TimeSeriesElement

    from rdeploy_tui.azure.autoscale import AutoscaleInfo, ScaleEvent

# The windows offered, each with the grain that keeps a sparkline readable (Azure Monitor's own grains).
WINDOWS: dict[str, tuple[timedelta, str]] = {
    "1h": (timedelta(hours=1), "PT1M"),
    "6h": (timedelta(hours=6), "PT5M"),
    "24h": (timedelta(hours=24), "PT15M"),
    "7d": (timedelta(days=7), "PT1H"),
}
DEFAULT_WINDOW = "1h"
PERCENTILES = ("P50", "P95", "P99")


@dataclass(frozen=True)
class Series:
    """One metric over the window, a point per grain (None: no data in that grain)."""

    name: str
    unit: str
    points: tuple[float | None, ...]

    @property
    def values(self) -> list[float]:
        return [p for p in self.points if p is not None]

    @property
    def last(self) -> float | None:
        return next((p for p in reversed(self.points) if p is not None), None)

    @property
    def average(self) -> float | None:
        values = self.values
        return sum(values) / len(values) if values else None

    @property
    def maximum(self) -> float | None:
        return max(self.values, default=None)


def _empty(name: str, unit: str, n: int) -> Series:
    return Series(name, unit, (None,) * n)


@dataclass(frozen=True)
class Health:
    endpoint: str
    deployment: str | None  # whose instances the resource figures are; None: traffic only
    window: str
    interval: str
    start: datetime
    end: datetime
    times: tuple[datetime, ...]
    requests: Series  # RequestsPerMinute, every status
    by_class: dict[str, Series]  # "2xx", "4xx", "5xx" ... -> RequestsPerMinute of that status class
    latency: dict[str, Series]  # "P50", "P95", "P99" -> RequestLatency_Pnn (ms)
    cpu: dict[str, Series] = field(default_factory=dict)  # instance id -> CpuUtilizationPercentage
    memory: dict[str, Series] = field(default_factory=dict)  # instance id -> CpuMemoryUtilizationPercentage
    instances: Series | None = None  # DeploymentCapacity
    autoscale: AutoscaleInfo | None = None  # when the deployment has an autoscale setting
    events: tuple[ScaleEvent, ...] = ()  # its scale events, newest first

    def errors(self, status_class: str) -> Series:
        return self.by_class.get(status_class) or _empty("RequestsPerMinute", "Count", len(self.times))

    def error_rate(self, status_class: str) -> float | None:
        """Share of the window's requests answered with this status class (None without requests)."""
        total = sum(self.requests.values)
        if not total:
            return None
        return sum(self.errors(status_class).values) / total

    @property
    def has_traffic(self) -> bool:
        return bool(self.requests.values)


def window_span(window: str, now: datetime | None = None) -> tuple[datetime, datetime, str]:
    if window not in WINDOWS:
        raise RdeployError(f"Unknown window {window!r}.", f"Use one of {', '.join(WINDOWS)}.", code="Usage")
    length, grain = WINDOWS[window]
    end = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    return end - length, end, grain


def _timespan(start: datetime, end: datetime) -> str:
    return f"{start.strftime('%Y-%m-%dT%H:%M:%SZ')}/{end.strftime('%Y-%m-%dT%H:%M:%SZ')}"


def _query(
    client: MonitorManagementClient,
    resource: str,
    names: list[str],
    start: datetime,
    end: datetime,
    interval: str,
    filter: str | None = None,
    aggregation: str = "Average",
) -> list[Metric]:
    response = client.metrics.list(
        resource,
        timespan=_timespan(start, end),
        interval=interval,
        metricnames=",".join(names),
        aggregation=aggregation,
        filter=filter,
    )
    return list(response.value or [])


def _axis(metrics: list[Metric]) -> tuple[datetime, ...]:
    """The grain start times the service answered with (every series of one query shares them)."""
    for metric in metrics:
        for series in metric.timeseries or []:
            return tuple(point.time_stamp for point in series.data or [])
    return ()


def _points(
    series: TimeSeriesElement, axis: tuple[datetime, ...], aggregation: str = "average"
) -> tuple[float | None, ...]:
    by_time = {point.time_stamp: getattr(point, aggregation) for point in series.data or []}
    return tuple(by_time.get(t) for t in axis)


def _dimension(series: TimeSeriesElement, name: str) -> str:
    for meta in series.metadatavalues or []:
        if ((meta.name.value if meta.name else None) or "").lower() == name.lower():
            return str(meta.value)
    return ""


def _sum(columns: list[tuple[float | None, ...]], n: int) -> tuple[float | None, ...]:
    out: list[float | None] = []
    for i in range(n):
        values = [v for c in columns if (v := c[i]) is not None]
        out.append(sum(values) if values else None)
    return tuple(out)


def read_health(
    ws: Workspace,
    endpoint: str,
    deployment: str | None,
    window: str = DEFAULT_WINDOW,
    *,
    with_autoscale: bool = True,
    now: datetime | None = None,
) -> Health:
    """Azure Monitor's figures for `endpoint` (its traffic through `deployment` when given, else all of it) over the
    window; the deployment's instances, its autoscale setting and scale events when a deployment is given."""
    start, end, grain = window_span(window, now)
    client = ws.connection.monitor_client(ws.subscription_id)
    ep_id = endpoint_id(ws, endpoint)
    only = f"deployment eq '{deployment}'" if deployment else None
    queries: dict[str, Callable[[], list[Metric]]] = {
        "classes": lambda: _query(
            client,
            ep_id,
            ["RequestsPerMinute"],
            start,
            end,
            grain,
            f"{only} and statusCodeClass eq '*'" if only else "statusCodeClass eq '*'",
        ),
        "latency": lambda: _query(client, ep_id, [f"RequestLatency_{p}" for p in PERCENTILES], start, end, grain, only),
    }
    if deployment:
        dep_id = deployment_id(ws, endpoint, deployment)
        queries["resources"] = lambda: _query(
            client,
            dep_id,
            ["CpuUtilizationPercentage", "CpuMemoryUtilizationPercentage"],
            start,
            end,
            grain,
            "instanceId eq '*'",
        )
        queries["capacity"] = lambda: _query(client, dep_id, ["DeploymentCapacity"], start, end, grain)
    read_autoscale: Callable[[], tuple[AutoscaleInfo | None, list[ScaleEvent]]] | None = None
    if deployment and with_autoscale:
        from rdeploy_tui.azure import autoscale

        read_autoscale = functools.partial(autoscale.read_with_events, ws, endpoint, deployment, start)
    pool = ThreadPoolExecutor(max_workers=len(queries) + 1, thread_name_prefix="rdeploy-metrics")
    with azure_call(f"reading the metrics of endpoint {endpoint}"), pool:
        futures = {name: pool.submit(query) for name, query in queries.items()}
        scaling = pool.submit(read_autoscale) if read_autoscale is not None else None
        results = {name: future.result() for name, future in futures.items()}
        setting, events = scaling.result() if scaling is not None else (None, [])
    axis = _axis(results["classes"]) or _axis(results["latency"])
    n = len(axis)
    by_class: dict[str, Series] = {}
    for metric in results["classes"]:
        for series in metric.timeseries or []:
            status_class = _dimension(series, "statusCodeClass") or "?"
            by_class[status_class] = Series("RequestsPerMinute", metric.unit, _points(series, axis))
    requests = Series("RequestsPerMinute", "Count", _sum([s.points for s in by_class.values()], n))
    latency = {p: _empty(f"RequestLatency_{p}", "MilliSeconds", n) for p in PERCENTILES}
    for metric in results["latency"]:
        name = metric.name.value
        for series in metric.timeseries or []:
            latency[name.rsplit("_", 1)[1]] = Series(name, metric.unit, _points(series, axis))
    cpu: dict[str, Series] = {}
    memory: dict[str, Series] = {}
    for metric in results.get("resources", []):
        into = cpu if metric.name.value == "CpuUtilizationPercentage" else memory
        for series in metric.timeseries or []:
            points = _points(series, axis)
            if any(p is not None for p in points):  # an instance of another time of the window
                into[_dimension(series, "instanceId") or "?"] = Series(metric.name.value, metric.unit, points)
    instances = None
    for metric in results.get("capacity", []):
        for series in metric.timeseries or []:
            instances = Series("DeploymentCapacity", metric.unit, _points(series, axis))
    return Health(
        endpoint,
        deployment,
        window,
        grain,
        start,
        end,
        axis,
        requests,
        dict(sorted(by_class.items())),
        latency,
        dict(sorted(cpu.items())),
        dict(sorted(memory.items())),
        instances,
        setting,
        tuple(events),
    )


@dataclass(frozen=True)
class TrafficFigures:
    """One deployment's traffic as Azure Monitor counted it over a span."""

    deployment: str
    requests_per_minute: float | None
    error_share: float | None  # 4xx and 5xx over all
    p50_ms: float | None
    p95_ms: float | None

    def text(self) -> str:
        def ms(v: float | None) -> str:
            return "-" if v is None else f"{v:.0f} ms"

        errors = "-" if self.error_share is None else f"{self.error_share:.1%}"
        rate = "-" if self.requests_per_minute is None else f"{self.requests_per_minute:.0f}/min"
        return f"{self.deployment}: {rate}, errors {errors}, p50 {ms(self.p50_ms)}, p95 {ms(self.p95_ms)}"


def traffic_by_deployment(
    ws: Workspace, endpoint: str, deployments: list[str], start: datetime, end: datetime
) -> dict[str, TrafficFigures]:
    """Each deployment's requests, error share and latency between start and end, from the endpoint's metrics split
    by their `deployment` dimension (one grain: FULL). A deployment without data in the span is left out."""
    client = ws.connection.monitor_client(ws.subscription_id)
    ep_id = endpoint_id(ws, endpoint)
    which = " or ".join(f"deployment eq '{d}'" for d in deployments)
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="rdeploy-metrics")
    with azure_call(f"reading the metrics of endpoint {endpoint}"), pool:
        counts = pool.submit(
            _query, client, ep_id, ["RequestsPerMinute"], start, end, "FULL", f"{which} and statusCodeClass eq '*'"
        )
        latency = pool.submit(
            _query, client, ep_id, ["RequestLatency_P50", "RequestLatency_P95"], start, end, "FULL", which
        )
        count_metrics, latency_metrics = counts.result(), latency.result()
    rates: dict[str, dict[str, float]] = {}
    for metric in count_metrics:
        for series in metric.timeseries or []:
            value = next((p.average for p in series.data or [] if p.average is not None), None)
            if value is not None:
                classes = rates.setdefault(_dimension(series, "deployment"), {})
                classes[_dimension(series, "statusCodeClass")] = value
    latencies: dict[str, dict[str, float]] = {}
    for metric in latency_metrics:
        for series in metric.timeseries or []:
            value = next((p.average for p in series.data or [] if p.average is not None), None)
            if value is not None:
                latencies.setdefault(_dimension(series, "deployment"), {})[metric.name.value] = value
    found = {}
    for name in deployments:
        key = next((k for k in set(rates) | set(latencies) if k.lower() == name.lower()), None)
        if key is None:
            continue
        classes = rates.get(key, {})
        total = sum(classes.values())
        errors = sum(v for k, v in classes.items() if k in ("4xx", "5xx"))
        lat = latencies.get(key, {})
        found[name] = TrafficFigures(
            name,
            total if classes else None,
            errors / total if total else None,
            lat.get("RequestLatency_P50"),
            lat.get("RequestLatency_P95"),
        )
    return found
