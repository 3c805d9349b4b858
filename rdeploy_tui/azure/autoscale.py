"""A deployment's Azure Monitor autoscale setting, as Microsoft's "Autoscale online endpoints" how-to writes it with
azure-mgmt-monitor (https://learn.microsoft.com/azure/machine-learning/how-to-autoscale-endpoints), and its scale
events from the activity log.

    info = apply_autoscale(ws, "my-endpoint", "blue", spec.deployment.autoscale)   # create or update, enabled
    info = read_autoscale(ws, "my-endpoint", "blue")                               # None: no setting
    disable_autoscale(ws, "my-endpoint", "blue")                                   # enabled: false, rules kept
    events = scale_events(ws, info, since)                                         # newest first

One setting per deployment (Azure allows one per resource): an existing one that targets the deployment is
updated, whatever its name; a new one is named spec.autoscale.setting_name(endpoint, deployment), in the
workspace's resource group, in the endpoint's region. Writing needs microsoft.insights/autoscalesettings/write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING

from rdeploy_tui.azure.errors import azure_call
from rdeploy_tui.azure.insights import deployment_id, endpoint_id
from rdeploy_tui.azure.workspace import Workspace
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.spec.autoscale import ProfilePlan, RecurrencePlan, RulePlan, describe, profiles, setting_name
from rdeploy_tui.spec.deploy_spec import AutoscaleSpec

if TYPE_CHECKING:
    from azure.mgmt.monitor import MonitorManagementClient
    from azure.mgmt.monitor.models import AutoscaleProfile, AutoscaleSettingResource, ScaleRule


@dataclass(frozen=True)
class AutoscaleInfo:
    id: str
    name: str
    enabled: bool
    profiles: tuple[ProfilePlan, ...]
    target: str

    def lines(self) -> list[str]:
        state = "on" if self.enabled else "off (the setting is kept; `endpoints autoscale ... --min` turns it on)"
        return [f"autoscale {state}: setting {self.name}", *describe(self.profiles)]

    @property
    def default_profile(self) -> ProfilePlan | None:
        return next((p for p in self.profiles if p.recurrence is None), self.profiles[0] if self.profiles else None)


@dataclass(frozen=True)
class ScaleEvent:
    """One scale action of the autoscale engine (its last status), or a skipped one (flapping)."""

    at: datetime
    kind: str  # "out", "in", "flapping"
    old: int | None
    new: int | None
    status: str  # Started, Succeeded, Failed
    description: str

    def text(self, tz: tzinfo | None = None) -> str:
        """'14:03:10 scale out 1 -> 2 succeeded' (the time in `tz`, default the local time zone)."""
        when = self.at.astimezone(tz).strftime("%H:%M:%S")
        if self.kind == "flapping":
            return f"{when} flapping: {self.description}"
        arrow = f"{self.old} -> {self.new}" if self.old is not None else ""
        return f"{when} scale {self.kind} {arrow} {self.status.lower()}".rstrip()


# ----- SDK models <-> plans ----------------------------------------------------------------------------------------
def _minutes(value: object) -> int:
    if isinstance(value, timedelta):
        return round(value.total_seconds() / 60)
    return 0


def _rule_model(rule: RulePlan, ws: Workspace, endpoint: str, deployment: str) -> ScaleRule:
    from azure.mgmt.monitor.models import MetricTrigger, ScaleAction, ScaleRule

    uri = deployment_id(ws, endpoint, deployment) if rule.resource == "deployment" else endpoint_id(ws, endpoint)
    return ScaleRule(
        metric_trigger=MetricTrigger(
            metric_name=rule.metric_name,
            metric_resource_uri=uri,
            time_grain=timedelta(minutes=rule.grain_minutes),
            statistic=rule.statistic,
            time_window=timedelta(minutes=rule.window_minutes),
            time_aggregation=rule.time_aggregation,
            operator=rule.operator,
            threshold=rule.threshold,
        ),
        scale_action=ScaleAction(
            direction=rule.direction,
            type="ChangeCount",
            value=str(rule.change),
            cooldown=timedelta(minutes=rule.cooldown_minutes),
        ),
    )


def _profile_model(profile: ProfilePlan, ws: Workspace, endpoint: str, deployment: str) -> AutoscaleProfile:
    from azure.mgmt.monitor.models import AutoscaleProfile, Recurrence, RecurrentSchedule, ScaleCapacity

    recurrence = None
    if profile.recurrence is not None:
        r = profile.recurrence
        recurrence = Recurrence(
            frequency="Week",
            schedule=RecurrentSchedule(time_zone=r.time_zone, days=list(r.days), hours=[r.hour], minutes=[r.minute]),
        )
    return AutoscaleProfile(
        name=profile.name,
        capacity=ScaleCapacity(
            minimum=str(profile.minimum), maximum=str(profile.maximum), default=str(profile.default)
        ),
        rules=[_rule_model(rule, ws, endpoint, deployment) for rule in profile.rules],
        recurrence=recurrence,
    )


def _plan_of(model: AutoscaleProfile) -> ProfilePlan:
    rules = []
    for r in model.rules or []:
        t, a = r.metric_trigger, r.scale_action
        rules.append(
            RulePlan(
                metric_name=t.metric_name,
                resource="deployment" if "/deployments/" in (t.metric_resource_uri or "").lower() else "endpoint",
                operator=str(t.operator),
                threshold=float(t.threshold),
                window_minutes=_minutes(t.time_window),
                direction=str(a.direction),
                change=int(a.value or 1),
                cooldown_minutes=_minutes(a.cooldown),
                statistic=str(t.statistic),
                time_aggregation=str(t.time_aggregation),
                grain_minutes=_minutes(t.time_grain),
            )
        )
    recurrence = None
    if model.recurrence is not None and model.recurrence.schedule is not None:
        s = model.recurrence.schedule
        recurrence = RecurrencePlan(
            tuple(s.days or ()), (s.hours or [0])[0], (s.minutes or [0])[0], s.time_zone or "UTC"
        )
    c = model.capacity
    return ProfilePlan(model.name, int(c.minimum), int(c.maximum), int(c.default), tuple(rules), recurrence)


def _info(setting: AutoscaleSettingResource) -> AutoscaleInfo:
    return AutoscaleInfo(
        setting.id or "",  # ARM's read-only fields: always in its answers, optional in the SDK's model
        setting.name or "",
        bool(setting.enabled),
        tuple(_plan_of(p) for p in setting.profiles or []),
        setting.target_resource_uri or "",
    )


# ----- operations ---------------------------------------------------------------------------------------------------
def _existing(client: MonitorManagementClient, ws: Workspace, target: str) -> AutoscaleSettingResource | None:
    """The setting that targets `target` in the workspace's resource group (Azure allows one per resource)."""
    for setting in client.autoscale_settings.list_by_resource_group(ws.resource_group):
        if (setting.target_resource_uri or "").lower() == target.lower():
            return setting
    return None


