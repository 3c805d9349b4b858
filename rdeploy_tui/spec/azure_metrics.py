"""Azure Monitor's platform metrics of managed online endpoints and their deployments: one table, read by the health
view and `endpoints metrics` (which metrics to ask for, their units) and by the sandbox (the definitions it serves).

Sources, Microsoft's generated references (read 2026-12-06):
- "Supported metrics for Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
  https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-machinelearningservices-workspaces-onlineendpoints-metrics
  (MicrosoftDocs/azure-monitor-docs, ms.date 07/13/2026)
- "Supported metrics for Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
  https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-machinelearningservices-workspaces-onlineendpoints-deployments-metrics
  (ms.date 04/16/2025)
The pages' "Aggregation" column lists the aggregations each metric supports (the first is its default); their
"Milliseconds" is the REST unit "MilliSeconds" (azure-mgmt-monitor's MetricUnit). Every metric's time grain is PT1M.
"""

from __future__ import annotations

from dataclasses import dataclass

ENDPOINT_TYPE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
DEPLOYMENT_TYPE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"
SOURCE_URLS = {
    ENDPOINT_TYPE: "https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/"
    "microsoft-machinelearningservices-workspaces-onlineendpoints-metrics",
    DEPLOYMENT_TYPE: "https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/"
    "microsoft-machinelearningservices-workspaces-onlineendpoints-deployments-metrics",
}
TIME_GRAIN = "PT1M"


@dataclass(frozen=True)
class MetricFact:
    name: str  # "Name in REST API"
    display: str  # the portal's name
    description: str
    unit: str  # REST MetricUnit
    aggregations: tuple[str, ...]  # supported; the first is the primary one
    dimensions: tuple[str, ...]
    category: str  # Traffic | Resource
    ds_export: bool

    @property
    def primary_aggregation(self) -> str:
        return self.aggregations[0]


_AVG = ("Average",)
_MMA = ("Average", "Minimum", "Maximum")  # the pages list "Minimum, Maximum, Average"; Average is the default


def _p(n: int, dims: tuple[str, ...]) -> MetricFact:
    return MetricFact(
        f"RequestLatency_P{n}",
        f"Request Latency P{n}",
        f"The average P{n} request latency aggregated by all request latency values collected over the selected "
        "time period",
        "MilliSeconds",
        _AVG,
        dims,
        "Traffic",
        True,
    )


ENDPOINT_METRICS: tuple[MetricFact, ...] = (
    MetricFact(
        "ConnectionsActive",
        "Connections Active",
        "The total number of concurrent TCP connections active from clients.",
        "Count",
        _AVG,
        (),
        "Traffic",
        False,
    ),
    MetricFact(
        "DataCollectionErrorsPerMinute",
        "Data Collection Errors Per Minute",
        "The number of data collection events dropped per minute.",
        "Count",
        _MMA,
        ("deployment", "reason", "type"),
        "Traffic",
        False,
    ),
    MetricFact(
        "DataCollectionEventsPerMinute",
        "Data Collection Events Per Minute",
        "The number of data collection events processed per minute.",
        "Count",
        _MMA,
        ("deployment", "type"),
        "Traffic",
        False,
    ),
    MetricFact(
        "NetworkBytes",
        "Network Bytes",
        "The bytes per second served for the endpoint.",
        "BytesPerSecond",
        _AVG,
        (),
        "Traffic",
        False,
    ),
    MetricFact(
        "NewConnectionsPerSecond",
        "New Connections Per Second",
        "The average number of new TCP connections per second established from clients.",
        "CountPerSecond",
        _AVG,
        (),
        "Traffic",
        False,
    ),
    MetricFact(
        "RequestLatency",
        "Request Latency",
        "The average complete interval of time taken for a request to be responded in milliseconds",
        "MilliSeconds",
        _AVG,
        ("deployment",),
        "Traffic",
        True,
    ),
    _p(50, ("deployment",)),
    _p(90, ("deployment",)),
    _p(95, ("deployment",)),
    _p(99, ("deployment",)),
    MetricFact(
        "RequestsPerMinute",
        "Requests Per Minute",
        "The number of requests sent to online endpoint within a minute",
        "Count",
        _AVG,
        ("deployment", "statusCode", "statusCodeClass", "modelStatusCode"),
        "Traffic",
        False,
    ),
)

