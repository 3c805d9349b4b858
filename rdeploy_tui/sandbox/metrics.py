"""Azure Monitor's metrics of the sandbox's online endpoints and deployments, from what really happens in it.

The scoring front records every request it answers (status, latency, deployment, bytes: `record_scoring`); a
sampler reads each instance's R process (CPU time and resident memory, with psutil) and the instance count. The
metrics API answers from those, as Microsoft documents it:

    GET {endpoint or deployment id}/providers/Microsoft.Insights/metricDefinitions
    GET {endpoint or deployment id}/providers/Microsoft.Insights/metrics
        ?timespan&interval&metricnames&aggregation&$filter

Names, units, dimensions and aggregations come from Microsoft's "Supported metrics" pages (spec/azure_metrics.py
cites them); shapes from the REST spec (Microsoft.Insights metrics_API.json, metricDefinitions_API.json, 2024-02-01,
as azure-mgmt-monitor 7 reads them).

Time. The sandbox runs Azure's durations times its time scale, so its metrics are in Azure's time zoomed onto the
recent past: a moment `d` seconds ago is reported `d / scale` seconds ago (Zoom), so a PT1M grain covers 60 x scale
real seconds (3 s at the demo scale 0.05) and "the last hour" the last 3 real minutes. Rates (requests per minute,
bytes per second) are per real second: a load of 10 requests a second reads 600 per minute at any scale.

What is simulated: RequestsPerMinute, RequestLatency and its percentiles, NetworkBytes (request and answer bodies),
CpuUtilizationPercentage (the R processes' CPU time over the instance's vCPUs: plumber uses one core),
CpuMemoryUtilizationPercentage (their resident memory over the instance's memory) and DeploymentCapacity. The others
(connections, disk, GPU, data collection) answer with time stamps and no values, as Azure does for an interval
without data. Azure publishes its metrics with a delay of a minute or more; the sandbox has none.
"""

from __future__ import annotations

import json
import math
import re
import sys
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from itertools import chain, islice
from pathlib import Path
from typing import Any

from rdeploy_tui.sandbox.arm import iso
from rdeploy_tui.sandbox.errors import AzureError
from rdeploy_tui.sandbox.http import Request, Response, Router, json_response
from rdeploy_tui.spec.azure_metrics import DEPLOYMENT_TYPE, ENDPOINT_TYPE, METRICS, TIME_GRAIN, MetricFact
from rdeploy_tui.spec.vm_sizes import VM_SIZES

GRAIN_S = 60.0  # PT1M, every metric's grain
SAMPLES_PER_GRAIN = 3
MIN_SAMPLE_S = 0.2  # real seconds: reading /proc more often than this only adds noise
# Scoring requests kept (and reloaded after a restart), 34 bytes each in RequestLog's arrays (~6.5 MiB when full):
# about 17 minutes at the soak's 190 requests/s (benchmarks/soak.py), weeks at a person's pace.
MAX_REQUESTS = 200_000
MAX_SAMPLES = 200_000
MAX_POINTS = 10_000  # buckets in one answer
RETENTION = "P93D"  # Azure Monitor keeps platform metrics 93 days
# The grains Azure Monitor serves platform metrics at (metricDefinitions' metricAvailabilities); "FULL": one bucket.
INTERVALS = {
    "PT1M": 60,
    "PT5M": 300,
    "PT15M": 900,
    "PT30M": 1800,
    "PT1H": 3600,
    "PT6H": 21600,
    "PT12H": 43200,
    "P1D": 86400,
}
AGGREGATIONS = ("average", "minimum", "maximum", "total", "count")
_FILTER_ATOM = re.compile(r"\s*(?P<dim>[A-Za-z_][\w.]*)\s+(?P<op>eq|ne)\s+'(?P<value>[^']*)'\s*", re.I)

SIMULATED = {
    "RequestsPerMinute",
    "RequestLatency",
    "RequestLatency_P50",
    "RequestLatency_P90",
    "RequestLatency_P95",
    "RequestLatency_P99",
    "NetworkBytes",
    "CpuUtilizationPercentage",
    "CpuMemoryUtilizationPercentage",
    "DeploymentCapacity",
}
_REQUEST_METRICS = {"RequestsPerMinute", "RequestLatency", "NetworkBytes"} | {
    f"RequestLatency_P{n}" for n in (50, 90, 95, 99)
}


