"""Azure Monitor autoscale for the sandbox's online deployments: the autoscalesettings resource, an engine that
enforces it on the real plumber processes, and the activity log that records every scale action.

    PUT/GET/PATCH/DELETE {resource group}/providers/Microsoft.Insights/autoscalesettings/{name}   (2022-10-01)
    GET {resource group or subscription}/providers/Microsoft.Insights/autoscalesettings
    GET /subscriptions/{s}/providers/Microsoft.Insights/eventtypes/management/values?$filter=...  (2015-04-01)

Shapes and limits: the REST spec (Azure/azure-rest-api-specs, Microsoft.Insights/Insights/stable/2022-10-01/
autoscale_API.json): at most 20 profiles, 10 rules a profile, timeGrain 1 minute to 12 hours, timeWindow 5 minutes
to 12 hours, cooldown 1 minute to 1 week, scale action value 1 or more. "You can only have one autoscale setting per
resource" (Understand autoscale settings). Azure's error codes and words for these refusals are not published: the
sandbox answers 400 BadRequest naming the rule.

The engine, as "Understand autoscale settings" and "Autoscale flapping" (learn.microsoft.com/azure/azure-monitor/
autoscale/) describe it: every run (durations.AUTOSCALE_RUN_S, scaled) it picks the profile (fixed date, then the
recurrence that started last, then the default), moves the count inside minimum..maximum, scales out when any
Increase rule holds (to the largest count asked), scales in only when every Decrease rule holds, skips a scale-in
the Increase rules would undo at once (Flapping) or scales in by less (FlappingOccurred), waits the cooldown after
each action, and scales to the default when it cannot read any metric and the count is below it. Metric values
come from sandbox/metrics.py (the rule's statistic per grain across instances, its timeAggregation over the window).
What Azure does with a rule whose metric has no data points in the window (an endpoint with no requests has no
latency) is not published: the sandbox counts such a rule as not met. Rule dimensions are not applied.

Scaling changes the deployment's sku.capacity at once (as ARM shows the new target) and starts or stops real R
processes behind the scoring front after durations.SCALE_OUT_S / SCALE_IN_S (scaled); the deployment stays
Succeeded and serves from its running instances meanwhile (what provisioningState Azure shows during an autoscale
action is not published). A scale-out that would exceed the subscription's core quota fails, as a deployment update
does, with a Failed event.
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from typing import Any

from rdeploy_tui.sandbox import online
from rdeploy_tui.sandbox.arm import RG, SUB, TENANT_ID, iso, system_data
from rdeploy_tui.sandbox.durations import AUTOSCALE_RUN_S, SCALE_IN_S, SCALE_OUT_S
from rdeploy_tui.sandbox.errors import AzureError
from rdeploy_tui.sandbox.http import Request, Response, Router, json_response
from rdeploy_tui.sandbox.metrics import duration_seconds, time_seconds
from rdeploy_tui.spec.azure_metrics import DEPLOYMENT_TYPE, ENDPOINT_TYPE

SETTINGS = "autoscale_settings"  # state collection: lower-cased id -> {id, name, ..., properties, cooldown_until}
EVENTS = "activity_log"  # state collection: event id -> {at, setting, ..., body}
MAX_EVENTS = 2000
TYPE = "Microsoft.Insights/autoscaleSettings"
OPERATIONS = {"Increase": "Scaleup", "Decrease": "Scaledown"}
_STATISTICS = ("Average", "Min", "Max", "Sum", "Count")
_TIME_AGGREGATIONS = ("Average", "Minimum", "Maximum", "Total", "Count", "Last")
_OPERATORS = ("Equals", "NotEquals", "GreaterThan", "GreaterThanOrEqual", "LessThan", "LessThanOrEqual")
_SCALE_TYPES = ("ChangeCount", "PercentChangeCount", "ExactCount", "ServiceAllowedNextValue")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # datetime.weekday() order
# Windows time zone names (what autoscale takes) for which the sandbox knows the IANA zone; others run as UTC.
_ZONES = {
    "utc": "UTC",
    "gmt standard time": "Europe/London",
    "greenwich standard time": "Atlantic/Reykjavik",
    "w. europe standard time": "Europe/Berlin",
    "central europe standard time": "Europe/Budapest",
    "romance standard time": "Europe/Paris",
    "central european standard time": "Europe/Warsaw",
    "e. europe standard time": "Europe/Chisinau",
    "fle standard time": "Europe/Kiev",
    "pacific standard time": "America/Los_Angeles",
    "mountain standard time": "America/Denver",
    "central standard time": "America/Chicago",
    "eastern standard time": "America/New_York",
    "india standard time": "Asia/Kolkata",
    "china standard time": "Asia/Shanghai",
    "tokyo standard time": "Asia/Tokyo",
    "singapore standard time": "Asia/Singapore",
    "aus eastern standard time": "Australia/Sydney",
}
_SETTING = RG + r"/providers/Microsoft\.Insights/autoscalesettings/(?P<name>[^/]+)"


# ----- validation (the REST spec) -----------------------------------------------------------------------------------
def _bad(message: str) -> AzureError:
    return AzureError(400, "BadRequest", message)


def _minutes(value: Any, what: str, low: float, high: float) -> float:
    seconds = duration_seconds(str(value or ""))
    if seconds is None:
        raise _bad(f"{what} '{value}' is not an ISO 8601 duration such as PT5M.")
    if not low * 60 <= seconds <= high * 60:
        raise _bad(f"{what} '{value}' is out of range: it must be between {_span(low)} and {_span(high)}.")
    return seconds


def _span(minutes: float) -> str:
    if minutes >= 7 * 24 * 60:
        return f"{minutes / (7 * 24 * 60):g} week"
    if minutes >= 60:
        return f"{minutes / 60:g} hours"
    return f"{minutes:g} minute{'s' if minutes != 1 else ''}"


def _count(value: Any, what: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise _bad(f"{what} '{value}' is not a whole number.") from None
    return number


def _check_setting(sandbox: Any, props: dict[str, Any], setting_id: str) -> dict[str, Any]:
    """The target deployment's document; raises what the REST spec (and Azure ML's instance limits) refuse."""
    profiles = props.get("profiles")
    if not isinstance(profiles, list) or not profiles:
        raise _bad("properties.profiles is required: give at least one profile.")
    if len(profiles) > 20:
        raise _bad(f"An autoscale setting has at most 20 profiles; this one has {len(profiles)}.")
    target = str(props.get("targetResourceUri") or "")
    if not target:
        raise _bad("properties.targetResourceUri is required: the resource to scale.")
    dep = online.get_deployment(sandbox, target) if "/deployments/" in target.lower() else None
    if dep is None:
        raise _bad(
            f"The target resource '{target}' was not found, or it is not a resource the sandbox can scale "
            "(the sandbox scales managed online deployments)."
        )
    for p in profiles:
        name = p.get("name")
        if not name:
            raise _bad("Every profile needs a name.")
        capacity = p.get("capacity") or {}
        numbers = {
            k: _count(capacity.get(k), f"Profile '{name}' capacity.{k}") for k in ("minimum", "maximum", "default")
        }
        # An online deployment runs 1 to 50 instances (learn.microsoft.com/azure/machine-learning/how-to-manage-quotas).
        if not 1 <= numbers["minimum"] <= numbers["default"] <= numbers["maximum"] <= online.MAX_INSTANCES:
            raise _bad(
                f"Profile '{name}' capacity must satisfy 1 <= minimum <= default <= maximum <= {online.MAX_INSTANCES} "
                f"for an online deployment; it has minimum {numbers['minimum']}, default {numbers['default']}, "
                f"maximum {numbers['maximum']}."
            )
        rules = p.get("rules")
        if not isinstance(rules, list):
            raise _bad(f"Profile '{name}' needs rules (a list, which may be empty).")
        if len(rules) > 10:
            raise _bad(f"Profile '{name}' has {len(rules)} rules; at most 10 can be specified.")
        for rule in rules:
            _check_rule(name, rule)
        recurrence = p.get("recurrence")
        if recurrence:
            schedule = recurrence.get("schedule") or {}
            if recurrence.get("frequency") != "Week":
                raise _bad(f"Profile '{name}' recurrence.frequency must be Week.")
            if not all(d in _DAYS for d in schedule.get("days") or []) or not schedule.get("days"):
                raise _bad(f"Profile '{name}' recurrence days must be Sunday through Saturday.")
            if any(not 0 <= int(h) <= 23 for h in schedule.get("hours") or []):
                raise _bad(f"Profile '{name}' recurrence hours must be 0 to 23.")
    return dep


def _check_rule(profile: str, rule: dict[str, Any]) -> None:
    trigger, action = rule.get("metricTrigger") or {}, rule.get("scaleAction") or {}
    for key in (
        "metricName",
        "metricResourceUri",
        "timeGrain",
        "statistic",
        "timeWindow",
        "timeAggregation",
        "operator",
    ):
        if trigger.get(key) in (None, ""):
            raise _bad(f"A rule of profile '{profile}' lacks metricTrigger.{key}.")
    if not isinstance(trigger.get("threshold"), (int, float)):
        raise _bad(f"A rule of profile '{profile}' lacks a numeric metricTrigger.threshold.")
    _minutes(trigger["timeGrain"], "timeGrain", 1, 12 * 60)
    _minutes(trigger["timeWindow"], "timeWindow", 5, 12 * 60)
    for key, allowed in (
        ("statistic", _STATISTICS),
        ("timeAggregation", _TIME_AGGREGATIONS),
        ("operator", _OPERATORS),
    ):
        if trigger[key] not in allowed:
            raise _bad(f"metricTrigger.{key} '{trigger[key]}' is not one of {', '.join(allowed)}.")
    if action.get("direction") not in ("None", "Increase", "Decrease"):
        raise _bad("scaleAction.direction must be None, Increase or Decrease.")
    if action.get("type") not in _SCALE_TYPES:
        raise _bad(f"scaleAction.type must be one of {', '.join(_SCALE_TYPES)}.")
    if _count(action.get("value", "1"), "scaleAction.value") < 1:
        raise _bad("scaleAction.value must be 1 or greater.")
    _minutes(action.get("cooldown"), "scaleAction.cooldown", 1, 7 * 24 * 60)


# ----- the resource ---------------------------------------------------------------------------------------------
def setting_body(doc: dict[str, Any]) -> dict[str, Any]:
    props = dict(doc["properties"])
    props.setdefault("notifications", [])
    props.setdefault("enabled", False)  # the REST spec's default
    props.setdefault("predictiveAutoscalePolicy", {"scaleMode": "Disabled"})
    props["name"] = doc["name"]
    return {
        "id": doc["id"],
        "name": doc["name"],
        "type": TYPE,
        "location": doc["location"],
        "tags": doc.get("tags") or {},
        "systemData": system_data(doc["created"], doc["modified"]),
        "properties": props,
    }


def _settings(sandbox: Any, head: str) -> list[dict[str, Any]]:
    with sandbox.state.view() as data:
        return [json.loads(json.dumps(d)) for k, d in data.get(SETTINGS, {}).items() if k.startswith(head.lower())]


def _group_exists(sandbox: Any, sub: str, rg: str) -> None:
    with sandbox.state.view() as data:
        found = f"/subscriptions/{sub}/resourcegroups/{rg}".lower() in data.get("resource_groups", {})
    if not found:
        raise AzureError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")


# ----- the engine -----------------------------------------------------------------------------------------------
def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    match = re.fullmatch(r"UTC([+-]\d{2})", name or "")
    if match:
        return timezone(timedelta(hours=int(match.group(1))))
    try:
        return ZoneInfo(_ZONES.get((name or "utc").lower(), "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def _latest_start(profile: dict[str, Any], now: datetime) -> datetime | None:
    """When this recurrence profile last started (None: not in the past week)."""
    schedule = (profile.get("recurrence") or {}).get("schedule") or {}
    local = now.astimezone(_zone(schedule.get("timeZone", "UTC")))
    latest = None
    for back in range(8):
        day = (local - timedelta(days=back)).date()
        if _DAYS[day.weekday()] not in (schedule.get("days") or []):
            continue
        for hour in schedule.get("hours") or [0]:
            for minute in schedule.get("minutes") or [0]:
                start = datetime(day.year, day.month, day.day, int(hour), int(minute), tzinfo=local.tzinfo)
                if start <= local and (latest is None or start > latest):
                    latest = start
    return latest


def active_profile(profiles: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """Fixed-date profiles first, then the recurrence profile that started last, then the default profile."""
    for p in profiles:
        fixed = p.get("fixedDate")
        if fixed:
            zone = _zone(fixed.get("timeZone", "UTC"))
            start = datetime.fromisoformat(str(fixed["start"]).replace("Z", "")).replace(tzinfo=zone)
            end = datetime.fromisoformat(str(fixed["end"]).replace("Z", "")).replace(tzinfo=zone)
            if start <= now <= end:
                return p
    started = [(s, p) for p in profiles if p.get("recurrence") and (s := _latest_start(p, now)) is not None]
    if started:
        return max(started, key=lambda pair: pair[0])[1]
    return next((p for p in profiles if not p.get("recurrence") and not p.get("fixedDate")), profiles[0])


def _holds(value: float, operator: str, threshold: float) -> bool:
    return {
        "Equals": value == threshold,
        "NotEquals": value != threshold,
        "GreaterThan": value > threshold,
        "GreaterThanOrEqual": value >= threshold,
        "LessThan": value < threshold,
        "LessThanOrEqual": value <= threshold,
    }[operator]


def _new_count(current: int, action: dict[str, Any]) -> int:
    value = _count(action.get("value", "1"), "value")
    sign = 1 if action["direction"] == "Increase" else -1
    if action["type"] == "ExactCount":
        return value
    if action["type"] == "PercentChangeCount":
        return current + sign * max(1, math.ceil(current * value / 100))
    return current + sign * value


def _per_instance(trigger: dict[str, Any], target: str) -> bool:
    """A metric averaged over the target's instances: fewer instances raise it by current/new (Autoscale flapping)."""
    return trigger["metricResourceUri"].lower() == target.lower() and trigger["metricName"].lower() in (
        "cpuutilizationpercentage",
        "cpumemoryutilizationpercentage",
    )


