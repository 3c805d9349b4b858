"""Azure Monitor on the sandbox, read and written by Microsoft's own client (azure-mgmt-monitor) and by rdeploy-tui's
Azure layer: metric definitions as Microsoft lists them, every scored request counted, each instance's real R process
measured, autoscale settings accepted and refused as the REST spec says, and enforced on real processes with the
activity log recording each scale action."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from sandbox_helpers import create_endpoint, make_deployment, unique_name
from sandbox_specs import connection_on

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.spec.azure_metrics import ENDPOINT_METRICS

pytestmark = pytest.mark.sandbox


def wait_for(check: Callable[[], object], what: str, timeout: float = 60.0) -> object:
    """Poll until `check()` is truthy (the state the test needs), failing with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def monitor(sandbox_server):
    from azure.mgmt.monitor import MonitorManagementClient

    settings = sandbox_server.client_settings()
    return MonitorManagementClient(settings.credential(), sandbox_server.subscription_id, **settings.mgmt_kwargs())


@pytest.fixture(scope="module")
def two_instances(sandbox_server, ml_client, app_files, code_dir):
    """A key-auth endpoint of its own with deployment blue at 100 % on two instances (two real R processes)."""
    name = unique_name("mon")
    create_endpoint(ml_client, name)
    ml_client.online_deployments.begin_create_or_update(
        make_deployment("blue", name, app_files.image, code_dir, instance_count=2, instance_type="Standard_DS2_v2"),
        skip_script_validation=True,
    ).result()
    endpoint = ml_client.online_endpoints.get(name)
    endpoint.traffic = {"blue": 100}
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    yield ml_client.online_endpoints.get(name)
    ml_client.online_endpoints.begin_delete(name).result()


def _score(endpoint, key: str | None, body: object, n: int) -> list[int]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return [requests.post(endpoint.scoring_uri, json=body, headers=headers, timeout=30).status_code for _ in range(n)]


def test_metric_definitions_are_microsofts_lists(sandbox, ml_client, monitor):
    name = unique_name("defs")
    endpoint = create_endpoint(ml_client, name)
    definitions = {d.name.value: d for d in monitor.metric_definitions.list(endpoint.id)}
    assert set(definitions) == {m.name for m in ENDPOINT_METRICS}
    requests_per_minute = definitions["RequestsPerMinute"]
    assert requests_per_minute.unit == "Count" and requests_per_minute.primary_aggregation_type == "Average"
    assert [d.value for d in requests_per_minute.dimensions] == [
        "deployment",
        "statusCode",
        "statusCodeClass",
        "modelStatusCode",
    ]
    assert definitions["RequestLatency_P95"].unit == "MilliSeconds"
    assert requests_per_minute.metric_availabilities[0].time_grain == timedelta(minutes=1)
    missing = endpoint.id.rsplit("/", 1)[0] + "/no-such-endpoint"
    with pytest.raises(HttpResponseError) as refused:
        list(monitor.metric_definitions.list(missing))
    assert refused.value.status_code == 404
    ml_client.online_endpoints.begin_delete(name).result()


@pytest.mark.r
def test_every_scored_request_is_counted_by_status_deployment_and_model_status(
    sandbox, ml_client, monitor, two_instances
):
    key = ml_client.online_endpoints.get_keys(two_instances.name).primary_key
    assert _score(two_instances, key, {"forecast_horizon": [2]}, 6) == [200] * 6
    assert _score(two_instances, key, {"forecast_horizon": ["abc"]}, 3) == [424] * 3  # the container answers 400
    assert _score(two_instances, None, {"forecast_horizon": [2]}, 2) == [401] * 2
    # The last Azure hour as one grain: at the test time scale it is the last ~11 real seconds, so all of the above.
    answer = monitor.metrics.list(
        two_instances.id,
        timespan="PT1H",
        interval="FULL",
        metricnames="RequestsPerMinute",
        aggregation="Average",
        filter="statusCode eq '*' and deployment eq '*' and modelStatusCode eq '*'",
    )
    rates = {
        tuple(m.value for m in series.metadatavalues): series.data[0].average for series in answer.value[0].timeseries
    }
    assert set(rates) == {("200", "blue", "200"), ("424", "blue", "400"), ("401", "", "")}
    unit = rates[("401", "", "")] / 2  # one request's share of the rate: the counts are 6, 3 and 2
    assert rates[("200", "blue", "200")] == pytest.approx(6 * unit)
    assert rates[("424", "blue", "400")] == pytest.approx(3 * unit)

    latency = monitor.metrics.list(
        two_instances.id,
        timespan="PT1H",
        interval="FULL",
        metricnames="RequestLatency,RequestLatency_P50,RequestLatency_P95,RequestLatency_P99",
    )
    values = {m.name.value: m.timeseries[0].data[0].average for m in latency.value}
    assert 0 < values["RequestLatency_P50"] <= values["RequestLatency_P95"] <= values["RequestLatency_P99"]
    assert all(m.unit == "MilliSeconds" for m in latency.value)