@dataclass(frozen=True, slots=True)
class RequestRecord:
    at: float  # real time the answer left the front
    endpoint: str  # the endpoint's id, lower-cased
    deployment: str  # the deployment that answered ("" when none was picked)
    status: int  # what the caller got
    model_status: str  # what the container answered ("" when it did not)
    latency_ms: float
    bytes: int  # request and answer bodies


class RequestLog:
    """The last `size` scoring requests, column by column in arrays filled as a ring: no Python object is kept per
    request (a record object is ~180 bytes and its churn fragments the heap: the soak's sandbox kept growing after a
    deque of them was full). A record is made again only for the requests a query reads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._at = array("d", bytes(8 * size))
        self._latency = array("d", bytes(8 * size))
        self._bytes = array("Q", bytes(8 * size))
        self._status = array("H", bytes(2 * size))
        # endpoint, deployment, model status: indexes into _table (a handful of distinct names)
        self._endpoint = array("I", bytes(4 * size))
        self._deployment = array("I", bytes(4 * size))
        self._model_status = array("I", bytes(4 * size))
        self._table: list[str] = []
        self._index: dict[str, int] = {}
        self._next = 0  # where the next record goes
        self._count = 0

    def _name(self, text: str) -> int:
        found = self._index.get(text)
        if found is None:
            found = self._index[text] = len(self._table)
            self._table.append(text)
        return found

    def append(self, r: RequestRecord) -> None:
        i = self._next
        self._at[i], self._latency[i], self._bytes[i], self._status[i] = r.at, r.latency_ms, r.bytes, r.status
        self._endpoint[i] = self._name(r.endpoint)
        self._deployment[i] = self._name(r.deployment)
        self._model_status[i] = self._name(r.model_status)
        self._next = (i + 1) % self.size
        self._count = min(self._count + 1, self.size)

    def __len__(self) -> int:
        return self._count

    def __reversed__(self) -> Iterator[RequestRecord]:
        """Newest first (queries scan back from now and stop at the first record older than they need)."""
        table, newest = self._table, self._next - 1
        for i in islice(chain(range(newest, -1, -1), range(self.size - 1, newest, -1)), self._count):
            yield RequestRecord(
                self._at[i],
                table[self._endpoint[i]],
                table[self._deployment[i]],
                self._status[i],
                table[self._model_status[i]],
                self._latency[i],
                self._bytes[i],
            )


@dataclass(frozen=True, slots=True)  # up to MAX_SAMPLES are kept: no __dict__ each
class Sample:
    """One instance between two readings: its CPU over the interval, its memory at the end."""

    start: float
    end: float
    deployment: str  # the deployment's id, lower-cased
    instance: str
    cpu: float  # % of the instance's vCPUs
    memory: float  # % of the instance's memory


@dataclass(frozen=True, slots=True)  # up to MAX_SAMPLES are kept: no __dict__ each
class Capacity:
    at: float
    deployment: str
    count: int


@dataclass(frozen=True)
class Zoom:
    """Azure time <-> real time: now is now, and Azure's durations are `scale` times longer than the real ones."""

    scale: float
    now: float

    def real(self, azure: float) -> float:
        return self.now - (self.now - azure) * self.scale

    def azure(self, real: float) -> float:
        return self.now - (self.now - real) / self.scale