def decide(
    profile: dict[str, Any], current: int, value_of: Any, target: str
) -> tuple[int, str, dict[str, Any] | None, str | None]:
    """(new count, why, the rule that fired or None, flapping note or None) for one run of the engine."""
    capacity = profile["capacity"]
    low, high, default = (int(capacity[k]) for k in ("minimum", "maximum", "default"))
    if current < low:
        return low, f"the instance count {current} is below the profile's minimum {low}", None, None
    if current > high:
        return high, f"the instance count {current} is above the profile's maximum {high}", None, None
    rules = profile.get("rules") or []
    values = [value_of(r["metricTrigger"]) for r in rules]
    if rules and all(v is None for v in values):
        if current < default:
            return default, f"no metric could be read and the count is below the default {default}", None, None
        return current, "no metric could be read", None, None
    met = [
        (r, v)
        for r, v in zip(rules, values, strict=True)
        if v is not None and _holds(v, r["metricTrigger"]["operator"], float(r["metricTrigger"]["threshold"]))
    ]
    ups = [(r, v) for r, v in met if r["scaleAction"]["direction"] == "Increase"]
    if ups:
        rule, value = max(ups, key=lambda pair: _new_count(current, pair[0]["scaleAction"]))
        new = min(high, _new_count(current, rule["scaleAction"]))
        return new, _because(rule, value), rule, None
    downs = [r for r in rules if r["scaleAction"]["direction"] == "Decrease"]
    met_downs = [(r, v) for r, v in met if r["scaleAction"]["direction"] == "Decrease"]
    if not downs or len(met_downs) != len(downs):  # scale in only when every scale-in rule holds
        return current, "no rule holds", None, None
    rule, value = max(met_downs, key=lambda pair: _new_count(current, pair[0]["scaleAction"]))
    wanted = max(low, _new_count(current, rule["scaleAction"]))
    if wanted >= current:
        return current, f"the instance count is at the profile's minimum {low}", None, None
    increases = [
        (r, v)
        for r, v in zip(rules, values, strict=True)
        if r["scaleAction"]["direction"] == "Increase" and v is not None
    ]

    def flaps(count: int) -> bool:
        for up, v in increases:
            trigger = up["metricTrigger"]
            if _per_instance(trigger, target) and _holds(
                v * current / count, trigger["operator"], trigger["threshold"]
            ):
                return True
        return False

    for count in range(wanted, current):
        if not flaps(count):
            note = None
            if count != wanted:
                note = (
                    f"Scale down will occur with updated instance count to avoid flapping. Current instance count: "
                    f"'{current}', Intended new instance count: '{wanted}'. Actual new instance count: '{count}'"
                )
            return count, _because(rule, value), rule, note
    return current, "a scale-in would cause flapping", rule, "flapping"