def read_autoscale(ws: Workspace, endpoint: str, deployment: str) -> AutoscaleInfo | None:
    client = ws.connection.monitor_client(ws.subscription_id)
    with azure_call(f"reading the autoscale setting of {endpoint}/{deployment}"):
        setting = _existing(client, ws, deployment_id(ws, endpoint, deployment))
    return None if setting is None else _info(setting)


def read_with_events(
    ws: Workspace, endpoint: str, deployment: str, since: datetime
) -> tuple[AutoscaleInfo | None, list[ScaleEvent]]:
    """The setting and its scale events since `since` (none without a setting)."""
    info = read_autoscale(ws, endpoint, deployment)
    return info, (scale_events(ws, info, since) if info is not None else [])


def _deployment_location(ws: Workspace, endpoint: str, deployment: str) -> str:
    """The endpoint's region (the how-to puts the setting there); a missing deployment is said plainly."""
    from rdeploy_tui.azure.rest_online import RestEndpoints

    endpoints = RestEndpoints(ws)
    info = endpoints.find(endpoint)
    if info is None:
        raise endpoints.missing(endpoint)
    if deployment not in {d.name for d in info.deployments}:
        names = ", ".join(d.name for d in info.deployments) or "none"
        raise RdeployError(
            f"Endpoint {endpoint} has no deployment {deployment} (its deployments: {names}).",
            "Name one of its deployments with --deployment.",
            code="NoDeployment",
        )
    return info.location or ws.info.location or ""