@pytest.mark.r
def test_each_instance_reports_its_r_process_cpu_and_memory(sandbox, monitor, two_instances):
    dep_id = f"{two_instances.id}/deployments/blue"
    instances = {i.id for i in sandbox.hosting.instances(dep_id)}
    assert len(instances) == 2

    def per_instance():
        answer = monitor.metrics.list(
            dep_id,
            timespan="PT1H",
            interval="PT1M",
            metricnames="CpuUtilizationPercentage,CpuMemoryUtilizationPercentage",
            aggregation="Average,Maximum",
            filter="instanceId eq '*'",
        )
        found = {}
        for metric in answer.value:
            for series in metric.timeseries:
                points = [p for p in series.data if p.average is not None]
                if points:
                    found[(metric.name.value, series.metadatavalues[0].value)] = points[-1]
        return found if len(found) == 4 else None

    found = wait_for(per_instance, "CPU and memory samples of both instances")
    assert {instance for _, instance in found} == instances
    for (name, _), point in found.items():
        assert 0 <= point.average <= 100 and point.maximum >= point.average
        if name == "CpuMemoryUtilizationPercentage":
            assert point.average > 0.1  # an R process with plumber holds tens of MB of a 7 GiB instance

    capacity = monitor.metrics.list(dep_id, timespan="PT1H", metricnames="DeploymentCapacity", aggregation="Maximum")
    assert max(p.maximum or 0 for p in capacity.value[0].timeseries[0].data) == 2


def test_queries_outside_the_published_metrics_are_refused(sandbox, ml_client, monitor):
    endpoint = create_endpoint(ml_client, unique_name("bad"))
    for kwargs, words in (
        ({"metricnames": "CpuUtilizationPercentage"}, "Failed to find metric configuration"),  # a deployment metric
        ({"metricnames": "RequestLatency_P95", "filter": "statusCodeClass eq '*'"}, "no dimension 'statusCodeClass'"),
        ({"metricnames": "RequestsPerMinute", "interval": "PT2M"}, "Invalid interval"),
    ):
        with pytest.raises(HttpResponseError) as refused:
            monitor.metrics.list(endpoint.id, timespan="PT1H", **kwargs)
        assert refused.value.status_code == 400 and words in str(refused.value)
    ml_client.online_endpoints.begin_delete(endpoint.name).result()