class MetricsStore:
    def __init__(self, sandbox: Any) -> None:
        self._sandbox = sandbox
        self._lock = threading.Lock()
        self.requests = RequestLog(MAX_REQUESTS)
        self.samples: deque[Sample] = deque(maxlen=MAX_SAMPLES)
        self.capacity: deque[Capacity] = deque(maxlen=MAX_SAMPLES)
        self._unsaved: dict[str, list[Any]] = {"requests": [], "samples": [], "capacity": []}
        self._last_cpu: dict[int, tuple[float, float]] = {}  # pid -> (real time, CPU seconds) at the last reading
        self._processes: dict[int, Any] = {}
        self.folder = Path(sandbox.state_dir) / "metrics"
        self._load()

    # ----- recording -----
    def zoom(self) -> Zoom:
        return Zoom(max(1e-6, float(self._sandbox.time_scale)), time.time())

    def record_scoring(self, request: Request, response: Response, started: float) -> None:
        """The front's hook: one scoring request and what the caller got (only for an endpoint that exists)."""
        from rdeploy_tui.sandbox import online
        from rdeploy_tui.sandbox.scoring import SCORE_PATH

        match = SCORE_PATH.fullmatch(request.path)
        endpoint = online.endpoint_by_name(self._sandbox, match["name"]) if match else None
        if endpoint is None:
            return
        headers = {k.lower(): v for k, v in response.headers.items()}
        deployment = headers.get("azureml-model-deployment", "")
        if response.status == 424:
            model_status = headers.get("ms-azureml-model-error-statuscode", "")
        else:
            model_status = "200" if response.status == 200 else ""
        # (No interning: RequestLog keeps each name once in its table, and this record lives only until it is saved.)
        record = RequestRecord(
            time.time(),
            endpoint["id"].lower(),
            deployment,
            response.status,
            model_status,
            (time.perf_counter() - started) * 1000,
            len(request.body) + len(response.body),
        )
        with self._lock:
            self.requests.append(record)
            self._unsaved["requests"].append(record)

    def run_sampler(self) -> None:
        """The sandbox's background loop (Sandbox.spawn): read every instance a few times a grain, save what is new."""
        scale = max(1e-6, float(self._sandbox.time_scale))
        period = max(MIN_SAMPLE_S, GRAIN_S / SAMPLES_PER_GRAIN * scale)
        while self._sandbox.sleep(period / scale):  # False once the sandbox stops
            self.sample()
            self.save()
        self.save()

    def sample(self) -> None:
        """One reading of each running deployment's instances."""
        import psutil

        from rdeploy_tui.sandbox import online

        now = time.time()
        with self._sandbox.state.view() as data:
            running = [
                (d["id"].lower(), d["instance_type"])
                for d in data.get("deployments", {}).values()
                if d["state"] in ("Succeeded", "Updating")
            ]
        seen: set[int] = set()
        new_samples, new_capacity = [], []
        for dep_id, instance_type in running:
            if dep_id in self._sandbox.restarting:  # the sandbox's own restart: Azure's instances never stopped
                continue
            instances = self._sandbox.hosting.instances(dep_id)
            if not instances and online.get_deployment(self._sandbox, dep_id) is None:
                continue
            size = VM_SIZES.get(str(instance_type).lower())
            vcpus, memory = (size.vcpus, size.memory_gib * 2**30) if size else (1, 4 * 2**30)
            new_capacity.append(Capacity(now, dep_id, len(instances)))
            for instance in instances:
                seen.add(instance.pid)
                reading = _read_process(self._processes, instance.pid, psutil)
                if reading is None:
                    continue
                cpu_s, rss, born = reading
                # The first reading of a process covers its life so far (its start-up included, as a container's).
                last = self._last_cpu.get(instance.pid) or (born, 0.0)
                self._last_cpu[instance.pid] = (now, cpu_s)
                if now <= last[0]:
                    continue
                cpu = max(0.0, min(100.0, (cpu_s - last[1]) / (now - last[0]) / vcpus * 100))
                new_samples.append(Sample(last[0], now, dep_id, instance.id, cpu, min(100.0, rss / memory * 100)))
        for pid in set(self._last_cpu) - seen:
            self._last_cpu.pop(pid, None)
            self._processes.pop(pid, None)
        with self._lock:
            self.samples.extend(new_samples)
            self.capacity.extend(new_capacity)
            self._unsaved["samples"] += new_samples
            self._unsaved["capacity"] += new_capacity

    # ----- persistence: a command's in-process sandbox is gone when the next command asks for metrics -----
    def save(self) -> None:
        with self._lock:
            unsaved, self._unsaved = self._unsaved, {"requests": [], "samples": [], "capacity": []}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for name, records in unsaved.items():
                if records:
                    with (self.folder / f"{name}.jsonl").open("a", encoding="utf-8") as out:
                        out.writelines(json.dumps(asdict(r)) + "\n" for r in records)
        except OSError:
            pass  # metrics are a view; a full disk must not stop the sandbox

    def _load(self) -> None:
        kinds: tuple[tuple[str, Any, deque[Any] | RequestLog, int], ...] = (
            ("requests", RequestRecord, self.requests, MAX_REQUESTS),
            ("samples", Sample, self.samples, MAX_SAMPLES),
            ("capacity", Capacity, self.capacity, MAX_SAMPLES),
        )
        for name, kind, into, keep in kinds:
            path = self.folder / f"{name}.jsonl"
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            for line in lines[-keep:]:
                try:
                    fields = json.loads(line)
                    into.append(kind(**{k: sys.intern(v) if isinstance(v, str) else v for k, v in fields.items()}))
                except (ValueError, TypeError):
                    continue  # a torn last line after a crash
            if len(lines) > 2 * keep:  # keep the file bounded
                try:
                    path.write_text("\n".join(lines[-keep:]) + "\n", encoding="utf-8")
                except OSError:
                    pass

    # ----- reading -----
    def buckets(
        self,
        resource_type: str,
        resource: str,
        fact: MetricFact,
        spans: list[tuple[float, float]],
        zoom: Zoom,
        filters: dict[str, tuple[set[str] | None, set[str]]],
        split: list[str],
    ) -> dict[tuple[tuple[str, str], ...], list[dict[str, float] | None]]:
        """Per series (its dimension values), per Azure-time span: {aggregation: value}, or None without data.
        `filters`: dimension -> (allowed values or None for any, excluded values); `split`: dimensions to split by."""
        if fact.name not in SIMULATED:
            return {(): [None] * len(spans)}
        real = [(zoom.real(a), min(zoom.now, zoom.real(b))) for a, b in spans]
        lo, hi = (min(s for s, _ in real), max(e for _, e in real)) if real else (0.0, 0.0)
        if fact.name in _REQUEST_METRICS:
            items: Iterable[Any] = self._requests(resource_type, resource, lo, hi)
            dims_of: Callable[[Any], dict[str, str]] = (
                _endpoint_dims if resource_type == ENDPOINT_TYPE else _deployment_dims
            )
        elif fact.name == "DeploymentCapacity" and "instanceid" not in {d.lower() for d in split}:
            items = [c for c in self._since(self.capacity, lo) if c.deployment == resource and c.at <= hi]
            dims_of = _state_dims
        else:
            items = [s for s in self._since(self.samples, lo) if s.deployment == resource and s.start <= hi]
            dims_of = _instance_dims
        groups: dict[tuple[tuple[str, str], ...], list[Any]] = {}
        for item in items:
            dims = dims_of(item)
            if not _passes(dims, filters):
                continue
            key = tuple((d, dims.get(d.lower(), "")) for d in split)
            groups.setdefault(key, []).append(item)
        if not split and not groups:
            groups[()] = []
        return {key: [_aggregate(fact.name, group, s, e) for s, e in real] for key, group in groups.items()}

    def _requests(self, resource_type: str, resource: str, lo: float, hi: float) -> list[RequestRecord]:
        if resource_type == ENDPOINT_TYPE:
            endpoint, deployment = resource, None
        else:
            endpoint, _, deployment = resource.rpartition("/deployments/")
        return [
            r
            for r in self._since(self.requests, lo)
            if r.endpoint == endpoint
            and lo <= r.at <= hi
            and (deployment is None or r.deployment.lower() == deployment)
        ]

    def _since(self, records: deque[Any] | RequestLog, lo: float) -> list[Any]:
        """The records that end at or after `lo`, oldest first. Records are appended as time goes, so the scan
        stops at the first older one: a query of the last minutes never copies a day of records."""
        found: list[Any] = []
        with self._lock:
            for record in reversed(records):
                end = getattr(record, "end", None)  # a Sample spans a time; a request is a moment
                if (end if end is not None else record.at) < lo:
                    break
                found.append(record)
        found.reverse()
        return found

    def rule_value(
        self,
        resource_type: str,
        resource: str,
        metric_name: str,
        *,
        statistic: str,
        grain_s: float,
        window_s: float,
        time_aggregation: str,
        zoom: Zoom,
    ) -> float | None:
        """What Azure's autoscale engine compares with a rule's threshold: each grain of the window combined across
        instances by `statistic`, then the grains by `time_aggregation` (Understand autoscale settings).
        None: no data."""
        from rdeploy_tui.spec.azure_metrics import metric

        fact = metric(resource_type, metric_name)
        if fact is None:
            return None
        grains = max(1, round(window_s / grain_s))
        spans = [(zoom.now - (grains - i) * grain_s, zoom.now - (grains - i - 1) * grain_s) for i in range(grains)]
        per_instance = fact.name in ("CpuUtilizationPercentage", "CpuMemoryUtilizationPercentage")
        split = ["instanceId"] if per_instance else []
        series = self.buckets(resource_type, resource, fact, spans, zoom, {}, split)
        values: list[float] = []
        for i in range(grains):
            points = [p["average"] for s in series.values() if (p := s[i]) is not None and "average" in p]
            if points:
                values.append(_combine(statistic, points))
        if not values:
            return None
        return _over_time(time_aggregation, values)