_PER_INSTANCE = ("instanceId",)
DEPLOYMENT_METRICS: tuple[MetricFact, ...] = (
    MetricFact(
        "CpuMemoryUtilizationPercentage",
        "CPU Memory Utilization Percentage",
        "Percentage of memory utilization on an instance. Utilization is reported at one minute intervals.",
        "Percent",
        _MMA,
        _PER_INSTANCE,
        "Resource",
        True,
    ),
    MetricFact(
        "CpuUtilizationPercentage",
        "CPU Utilization Percentage",
        "Percentage of CPU utilization on an instance. Utilization is reported at one minute intervals.",
        "Percent",
        _MMA,
        _PER_INSTANCE,
        "Resource",
        True,
    ),
    MetricFact(
        "DataCollectionErrorsPerMinute",
        "Data Collection Errors Per Minute",
        "The number of data collection events dropped per minute.",
        "Count",
        _MMA,
        ("instanceId", "reason", "type"),
        "Resource",
        False,
    ),
    MetricFact(
        "DataCollectionEventsPerMinute",
        "Data Collection Events Per Minute",
        "The number of data collection events processed per minute.",
        "Count",
        _MMA,
        ("instanceId", "type"),
        "Resource",
        False,
    ),
    MetricFact(
        "DeploymentCapacity",
        "Deployment Capacity",
        "The number of instances in the deployment.",
        "Count",
        _MMA,
        ("instanceId", "State"),
        "Resource",
        False,
    ),
    MetricFact(
        "DiskUtilization",
        "Disk Utilization",
        "Percentage of disk utilization on an instance. Utilization is reported at one minute intervals.",
        "Percent",
        _MMA,
        ("instanceId", "disk"),
        "Resource",
        True,
    ),
    MetricFact(
        "GpuEnergyJoules",
        "GPU Energy in Joules",
        "Interval energy in Joules on a GPU node. Energy is reported at one minute intervals.",
        "Count",
        _MMA,
        _PER_INSTANCE,
        "Resource",
        False,
    ),
    MetricFact(
        "GpuMemoryUtilizationPercentage",
        "GPU Memory Utilization Percentage",
        "Percentage of GPU memory utilization on an instance. Utilization is reported at one minute intervals.",
        "Percent",
        _MMA,
        _PER_INSTANCE,
        "Resource",
        True,
    ),
    MetricFact(
        "GpuUtilizationPercentage",
        "GPU Utilization Percentage",
        "Percentage of GPU utilization on an instance. Utilization is reported at one minute intervals.",
        "Percent",
        _MMA,
        _PER_INSTANCE,
        "Resource",
        True,
    ),
    _p(50, ()),
    _p(90, ()),
    _p(95, ()),
    _p(99, ()),
    MetricFact(
        "RequestsPerMinute",
        "Requests Per Minute",
        "The number of requests sent to online deployment within a minute",
        "Count",
        _AVG,
        ("envoy_response_code",),
        "Traffic",
        False,
    ),
)

METRICS: dict[str, tuple[MetricFact, ...]] = {ENDPOINT_TYPE: ENDPOINT_METRICS, DEPLOYMENT_TYPE: DEPLOYMENT_METRICS}


def metric(resource_type: str, name: str) -> MetricFact | None:
    """The fact for `name` on `resource_type` (names compared without case, as Azure Monitor does)."""
    return next((m for m in METRICS.get(resource_type, ()) if m.name.lower() == name.lower()), None)


# The metrics the two scale rules of `deployment.autoscale` use, as Microsoft's "Autoscale online endpoints" how-to
# writes them: CPU of the deployment, latency of the endpoint
# (https://learn.microsoft.com/azure/machine-learning/how-to-autoscale-endpoints).
SCALE_METRICS = {
    "cpu": (DEPLOYMENT_TYPE, "CpuUtilizationPercentage", "%"),
    "latency": (ENDPOINT_TYPE, "RequestLatency", "ms"),
}