def _setting(dep_id: str, endpoint_id: str, **changes):
    """The how-to's setting (azure-mgmt-monitor models): scale out on the endpoint's latency, in on the deployment's
    CPU, the shortest windows and cooldowns the REST spec allows."""
    from azure.mgmt.monitor.models import (
        AutoscaleProfile,
        AutoscaleSettingResource,
        MetricTrigger,
        ScaleAction,
        ScaleCapacity,
        ScaleRule,
    )

    def rule(name, uri, operator, threshold, direction):
        return ScaleRule(
            metric_trigger=MetricTrigger(
                metric_name=name,
                metric_resource_uri=uri,
                time_grain=timedelta(minutes=1),
                statistic="Average",
                time_window=changes.get("window", timedelta(minutes=5)),
                time_aggregation="Average",
                operator=operator,
                threshold=threshold,
            ),
            scale_action=ScaleAction(direction=direction, type="ChangeCount", value="1", cooldown=timedelta(minutes=1)),
        )

    rules = [
        rule("RequestLatency", endpoint_id, "GreaterThan", 0, "Increase"),  # holds whenever requests come in
        rule("CpuUtilizationPercentage", dep_id, "LessThan", 100, "Decrease"),  # holds unless CPU is full
    ] * changes.get("copies", 1)
    return AutoscaleSettingResource(
        location="westeurope",
        target_resource_uri=dep_id,
        enabled=True,
        profiles=[
            AutoscaleProfile(
                name="my-scale-settings",
                capacity=ScaleCapacity(minimum="1", maximum=str(changes.get("maximum", 2)), default="1"),
                rules=rules,
            )
        ],
    )


@pytest.mark.r
def test_settings_are_refused_as_the_rest_spec_says(sandbox, monitor, two_instances):
    group = sandbox.resource_group
    dep_id = f"{two_instances.id}/deployments/blue"
    for changes, words in (
        ({"window": timedelta(minutes=4)}, "timeWindow 'PT4M' is out of range"),
        ({"copies": 6}, "at most 10 can be specified"),
        ({"maximum": 51}, "maximum <= 50"),
    ):
        with pytest.raises(HttpResponseError) as refused:
            monitor.autoscale_settings.create_or_update(
                group, unique_name("as"), _setting(dep_id, two_instances.id, **changes)
            )
        assert refused.value.status_code == 400 and words in str(refused.value), str(refused.value)
    first = unique_name("as")
    off = _setting(dep_id, two_instances.id)
    off.enabled = False  # accepted but not enforced: the other tests of this module need both instances
    created = monitor.autoscale_settings.create_or_update(group, first, off)
    assert created.target_resource_uri == dep_id and not created.enabled
    with pytest.raises(HttpResponseError) as second:  # "You can only have one autoscale setting per resource"
        monitor.autoscale_settings.create_or_update(group, unique_name("as"), _setting(dep_id, two_instances.id))
    assert "only one autoscale setting" in str(second.value)
    assert first in {s.name for s in monitor.autoscale_settings.list_by_resource_group(group)}
    monitor.autoscale_settings.delete(group, first)
    with pytest.raises(HttpResponseError):
        monitor.autoscale_settings.get(group, first)


@pytest.mark.r
def test_autoscale_starts_real_r_processes_under_load_and_stops_them_when_idle(
    sandbox, ml_client, monitor, app_files, code_dir
):
    name = unique_name("auto")
    create_endpoint(ml_client, name)
    ml_client.online_deployments.begin_create_or_update(
        make_deployment("blue", name, app_files.image, code_dir, instance_type="Standard_DS2_v2"),
        skip_script_validation=True,
    ).result()
    endpoint = ml_client.online_endpoints.get(name)
    endpoint.traffic = {"blue": 100}
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    dep_id = f"{endpoint.id}/deployments/blue"
    key = ml_client.online_endpoints.get_keys(name).primary_key
    setting = monitor.autoscale_settings.create_or_update(
        sandbox.resource_group, unique_name("as"), _setting(dep_id, endpoint.id)
    )
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            _score(endpoint, key, {"forecast_horizon": [1]}, 1)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    try:
        wait_for(lambda: len(sandbox.hosting.instances(dep_id)) == 2, "a second R process under load")
        assert ml_client.online_deployments.get("blue", name).instance_count == 2  # sku.capacity followed

        def capacity_two():
            answer = monitor.metrics.list(dep_id, timespan="PT1H", metricnames="DeploymentCapacity")
            return any(p.average == 2 for p in answer.value[0].timeseries[0].data)

        wait_for(capacity_two, "DeploymentCapacity to reach 2")
    finally:
        stop.set()
        worker.join()
    wait_for(lambda: len(sandbox.hosting.instances(dep_id)) == 1, "the second R process to stop when idle")
    assert ml_client.online_deployments.get("blue", name).instance_count == 1

    def events():
        found = list(
            monitor.activity_logs.list(
                filter=f"eventTimestamp ge '2000-01-01T00:00:00Z' and resourceUri eq '{setting.id}'"
            )
        )
        done = [
            (
                e.operation_name.value.rsplit("/", 2)[1],
                e.properties["OldInstancesCount"],
                e.properties["NewInstancesCount"],
            )
            for e in found
            if e.status.value == "Succeeded" and e.category.value == "Autoscale"
        ]
        return done if {("Scaleup", "1", "2"), ("Scaledown", "2", "1")} <= set(done) else None

    wait_for(events, "the activity log's Scaleup and Scaledown events")
    monitor.autoscale_settings.delete(sandbox.resource_group, setting.name)
    ml_client.online_endpoints.begin_delete(name).result()