# ----- aggregation ---------------------------------------------------------------------------------------------
def _read_process(cache: dict[int, Any], pid: int, psutil: Any) -> tuple[float, int, float] | None:
    """CPU seconds and resident bytes of a process and its children (Rscript may run R as a child), and when the
    process started."""
    try:
        process = cache.get(pid) or cache.setdefault(pid, psutil.Process(pid))
        family = [process, *process.children(recursive=True)]
        cpu = rss = 0.0
        for p in family:
            try:
                times = p.cpu_times()
                cpu += times.user + times.system
                rss += p.memory_info().rss
            except psutil.Error:
                continue
        return cpu, int(rss), process.create_time()
    except psutil.Error:
        cache.pop(pid, None)
        return None


def _endpoint_dims(r: RequestRecord) -> dict[str, str]:
    return {
        "deployment": r.deployment,
        "statuscode": str(r.status),
        "statuscodeclass": f"{r.status // 100}xx",
        "modelstatuscode": r.model_status,
    }


def _deployment_dims(r: RequestRecord) -> dict[str, str]:
    return {"envoy_response_code": str(r.status)}


def _instance_dims(s: Sample) -> dict[str, str]:
    return {"instanceid": s.instance, "state": "Running"}


def _state_dims(c: Capacity) -> dict[str, str]:
    return {"state": "Running"}  # Azure's values of the State dimension are not published: the sandbox's are running


