"""deployment.autoscale as Azure Monitor takes it: the profiles and rules of an autoscale setting
(Microsoft.Insights/autoscalesettings), pure and typed. azure/autoscale.py sends them with azure-mgmt-monitor; the
health view and `endpoints autoscale` describe them; spec/rules.py checks the spec against Azure's limits.

How Microsoft's "Autoscale online endpoints" how-to writes them
(https://learn.microsoft.com/azure/machine-learning/how-to-autoscale-endpoints): one setting per deployment, targeting
the deployment's ARM id; a profile with capacity minimum/maximum/default; a scale-out and a scale-in rule on the
deployment's CpuUtilizationPercentage (or the endpoint's RequestLatency), time grain PT1M, statistic Average, a time
window, ChangeCount actions with a cooldown; optionally a recurrence profile (its weekend example). The how-to's
Python tab aggregates the window with "Last" while its text and CLI tab (`avg 5m`) take the average: the average is
what "above 70 % for 5 minutes" means, so timeAggregation is Average here.

Limits from the REST spec (Azure/azure-rest-api-specs, specification/monitor/resource-manager/Microsoft.Insights/
Insights/stable/2022-10-01/autoscale_API.json): at most 20 profiles and 10 rules per profile; timeGrain 1 minute to 12
hours; timeWindow 5 minutes to 12 hours; cooldown 1 minute to 1 week; scaleAction value 1 or more.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from rdeploy_tui.spec.azure_metrics import SCALE_METRICS
from rdeploy_tui.spec.deploy_spec import AutoscaleSpec, ScaleRuleSpec, ScheduleSpec

MAX_PROFILES = 20
MAX_RULES = 10
MIN_WINDOW_MINUTES, MAX_WINDOW_MINUTES = 5, 12 * 60
MIN_COOLDOWN_MINUTES, MAX_COOLDOWN_MINUTES = 1, 7 * 24 * 60
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
DEFAULT_PROFILE = "default"
SCHEDULE_PROFILE = "schedule"

# The time zones the REST spec's RecurrentSchedule.timeZone lists as valid (Windows names).
TIME_ZONES = (
    "Dateline Standard Time", "UTC-11", "Hawaiian Standard Time", "Alaskan Standard Time",
    "Pacific Standard Time (Mexico)", "Pacific Standard Time", "US Mountain Standard Time",
    "Mountain Standard Time (Mexico)", "Mountain Standard Time", "Central America Standard Time",
    "Central Standard Time", "Central Standard Time (Mexico)", "Canada Central Standard Time",
    "SA Pacific Standard Time", "Eastern Standard Time", "US Eastern Standard Time", "Venezuela Standard Time",
    "Paraguay Standard Time", "Atlantic Standard Time", "Central Brazilian Standard Time", "SA Western Standard Time",
    "Pacific SA Standard Time", "Newfoundland Standard Time", "E. South America Standard Time",
    "Argentina Standard Time", "SA Eastern Standard Time", "Greenland Standard Time", "Montevideo Standard Time",
    "Bahia Standard Time", "UTC-02", "Mid-Atlantic Standard Time", "Azores Standard Time", "Cape Verde Standard Time",
    "Morocco Standard Time", "UTC", "GMT Standard Time", "Greenwich Standard Time", "W. Europe Standard Time",
    "Central Europe Standard Time", "Romance Standard Time", "Central European Standard Time",
    "W. Central Africa Standard Time", "Namibia Standard Time", "Jordan Standard Time", "GTB Standard Time",
    "Middle East Standard Time", "Egypt Standard Time", "Syria Standard Time", "E. Europe Standard Time",
    "South Africa Standard Time", "FLE Standard Time", "Turkey Standard Time", "Israel Standard Time",
    "Kaliningrad Standard Time", "Libya Standard Time", "Arabic Standard Time", "Arab Standard Time",
    "Belarus Standard Time", "Russian Standard Time", "E. Africa Standard Time", "Iran Standard Time",
    "Arabian Standard Time", "Azerbaijan Standard Time", "Russia Time Zone 3", "Mauritius Standard Time",
    "Georgian Standard Time", "Caucasus Standard Time", "Afghanistan Standard Time", "West Asia Standard Time",
    "Ekaterinburg Standard Time", "Pakistan Standard Time", "India Standard Time", "Sri Lanka Standard Time",
    "Nepal Standard Time", "Central Asia Standard Time", "Bangladesh Standard Time", "N. Central Asia Standard Time",
    "Myanmar Standard Time", "SE Asia Standard Time", "North Asia Standard Time", "China Standard Time",
    "North Asia East Standard Time", "Singapore Standard Time", "W. Australia Standard Time", "Taipei Standard Time",
    "Ulaanbaatar Standard Time", "Tokyo Standard Time", "Korea Standard Time", "Yakutsk Standard Time",
    "Cen. Australia Standard Time", "AUS Central Standard Time", "E. Australia Standard Time",
    "AUS Eastern Standard Time", "West Pacific Standard Time", "Tasmania Standard Time", "Magadan Standard Time",
    "Vladivostok Standard Time", "Russia Time Zone 10", "Central Pacific Standard Time", "Russia Time Zone 11",
    "New Zealand Standard Time", "UTC+12", "Fiji Standard Time", "Kamchatka Standard Time", "Tonga Standard Time",
    "Samoa Standard Time", "Line Islands Standard Time",
)  # fmt: skip


@dataclass(frozen=True)
class RulePlan:
    """One ScaleRule: its metricTrigger and scaleAction."""

    metric_name: str
    resource: str  # "deployment" or "endpoint": whose ARM id is the metricResourceUri
    operator: str  # GreaterThan | LessThan | ...
    threshold: float
    window_minutes: int
    direction: str  # Increase | Decrease
    change: int
    cooldown_minutes: int
    statistic: str = "Average"
    time_aggregation: str = "Average"
    grain_minutes: int = 1

    @property
    def _parts(self) -> tuple[str, str, str]:
        """(sign, operator symbol, unit) for people."""
        unit = next((u for _, name, u in SCALE_METRICS.values() if name == self.metric_name), "")
        sign = {"Increase": "+", "Decrease": "-"}.get(self.direction, "")
        op = {"GreaterThan": ">", "GreaterThanOrEqual": ">=", "LessThan": "<", "LessThanOrEqual": "<="}.get(
            self.operator, self.operator
        )
        return sign, op, f" {unit}" if unit else ""

    def short(self) -> str:
        """'+1 when CPU > 20 % for 5 min' (the health view's line)."""
        sign, op, unit = self._parts
        name = {"CpuUtilizationPercentage": "CPU", "RequestLatency": "latency"}.get(self.metric_name, self.metric_name)
        return f"{sign}{self.change} when {name} {op} {self.threshold:g}{unit} for {self.window_minutes} min"

    def text(self) -> str:
        """'+1 instance when deployment CpuUtilizationPercentage > 70 % (average over 5 min), then wait 5 min'."""
        sign, op, unit = self._parts
        plural = "" if self.change == 1 else "s"
        return (
            f"{sign}{self.change} instance{plural} when {self.resource} {self.metric_name} {op} {self.threshold:g}"
            f"{unit} ({self.time_aggregation.lower()} over {self.window_minutes} min), "
            f"then wait {self.cooldown_minutes} min"
        )


@dataclass(frozen=True)
class RecurrencePlan:
    """When a recurrence profile starts: each of `days` at hour:minute in `time_zone` (frequency Week)."""

    days: tuple[str, ...]
    hour: int
    minute: int
    time_zone: str


@dataclass(frozen=True)
class ProfilePlan:
    name: str
    minimum: int
    maximum: int
    default: int
    rules: tuple[RulePlan, ...] = ()
    recurrence: RecurrencePlan | None = None

    def text(self) -> str:
        head = f"{self.minimum}-{self.maximum} instances (default {self.default})"
        if self.minimum == self.maximum:
            head = f"{self.minimum} instance{'' if self.minimum == 1 else 's'}"
        when = ""
        if self.recurrence is not None:
            r = self.recurrence
            when = f" from {r.hour:02d}:{r.minute:02d} {r.time_zone} on {', '.join(d[:3] for d in r.days)}"
        return head + when


def rule(r: ScaleRuleSpec, direction: str) -> RulePlan:
    resource = "deployment" if SCALE_METRICS[r.metric][0].endswith("/deployments") else "endpoint"
    return RulePlan(
        metric_name=SCALE_METRICS[r.metric][1],
        resource=resource,
        operator="GreaterThan" if direction == "Increase" else "LessThan",
        threshold=float(r.threshold),
        window_minutes=r.minutes,
        direction=direction,
        change=r.change,
        cooldown_minutes=r.cooldown_minutes,
    )


def hh_mm(text: str) -> tuple[int, int] | None:
    """'06:30' -> (6, 30); None when it is not a time of day."""
    parts = text.split(":") if isinstance(text, str) else []
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        return None
    hour, minute = int(parts[0]), int(parts[1])
    return (hour, minute) if hour < 24 and minute < 60 else None


def profiles(auto: AutoscaleSpec) -> tuple[ProfilePlan, ...]:
    """The setting's profiles. Without a schedule, one default profile. With one, as the portal writes a scheduled
    condition ("Autoscale with multiple profiles"): a recurrence profile starting at schedule.start with the fixed
    count, and a copy of the default profile, named {"name": ..., "for": ...}, starting again at schedule.end on the
    same days (a recurrence profile lasts until the next one starts); the plain default profile stays."""
    rules = (rule(auto.scale_out, "Increase"), rule(auto.scale_in, "Decrease"))
    default = ProfilePlan(DEFAULT_PROFILE, auto.min, auto.max, auto.default, rules)
    s: ScheduleSpec | None = auto.schedule
    if s is None:
        return (default,)
    start, end = hh_mm(s.start) or (0, 0), hh_mm(s.end) or (23, 59)
    days = tuple(s.days)
    fixed = ProfilePlan(
        SCHEDULE_PROFILE, s.instances, s.instances, s.instances, (), RecurrencePlan(days, *start, s.time_zone)
    )
    back = ProfilePlan(
        json.dumps({"name": DEFAULT_PROFILE, "for": SCHEDULE_PROFILE}, separators=(",", ":")),
        auto.min,
        auto.max,
        auto.default,
        rules,
        RecurrencePlan(days, *end, s.time_zone),
    )
    return (default, fixed, back)


def setting_name(endpoint: str, deployment: str) -> str:
    """One setting per deployment (Azure allows one per resource), found again by this name. The how-to appends a
    random number to its name; a fixed name lets `endpoints autoscale` and deploy update the same setting."""
    return f"autoscale-{endpoint}-{deployment}"


def describe(profile_list: tuple[ProfilePlan, ...]) -> list[str]:
    """Lines for people: each profile, then its rules."""
    lines = []
    for p in profile_list:
        name = p.name
        try:
            name = json.loads(p.name).get("name", p.name) + " (after the schedule)"
        except (ValueError, AttributeError):
            pass
        lines.append(f"{name}: {p.text()}")
        lines += [f"  {r.text()}" for r in p.rules]
    return lines