def _because(rule: dict[str, Any], value: float) -> str:
    t = rule["metricTrigger"]
    return f"{t['metricName']} {t['timeAggregation'].lower()} {value:.1f} {t['operator']} {t['threshold']:g}"


class AutoscaleEngine:
    """Azure Monitor's autoscale engine, simulated: one job per sandbox, run by Sandbox.spawn."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.busy: set[str] = set()  # deployments a scale action is still changing

    def run(self) -> None:
        while self.sandbox.sleep(AUTOSCALE_RUN_S):
            for setting in _settings(self.sandbox, "/subscriptions/"):
                try:
                    self.evaluate(setting)
                except Exception:  # one broken setting must not stop the others; logged for the developer
                    import logging

                    logging.getLogger("rdeploy_tui.sandbox").exception("autoscale run failed for %s", setting["id"])

    def evaluate(self, setting: dict[str, Any]) -> None:
        props = setting["properties"]
        target = props["targetResourceUri"]
        if not props.get("enabled") or target.lower() in self.busy:
            return
        if time.time() < float(setting.get("cooldown_until") or 0):
            return
        dep = online.get_deployment(self.sandbox, target)
        if dep is None or dep["state"] != "Succeeded":
            return
        profile = active_profile(props["profiles"], datetime.now(timezone.utc))
        zoom = self.sandbox.metrics.zoom()

        def value_of(trigger: dict[str, Any]) -> float | None:
            uri = trigger["metricResourceUri"].lower()
            kind = DEPLOYMENT_TYPE if "/deployments/" in uri else ENDPOINT_TYPE
            return self.sandbox.metrics.rule_value(
                kind,
                uri,
                trigger["metricName"],
                statistic=trigger["statistic"],
                grain_s=duration_seconds(trigger["timeGrain"]) or 60.0,
                window_s=duration_seconds(trigger["timeWindow"]) or 300.0,
                time_aggregation=trigger["timeAggregation"],
                zoom=zoom,
            )

        current = int(dep["instance_count"])
        new, why, rule, flapping = decide(profile, current, value_of, target)
        if flapping == "flapping":
            self._event(setting, "Flapping", "Flapping", "Succeeded", current, current, profile, why)
            return
        if new == current:
            return
        cooldown = duration_seconds((rule or {}).get("scaleAction", {}).get("cooldown") or "PT1M") or 60.0
        self.scale(setting, dep, current, new, profile, why, cooldown, flapping)

    def scale(
        self,
        setting: dict[str, Any],
        dep: dict[str, Any],
        current: int,
        new: int,
        profile: dict[str, Any],
        why: str,
        cooldown_s: float,
        flapping: str | None,
    ) -> None:
        sandbox = self.sandbox
        direction = "Increase" if new > current else "Decrease"
        _update_setting(sandbox, setting["id"], cooldown_until=time.time() + sandbox.scaled(cooldown_s))
        if flapping:
            self._event(setting, "Flapping", "FlappingOccurred", "Succeeded", current, new, profile, flapping)
        operation = str(uuid.uuid4())
        if direction == "Increase":
            sub = dep["id"].split("/")[2]
            needed = online.SKU_CORES.get(dep["instance_type"].lower(), 0) * new * online.QUOTA_HEADROOM
            used = online._used_cores(sandbox, sub, dep["id"])
            if used + needed > sandbox.quota_cores:
                message = online._quota_message({**dep, "instance_count": new}, sandbox.quota_cores, used)
                self._event(setting, direction, "AutoscaleAction", "Failed", current, new, profile, message, operation)
                return
        self._event(setting, direction, "AutoscaleAction", "Started", current, new, profile, why, operation)
        online.update_doc(sandbox, "deployments", dep["id"], instance_count=new)
        self.busy.add(dep["id"].lower())

        def act() -> None:
            from rdeploy_tui.sandbox.hosting import ContainerFailure

            status, detail = "Succeeded", why
            try:
                if not sandbox.sleep(SCALE_OUT_S if direction == "Increase" else SCALE_IN_S):
                    return
                sandbox.hosting.scale(dep["id"], new)
            except ContainerFailure as failure:
                status, detail = "Failed", failure.message
            finally:
                self.busy.discard(dep["id"].lower())
            self._event(setting, direction, "AutoscaleAction", status, current, new, profile, detail, operation)

        sandbox.spawn(act, name="sandbox-autoscale-action")

    def _event(
        self,
        setting: dict[str, Any],
        direction: str,
        event_name: str,
        status: str,
        old: int,
        new: int,
        profile: dict[str, Any],
        why: str,
        operation: str | None = None,
    ) -> None:
        target = setting["properties"]["targetResourceUri"]
        if event_name == "AutoscaleAction":
            op = f"Microsoft.Insights/AutoscaleSettings/{OPERATIONS[direction]}/Action"
            description = (
                f"The autoscale engine attempting to scale resource '{target}' from {old} instances count to {new} "
                f"instances count."
                if status == "Started"
                else f"The autoscale engine {'succeeded' if status == 'Succeeded' else 'failed'} to scale resource "
                f"'{target}' from {old} instances count to {new} instances count: {why}."
            )
        else:
            op = "Microsoft.Insights/AutoscaleSettings/Flapping/Action"
            description = (
                why
                if why != "flapping"
                else (
                    f"Autoscale skipped a scale-in of resource '{target}' to avoid flapping "
                    f"(current instance count {old})."
                )
            )
        now = time.time()
        event_id = str(uuid.uuid4())
        record = {
            "at": now,
            "setting": setting["id"].lower(),
            "subscription": setting["id"].split("/")[2].lower(),
            "resource_group": setting["id"].split("/")[4].lower(),
            "operation": operation or event_id,
            "event_id": event_id,
            "body": {
                "caller": "Microsoft.Insights/autoscaleSettings",
                "channels": "Admin, Operation",
                "claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/spn": TYPE},
                "correlationId": operation or event_id,
                "description": description,
                "eventDataId": event_id,
                "eventName": {"value": event_name, "localizedValue": event_name},
                "category": {"value": "Autoscale", "localizedValue": "Autoscale"},
                "level": "Informational" if status != "Failed" else "Error",
                "resourceGroupName": setting["id"].split("/")[4],
                "resourceProviderName": {"value": "microsoft.insights", "localizedValue": "microsoft.insights"},
                "resourceId": setting["id"],
                "resourceType": {
                    "value": "microsoft.insights/autoscalesettings",
                    "localizedValue": "microsoft.insights/autoscalesettings",
                },
                "operationId": operation or event_id,
                "operationName": {"value": op, "localizedValue": op},
                "properties": {
                    "Description": description,
                    "ResourceName": target,
                    "OldInstancesCount": str(old),
                    "NewInstancesCount": str(new),
                    "ActiveAutoscaleProfile": json.dumps(profile),
                    "LastScaleActionTime": formatdate(now, usegmt=True),
                },
                "status": {"value": status, "localizedValue": status},
                "subStatus": {"value": None},
                "subscriptionId": setting["id"].split("/")[2],
                "tenantId": TENANT_ID,
            },
        }
        with self.sandbox.state.edit() as data:
            events = self.sandbox.state.collection(data, EVENTS)
            events[event_id] = record
            if len(events) > MAX_EVENTS:
                for key in sorted(events, key=lambda k: events[k]["at"])[: len(events) - MAX_EVENTS]:
                    del events[key]


def _update_setting(sandbox: Any, setting_id: str, **changes: Any) -> None:
    with sandbox.state.edit() as data:
        doc = data.get(SETTINGS, {}).get(setting_id.lower())
        if doc is not None:
            doc.update(changes)


# ----- the activity log --------------------------------------------------------------------------------------------
_EVENT_FILTER = re.compile(r"\s*(?P<field>\w+)\s+(?P<op>eq|ge|le)\s+'(?P<value>[^']*)'\s*", re.I)


def _event_filter(text: str | None) -> list[tuple[str, str, str]]:
    """The Activity Logs API's $filter: eventTimestamp ge/le (required) and one of resourceUri, resourceGroupName,
    resourceProvider or correlationId eq, joined by `and` (Activity Logs - List, REST reference)."""
    if not text:
        raise _bad("The $filter query parameter is required, with at least an eventTimestamp ge '...' condition.")
    terms = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.I):
        match = _EVENT_FILTER.fullmatch(part)
        if match is None:
            raise _bad(f"The $filter '{text}' is not supported: use eventTimestamp ge '...' and resourceUri eq '...'.")
        terms.append((match["field"].lower(), match["op"].lower(), match["value"]))
    if not any(field == "eventtimestamp" and op == "ge" for field, op, _ in terms):
        raise _bad("The $filter must hold an eventTimestamp ge '...' condition.")
    return terms


def register(router: Router, sandbox: Any) -> None:
    engine = AutoscaleEngine(sandbox)
    sandbox.spawn(engine.run, name="sandbox-autoscale")

    @router.route("PUT", _SETTING)
    def put_setting(request: Request, sub: str, rg: str, name: str) -> Response:
        _group_exists(sandbox, sub, rg)
        body = request.json()
        if not body.get("location"):
            raise _bad("location is required.")
        props = dict(body.get("properties") or {})
        setting_id = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{TYPE}/{name}"
        dep = _check_setting(sandbox, props, setting_id)
        props["targetResourceUri"] = dep["id"]
        props.setdefault("targetResourceLocation", dep["location"])
        props.setdefault("enabled", False)
        others = [
            s for s in _settings(sandbox, "/subscriptions/")
            if s["properties"]["targetResourceUri"].lower() == dep["id"].lower()
            and s["id"].lower() != setting_id.lower()
        ]  # fmt: skip
        if others:
            raise _bad(
                f"The resource '{dep['id']}' already has the autoscale setting '{others[0]['name']}': a resource can "
                "have only one autoscale setting. Update or delete that one."
            )
        now = time.time()
        with sandbox.state.edit() as data:
            settings = sandbox.state.collection(data, SETTINGS)
            existing = settings.get(setting_id.lower())
            settings[setting_id.lower()] = {
                "id": setting_id,
                "name": name,
                "location": body["location"],
                "tags": body.get("tags") or {},
                "properties": props,
                "created": existing["created"] if existing else now,
                "modified": now,
                "cooldown_until": existing.get("cooldown_until") if existing else None,
            }
            doc = dict(settings[setting_id.lower()])
        return json_response(200 if existing else 201, setting_body(doc))

    @router.route("GET", _SETTING)
    def get_setting(request: Request, sub: str, rg: str, name: str) -> Response:
        return json_response(200, setting_body(_setting_or_404(sub, rg, name)))

    @router.route("PATCH", _SETTING)
    def patch_setting(request: Request, sub: str, rg: str, name: str) -> Response:
        doc = _setting_or_404(sub, rg, name)
        body = request.json()
        props = {**doc["properties"], **(body.get("properties") or {})}
        _check_setting(sandbox, props, doc["id"])
        with sandbox.state.edit() as data:
            stored = data[SETTINGS][doc["id"].lower()]
            stored["properties"] = props
            if "tags" in body:
                stored["tags"] = body.get("tags") or {}
            stored["modified"] = time.time()
            doc = dict(stored)
        return json_response(200, setting_body(doc))

    @router.route("DELETE", _SETTING)
    def delete_setting(request: Request, sub: str, rg: str, name: str) -> Response:
        setting_id = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{TYPE}/{name}".lower()
        with sandbox.state.edit() as data:
            gone = data.get(SETTINGS, {}).pop(setting_id, None)
        return Response(200 if gone else 204, b"", {})

    @router.route("GET", RG + r"/providers/Microsoft\.Insights/autoscalesettings")
    def list_group(request: Request, sub: str, rg: str) -> Response:
        _group_exists(sandbox, sub, rg)
        head = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{TYPE}/"
        return json_response(200, {"value": [setting_body(d) for d in _settings(sandbox, head)]})

    @router.route("GET", SUB + r"/providers/Microsoft\.Insights/autoscalesettings")
    def list_subscription(request: Request, sub: str) -> Response:
        return json_response(200, {"value": [setting_body(d) for d in _settings(sandbox, f"/subscriptions/{sub}/")]})

    @router.route("GET", SUB + r"/providers/Microsoft\.Insights/eventtypes/management/values")
    def activity_log(request: Request, sub: str) -> Response:
        zoom = sandbox.metrics.zoom()
        terms = _event_filter(request.param("$filter"))
        with sandbox.state.view() as data:
            records = [dict(r) for r in data.get(EVENTS, {}).values() if r["subscription"] == sub.lower()]
        chosen = []
        for record in records:
            at = zoom.azure(record["at"])  # Azure time, as the metrics are (sandbox/metrics.py Zoom)
            if all(_matches(record, at, field, op, value) for field, op, value in terms):
                body = dict(record["body"])
                body["id"] = f"{record['body']['resourceId']}/events/{record['event_id']}/ticks/{int(at * 1e7)}"
                body["eventTimestamp"] = body["submissionTimestamp"] = iso(at)
                chosen.append((at, body))
        chosen.sort(key=lambda pair: pair[0], reverse=True)  # newest first
        return json_response(200, {"value": [body for _, body in chosen]})

    def _setting_or_404(sub: str, rg: str, name: str) -> dict[str, Any]:
        setting_id = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{TYPE}/{name}".lower()
        with sandbox.state.view() as data:
            doc = data.get(SETTINGS, {}).get(setting_id)
            if doc is None:
                raise AzureError(
                    404,
                    "ResourceNotFound",
                    f"The Resource '{TYPE}/{name}' under resource group '{rg}' was not found. "
                    "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
                )
            return json.loads(json.dumps(doc))


def _matches(record: dict[str, Any], at: float, field: str, op: str, value: str) -> bool:
    if field == "eventtimestamp":
        try:
            bound = time_seconds(value)
        except ValueError:
            raise _bad(f"eventTimestamp '{value}' is not an ISO 8601 time.") from None
        return at >= bound if op == "ge" else at <= bound
    if field == "resourceuri":  # an autoscale event's resourceId is the setting (activity log schema, Autoscale)
        return record["setting"] == value.lower()
    if field == "resourcegroupname":
        return record["resource_group"] == value.lower()
    if field == "resourceprovider":
        return value.lower() == "microsoft.insights"
    if field == "correlationid":
        return record["operation"] == value
    raise _bad(f"The $filter field '{field}' is not supported.")