def _passes(dims: dict[str, str], filters: dict[str, tuple[set[str] | None, set[str]]]) -> bool:
    for dim, (allowed, excluded) in filters.items():
        value = dims.get(dim.lower(), "").lower()
        if allowed is not None and value not in allowed:
            return False
        if value in excluded:
            return False
    return True


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(p / 100 * len(ordered)))) - 1]


def _aggregate(name: str, items: list[Any], start: float, end: float) -> dict[str, float] | None:
    """The aggregations of one bucket (real seconds start..end), None when it holds no data."""
    if end <= start:
        return None
    seconds = end - start
    if name in _REQUEST_METRICS:
        inside = [r for r in items if start <= r.at < end]
        if not inside:
            return None
        if name == "RequestsPerMinute":
            rate = len(inside) / seconds * 60
            return {"average": rate, "minimum": rate, "maximum": rate, "total": float(len(inside)), "count": 1.0}
        if name == "NetworkBytes":
            rate = sum(r.bytes for r in inside) / seconds
            return {"average": rate, "minimum": rate, "maximum": rate, "total": rate, "count": 1.0}
        latencies = [r.latency_ms for r in inside]
        if name == "RequestLatency":
            value = sum(latencies) / len(latencies)
        else:
            value = _percentile(latencies, float(name.rsplit("_P", 1)[1]))
        return {"average": value, "minimum": min(latencies), "maximum": max(latencies), "total": value, "count": 1.0}
    if name == "DeploymentCapacity" and items and isinstance(items[0], Capacity):
        counts = [float(c.count) for c in items if start <= c.at < end]
        if not counts:
            return None
        mean = sum(counts) / len(counts)
        return {
            "average": mean,
            "minimum": min(counts),
            "maximum": max(counts),
            "total": sum(counts),
            "count": float(len(counts)),
        }
    # Samples: overlap-weighted per instance, then across instances (an unsplit CPU is the instances' average).
    per_instance: dict[str, list[tuple[float, float]]] = {}
    for s in items:
        overlap = min(end, s.end) - max(start, s.start)
        if overlap > 0:
            value = s.cpu if name == "CpuUtilizationPercentage" else s.memory
            per_instance.setdefault(s.instance, []).append((value, overlap))
    if not per_instance:
        return None
    if name == "DeploymentCapacity":  # split by instanceId: each instance present counts one
        return {"average": 1.0, "minimum": 1.0, "maximum": 1.0, "total": 1.0, "count": 1.0}
    values = [sum(v * w for v, w in pairs) / sum(w for _, w in pairs) for pairs in per_instance.values()]
    return {
        "average": sum(values) / len(values),
        "minimum": min(values),
        "maximum": max(values),
        "total": sum(values),
        "count": float(len(values)),
    }