@pytest.mark.r
def test_rdeploy_reads_health_and_writes_autoscale_through_its_azure_layer(sandbox, ml_client, two_instances):
    from rdeploy_tui import azure
    from rdeploy_tui.azure import autoscale
    from rdeploy_tui.azure.monitor import read_health
    from rdeploy_tui.spec.deploy_spec import AutoscaleSpec

    key = ml_client.online_endpoints.get_keys(two_instances.name).primary_key
    _score(two_instances, key, {"forecast_horizon": [2]}, 3)
    with connection_on(sandbox) as session:
        ws = azure.Workspace.open(session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)
        health = read_health(ws, two_instances.name, "blue", "1h")
        assert health.has_traffic and health.requests.last
        assert set(health.by_class) >= {"2xx"} and health.latency["P95"].last
        assert len(health.cpu) >= 2 and health.instances is not None and health.instances.maximum == 2
        assert health.autoscale is None and health.events == ()

        info = autoscale.apply_autoscale(ws, two_instances.name, "blue", AutoscaleSpec(min=2, max=4, default=2))
        assert info.enabled and info.name == f"autoscale-{two_instances.name}-blue"
        assert autoscale.read_autoscale(ws, two_instances.name, "blue") == info
        again = autoscale.apply_autoscale(ws, two_instances.name, "blue", AutoscaleSpec(min=2, max=3, default=2))
        assert again.id == info.id and again.default_profile.maximum == 3  # the same setting, updated
        off = autoscale.disable_autoscale(ws, two_instances.name, "blue")
        assert off is not None and not off.enabled and off.profiles == again.profiles
        with pytest.raises(RdeployError) as missing:
            autoscale.apply_autoscale(ws, two_instances.name, "green", AutoscaleSpec())
        assert "has no deployment green" in str(missing.value)


@pytest.mark.r
def test_quota_usages_count_each_familys_deployments_as_azure_ml_lists_them(sandbox, ml_client, two_instances):
    # azure-ai-ml's own reader of Usages - List is the judge of the shape (it keeps the REST names: currentValue).
    usages = {vars(u)["name"]["value"]: vars(u) for u in ml_client.compute.list_usage(location="westeurope")}
    dsv2 = usages["Standard DSv2 Family Cluster Dedicated vCPUs"]
    assert dsv2["limit"] == sandbox.quota_cores and dsv2["type"].endswith("vmFamily/usages")
    assert dsv2["currentValue"] >= 2 * 2  # this module's two Standard_DS2_v2 instances, among other tests' deployments
    assert usages["Total Cluster Dedicated Regional vCPUs"]["currentValue"] >= dsv2["currentValue"]

    from rdeploy_tui import azure
    from rdeploy_tui.azure.quota import autoscale_quota_warning, family_usage

    with connection_on(sandbox) as session:
        ws = azure.Workspace.open(session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)
        assert family_usage(ws, "Standard_DS2_v2").used == dsv2["currentValue"]
        warning = autoscale_quota_warning(ws, "Standard_DS2_v2", 50, 2)
        assert warning is not None and "will fail (OutOfQuota)" in warning
        assert autoscale_quota_warning(ws, "Standard_DS2_v2", 2, 2) is None  # what runs now always fits