def apply_autoscale(ws: Workspace, endpoint: str, deployment: str, auto: AutoscaleSpec) -> AutoscaleInfo:
    """Create or update the deployment's setting from the spec, enabled. The spec is validated by the caller
    (spec.rules.autoscale_problems): what reaches here is what Azure accepts."""
    from azure.mgmt.monitor.models import AutoscaleSettingResource

    location = _deployment_location(ws, endpoint, deployment)
    target = deployment_id(ws, endpoint, deployment)
    client = ws.connection.monitor_client(ws.subscription_id)
    with azure_call(f"setting autoscale on {endpoint}/{deployment}"):
        existing = _existing(client, ws, target)
        name = (existing.name if existing is not None else None) or setting_name(endpoint, deployment)
        resource = AutoscaleSettingResource(
            location=existing.location if existing is not None else location,
            tags=existing.tags if existing is not None else None,
            profiles=[_profile_model(p, ws, endpoint, deployment) for p in profiles(auto)],
            enabled=True,
            target_resource_uri=target,
            target_resource_location=location,
            notifications=existing.notifications if existing is not None else None,
        )
        saved = client.autoscale_settings.create_or_update(ws.resource_group, name, resource)
    return _info(saved)


def disable_autoscale(ws: Workspace, endpoint: str, deployment: str) -> AutoscaleInfo | None:
    """Turn the setting off (the how-to's "Enable or disable autoscale": enabled false), keeping its rules; the
    instance count stays where autoscale left it. None when there is no setting."""
    from azure.mgmt.monitor.models import AutoscaleSettingResourcePatch

    client = ws.connection.monitor_client(ws.subscription_id)
    with azure_call(f"turning autoscale off on {endpoint}/{deployment}"):
        existing = _existing(client, ws, deployment_id(ws, endpoint, deployment))
        if existing is None:
            return None
        saved = client.autoscale_settings.update(
            ws.resource_group,
            existing.name or setting_name(endpoint, deployment),
            AutoscaleSettingResourcePatch(enabled=False),
        )
    return _info(saved)


def scale_events(
    ws: Workspace, info: AutoscaleInfo, since: datetime, until: datetime | None = None
) -> list[ScaleEvent]:
    """The setting's events in the activity log (Autoscale category), newest first, one per scale action (its last
    status). Activity Logs - List: `eventTimestamp ge` and `resourceUri eq` the setting's id."""
    until = until or datetime.now(timezone.utc)
    query = (
        f"eventTimestamp ge '{since.strftime('%Y-%m-%dT%H:%M:%SZ')}' and "
        f"eventTimestamp le '{until.strftime('%Y-%m-%dT%H:%M:%SZ')}' and resourceUri eq '{info.id}'"
    )
    client = ws.connection.monitor_client(ws.subscription_id)
    with azure_call("reading the autoscale events from the activity log"):
        records = list(client.activity_logs.list(filter=query))
    by_operation: dict[str, ScaleEvent] = {}
    rank = {"Started": 0, "Succeeded": 1, "Failed": 1}
    for e in records:
        operation = (e.operation_name.value if e.operation_name else "") or ""
        if "/autoscalesettings/" not in operation.lower() or e.event_timestamp is None:
            continue
        kind = "out" if "scaleup" in operation.lower() else "in" if "scaledown" in operation.lower() else "flapping"
        props = e.properties or {}
        status = (e.status.value if e.status else "") or ""
        event = ScaleEvent(
            e.event_timestamp,
            kind,
            _int(props.get("OldInstancesCount")),
            _int(props.get("NewInstancesCount")),
            status,
            str(props.get("Description") or e.description or ""),
        )
        key = e.operation_id or e.event_data_id or str(len(by_operation))
        known = by_operation.get(key)
        if known is None or rank.get(status, 0) >= rank.get(known.status, 0):
            by_operation[key] = event
    return sorted(by_operation.values(), key=lambda ev: ev.at, reverse=True)


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None