def _combine(statistic: str, values: list[float]) -> float:
    """A rule's `statistic`: how one grain's values of several instances are combined (REST spec)."""
    key = statistic.lower()
    if key == "min":
        return min(values)
    if key == "max":
        return max(values)
    if key == "sum":
        return sum(values)
    if key == "count":
        return float(len(values))
    return sum(values) / len(values)


def _over_time(aggregation: str, values: list[float]) -> float:
    """A rule's `timeAggregation` over the grains of its window (REST spec TimeAggregationType)."""
    key = aggregation.lower()
    if key == "minimum":
        return min(values)
    if key == "maximum":
        return max(values)
    if key == "total":
        return sum(values)
    if key == "count":
        return float(len(values))
    if key == "last":
        return values[-1]
    return sum(values) / len(values)


# ----- the REST API ------------------------------------------------------------------------------------------------
def time_seconds(text: str) -> float:
    """An ISO 8601 time (Azure Monitor's timespan ends), as seconds since the epoch; UTC when no zone is given."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def duration_seconds(text: str) -> float | None:
    """An ISO 8601 duration (PT1M, P1D, PT1H30M) in seconds; None when it is not one."""
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", text.strip(), re.I)
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def timespan(text: str | None, now: float) -> tuple[float, float]:
    """'start/end', 'start/duration', 'duration/end' or a duration back from now (ISO 8601 intervals); default 1 h."""
    if not text:
        return now - 3600, now
    try:
        if "/" not in text:
            length = duration_seconds(text)
            if length is None:
                raise ValueError(text)
            return now - length, now
        first, second = text.split("/", 1)
        if (length := duration_seconds(second)) is not None:
            start = time_seconds(first)
            return start, start + length
        end = time_seconds(second)
        if (length := duration_seconds(first)) is not None:
            return end - length, end
        return time_seconds(first), end
    except ValueError:
        raise AzureError(
            400,
            "BadRequest",
            f"Invalid timespan '{text}': use 'startTime/endTime' in ISO 8601, e.g. "
            "2026-12-06T10:00:00Z/2026-12-06T11:00:00Z.",
        ) from None


def parse_filter(text: str | None, fact: MetricFact) -> tuple[dict[str, tuple[set[str] | None, set[str]]], list[str]]:
    """A $filter such as "deployment eq 'blue' or deployment eq 'green' and statusCodeClass eq '*'": per dimension
    the values allowed (None: any) and excluded, and the dimensions split by ('*'). As Azure documents it, `or` joins
    values of one dimension and `and` joins dimensions. A dimension the metric lacks is refused (ValidateDimensions
    defaults to true); Azure's exact words for that are not published."""
    filters: dict[str, tuple[set[str] | None, set[str]]] = {}
    split: list[str] = []
    if not text:
        return filters, split
    known = {d.lower(): d for d in fact.dimensions}
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.I):
        for atom in re.split(r"\s+or\s+", clause, flags=re.I):
            match = _FILTER_ATOM.fullmatch(atom)
            if match is None:
                raise AzureError(400, "BadRequest", f"Invalid $filter '{text}': use dimension eq 'value'.")
            dim = known.get(match["dim"].lower())
            if dim is None:
                shown = ", ".join(fact.dimensions) or "none"
                raise AzureError(
                    400,
                    "BadRequest",
                    f"Metric {fact.name} has no dimension '{match['dim']}'; its dimensions: {shown}.",
                )
            allowed, excluded = filters.get(dim, (set(), set()))
            value = match["value"].lower()
            if match["op"].lower() == "ne":
                excluded.add(value)
            else:
                if value == "*":
                    allowed = None
                elif allowed is not None:
                    allowed.add(value)
                if dim not in split:  # a filtered dimension is named in each series' metadata, as Azure does
                    split.append(dim)
            filters[dim] = (allowed if allowed else None, excluded)
    return filters, split


def _spans(start: float, end: float, interval: str) -> list[tuple[float, float]]:
    if interval.upper() == "FULL":
        return [(start, end)]
    grain = INTERVALS.get(interval.upper())
    if grain is None:
        raise AzureError(
            400,
            "BadRequest",
            f"Invalid interval '{interval}': the supported time grains are {', '.join(INTERVALS)} and FULL.",
        )
    first = math.floor(start / grain) * grain
    count = math.ceil((end - first) / grain)
    if count > MAX_POINTS:
        raise AzureError(400, "BadRequest", f"The query asks for {count} points per series; choose a larger interval.")
    return [(first + i * grain, first + (i + 1) * grain) for i in range(max(0, count))]


def _definition(resource_id: str, resource_type: str, fact: MetricFact) -> dict[str, Any]:
    return {
        "id": f"{resource_id}/providers/microsoft.insights/metricdefinitions/{fact.name}",
        "resourceId": resource_id,
        "namespace": resource_type,
        "name": {"value": fact.name, "localizedValue": fact.display},
        "displayDescription": fact.description,
        "category": fact.category,
        "isDimensionRequired": False,
        "unit": fact.unit,
        "primaryAggregationType": fact.primary_aggregation,
        "supportedAggregationTypes": list(fact.aggregations),
        "metricAvailabilities": [{"timeGrain": grain, "retention": RETENTION} for grain in INTERVALS],
        "dimensions": [{"value": d, "localizedValue": d} for d in fact.dimensions],
    }


def _metrics_body(store: MetricsStore, request: Request, resource_id: str, resource_type: str) -> dict[str, Any]:
    zoom = store.zoom()
    facts = METRICS[resource_type]
    names = [n.strip() for n in (request.param("metricnames") or facts[0].name).split(",") if n.strip()]
    if len(names) > 20:
        raise AzureError(400, "BadRequest", f"At most 20 metrics can be queried at once; the query names {len(names)}.")
    chosen = []
    for name in names:
        fact = next((f for f in facts if f.name.lower() == name.lower()), None)
        if fact is None:
            # Azure's words for an unknown metric are not published: the sandbox lists the valid ones.
            raise AzureError(
                400,
                "BadRequest",
                f"Failed to find metric configuration for provider: Microsoft.MachineLearningServices, resource "
                f"Type: {resource_type.split('/', 1)[1]}, metric: {name}, Valid metrics: "
                + ",".join(f.name for f in facts),
            )
        chosen.append(fact)
    start, end = timespan(request.param("timespan"), zoom.now)
    interval = request.param("interval") or TIME_GRAIN
    spans = _spans(start, end, interval)
    asked = [a.strip().lower() for a in (request.param("aggregation") or "").split(",") if a.strip()]
    try:
        top = int(request.param("top") or 10)
    except ValueError:
        raise AzureError(400, "BadRequest", "top must be a whole number.") from None
    value = []
    for fact in chosen:
        aggregations = asked or [fact.primary_aggregation.lower()]
        supported = {a.lower() for a in fact.aggregations}
        filters, split = parse_filter(request.param("$filter"), fact)
        series = store.buckets(resource_type, resource_id.lower(), fact, spans, zoom, filters, split)
        timeseries = []
        for key, points in list(series.items())[: top if split else None]:
            data = []
            for (span_start, _), point in zip(spans, points, strict=True):
                entry: dict[str, Any] = {"timeStamp": iso(span_start).replace(".000000Z", "Z")}
                if point is not None:
                    entry.update({a: point[a] for a in aggregations if a in supported and a in point})
                data.append(entry)
            timeseries.append(
                {
                    "metadatavalues": [{"name": {"value": d, "localizedValue": d}, "value": v} for d, v in key],
                    "data": data,
                }
            )
        value.append(
            {
                "id": f"{resource_id}/providers/Microsoft.Insights/metrics/{fact.name}",
                "type": "Microsoft.Insights/metrics",
                "name": {"value": fact.name, "localizedValue": fact.display},
                "displayDescription": fact.description,
                "unit": fact.unit,
                "timeseries": timeseries,
                "errorCode": "Success",
            }
        )
    return {
        "cost": len(spans) * len(chosen),
        "timespan": f"{iso(start)}/{iso(end)}",
        "interval": interval.upper(),
        "namespace": resource_type,
        "resourceregion": "westeurope",
        "value": value,
    }


def register(router: Router, sandbox: Any) -> None:
    from rdeploy_tui.sandbox import online

    store = sandbox.metrics
    sandbox.spawn(store.run_sampler, name="sandbox-metrics")

    def endpoint_id(sub: str, rg: str, ws: str, endpoint: str) -> str:
        ws_doc = online.find_workspace(sandbox, sub, rg, ws)
        ep_id = online.endpoint_id(ws_doc["id"], endpoint)
        doc = online.get_endpoint(sandbox, ep_id)
        if doc is None:
            raise _missing(ENDPOINT_TYPE, f"{ws}/{endpoint}", rg)
        return doc["id"]

    def deployment_id(sub: str, rg: str, ws: str, endpoint: str, deployment: str) -> str:
        ep_id = endpoint_id(sub, rg, ws, endpoint)
        doc = online.get_deployment(sandbox, f"{ep_id}/deployments/{deployment}")
        if doc is None:
            raise _missing(DEPLOYMENT_TYPE, f"{ws}/{endpoint}/{deployment}", rg)
        return doc["id"]

    insights = r"/providers/Microsoft\.Insights/"

    @router.route("GET", online.EP + insights + "metricDefinitions")
    def endpoint_definitions(request: Request, sub: str, rg: str, ws: str, endpoint: str) -> Response:
        ep_id = endpoint_id(sub, rg, ws, endpoint)
        return json_response(200, {"value": [_definition(ep_id, ENDPOINT_TYPE, f) for f in METRICS[ENDPOINT_TYPE]]})

    @router.route("GET", online.DEP + insights + "metricDefinitions")
    def deployment_definitions(
        request: Request, sub: str, rg: str, ws: str, endpoint: str, deployment: str
    ) -> Response:
        dep_id = deployment_id(sub, rg, ws, endpoint, deployment)
        return json_response(
            200, {"value": [_definition(dep_id, DEPLOYMENT_TYPE, f) for f in METRICS[DEPLOYMENT_TYPE]]}
        )

    @router.route("GET", online.EP + insights + "metrics")
    def endpoint_metrics(request: Request, sub: str, rg: str, ws: str, endpoint: str) -> Response:
        return json_response(200, _metrics_body(store, request, endpoint_id(sub, rg, ws, endpoint), ENDPOINT_TYPE))

    @router.route("GET", online.DEP + insights + "metrics")
    def deployment_metrics(request: Request, sub: str, rg: str, ws: str, endpoint: str, deployment: str) -> Response:
        dep_id = deployment_id(sub, rg, ws, endpoint, deployment)
        return json_response(200, _metrics_body(store, request, dep_id, DEPLOYMENT_TYPE))


def _missing(resource_type: str, name: str, rg: str) -> AzureError:
    from rdeploy_tui.sandbox.errors import not_found

    return not_found(resource_type, name, rg)
