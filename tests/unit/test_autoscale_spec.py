"""deployment.autoscale: read from the spec, checked against Azure's limits and autoscale guidance, and turned into
the profiles and rules of an Azure Monitor autoscale setting."""

from __future__ import annotations

import json

import pytest
import yaml

from rdeploy_tui.spec import autoscale, rules
from rdeploy_tui.spec.deploy_spec import AutoscaleSpec, DeploySpec, ScaleRuleSpec, ScheduleSpec


def _spec(auto: AutoscaleSpec | None, instance_type: str = "Standard_DS3_v2", count: int = 1) -> DeploySpec:
    spec = DeploySpec()
    spec.deployment.autoscale = auto
    spec.deployment.instance_type = instance_type
    spec.deployment.instance_count = count
    return spec


def _problems(spec: DeploySpec) -> dict[str, tuple[str, str]]:
    return {p.field: (p.level, p.message) for p in rules.validate(spec) if p.field.startswith("deployment.")}


def test_the_section_is_read_from_yaml_and_written_back():
    text = """
deployment:
  autoscale:
    min: 2
    max: 6
    default: 2
    scale_out: {metric: latency, threshold: 250, minutes: 10, change: 2, cooldown_minutes: 15}
    scale_in: {metric: latency, threshold: 80, minutes: 20}
    schedule: {days: [Saturday, Sunday], start: "06:00", end: "19:00", time_zone: W. Europe Standard Time, instances: 2}
"""
    spec, problems = DeploySpec.from_dict(yaml.safe_load(text))
    assert problems == []
    auto = spec.deployment.autoscale
    assert (auto.min, auto.max, auto.default) == (2, 6, 2)
    assert auto.scale_out == ScaleRuleSpec("latency", 250.0, 10, 2, 15)
    assert auto.scale_in == ScaleRuleSpec("latency", 80.0, 20, 1, 5)
    assert auto.schedule == ScheduleSpec(["Saturday", "Sunday"], "06:00", "19:00", "W. Europe Standard Time", 2)
    again, problems = DeploySpec.from_dict(yaml.safe_load(spec.to_yaml()))
    assert problems == [] and again.deployment.autoscale == auto


def test_no_section_or_null_means_a_fixed_instance_count():
    assert DeploySpec.from_dict({"deployment": {"name": "blue"}})[0].deployment.autoscale is None
    spec, problems = DeploySpec.from_dict({"deployment": {"autoscale": None}})
    assert problems == [] and spec.deployment.autoscale is None


def test_a_section_of_the_wrong_shape_is_reported_and_never_turns_autoscale_on():
    spec, problems = DeploySpec.from_dict({"deployment": {"autoscale": "yes"}})
    assert spec.deployment.autoscale is None
    assert [(p.field, p.message) for p in problems] == [
        ("deployment.autoscale", "must be a mapping (or null for none), got text")
    ]
    spec, problems = DeploySpec.from_dict({"deployment": {"autoscale": {"max": "5", "scale_out": {"above": 70}}}})
    assert {p.field for p in problems} == {"deployment.autoscale.max", "deployment.autoscale.scale_out.above"}


def test_the_defaults_pass_on_the_default_vm_size():
    assert _problems(_spec(AutoscaleSpec())) == {}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"min": 0}, "deployment.autoscale.min", "autoscale min 0 is out of range: use 1 to 50"),
        ({"max": 51}, "deployment.autoscale.max", "autoscale max 51 is out of range: use 1 to 50"),
        ({"min": 3, "max": 2, "default": 2}, "deployment.autoscale.max", "max 2 is below min 3"),
        ({"default": 4}, "deployment.autoscale.default", "default 4 must be from min 1 to max 3"),
    ],
)
def test_instance_counts_stay_within_azures_limits(change, field, message):
    auto = AutoscaleSpec(**change)
    assert _problems(_spec(auto, count=auto.min if auto.min >= 1 else 1))[field] == ("error", message)


@pytest.mark.parametrize(
    ("rule", "field", "text"),
    [
        (ScaleRuleSpec(minutes=4), "minutes", "use 5 to 720"),  # REST spec: timeWindow 5 minutes to 12 hours
        (ScaleRuleSpec(minutes=721), "minutes", "use 5 to 720"),
        (ScaleRuleSpec(cooldown_minutes=0), "cooldown_minutes", "use 1 to 10080"),  # 1 minute to 1 week
        (ScaleRuleSpec(cooldown_minutes=10081), "cooldown_minutes", "use 1 to 10080"),
        (ScaleRuleSpec(change=0), "change", "use 1 to 50"),
        (ScaleRuleSpec(metric="memory"), "metric", "use cpu or latency"),
        (ScaleRuleSpec(threshold=100), "threshold", "below 100"),
    ],
)
def test_a_rule_outside_the_rest_specs_limits_is_an_error(rule, field, text):
    problems = _problems(_spec(AutoscaleSpec(scale_out=rule)))
    level, message = problems[f"deployment.autoscale.scale_out.{field}"]
    assert level == "error" and text in message


def test_microsofts_flapping_example_is_refused_with_the_threshold_that_would_work():
    # "Autoscale flapping": out above 50 %, in below 30 %, by 1: at 2 instances and 56 % in all, each runs 28 %, a
    # scale-in to 1 would put 56 % on it, above 50 %: Azure skips the scale-in.
    auto = AutoscaleSpec(
        min=1, max=4, scale_out=ScaleRuleSpec(threshold=50), scale_in=ScaleRuleSpec(threshold=30, minutes=10)
    )
    level, message = _problems(_spec(auto, "Standard_DS1_v2"))["deployment.autoscale.scale_in.threshold"]
    assert level == "error"
    assert "from 2 to 1 instance" in message and "30 % CPU becomes 60 %" in message
    assert message.endswith("use a scale-in threshold below 25 %")
    auto.scale_in.threshold = 24
    assert "deployment.autoscale.scale_in.threshold" not in _problems(_spec(auto, "Standard_DS1_v2"))


def test_the_margin_is_judged_at_the_largest_jump_between_min_and_max():
    # Removing 2 of 3 instances at min 1 triples the load: 10 % becomes 30 %.
    auto = AutoscaleSpec(
        min=1,
        max=5,
        scale_out=ScaleRuleSpec(threshold=30),
        scale_in=ScaleRuleSpec(threshold=10, change=2, minutes=10),
    )
    message = _problems(_spec(auto, "Standard_DS1_v2"))["deployment.autoscale.scale_in.threshold"][1]
    assert "from 3 to 1 instance puts 3x the load" in message
    auto.min = 2  # then 4 -> 2 is the biggest jump (2x): 10 % -> 20 %, below 30 %
    assert "deployment.autoscale.scale_in.threshold" not in _problems(_spec(auto, "Standard_DS1_v2", count=2))


def test_thresholds_in_the_wrong_order_flap_for_latency_too():
    auto = AutoscaleSpec(
        scale_out=ScaleRuleSpec(metric="latency", threshold=100),
        scale_in=ScaleRuleSpec(metric="latency", threshold=100),
    )
    level, message = _problems(_spec(auto))["deployment.autoscale.scale_in.threshold"]
    assert level == "error" and "must be below the scale-out threshold" in message


def test_rules_on_different_metrics_and_equal_limits_are_warned_about():
    auto = AutoscaleSpec(min=2, max=2, default=2, scale_in=ScaleRuleSpec(metric="latency", threshold=30))
    problems = _problems(_spec(auto, count=2))
    assert problems["deployment.autoscale.scale_in.metric"][0] == "warning"
    assert problems["deployment.autoscale.max"] == ("warning", "min and max are both 2: autoscale can never scale")


def test_a_cpu_threshold_a_single_plumber_process_cannot_reach_is_warned_about():
    auto = AutoscaleSpec(scale_out=ScaleRuleSpec(threshold=70), scale_in=ScaleRuleSpec(threshold=20))
    level, message = _problems(_spec(auto, "Standard_DS3_v2"))["deployment.autoscale.scale_out.threshold"]
    assert level == "warning" and "Standard_DS3_v2 (4 vCPU)" in message and "below 25 %" in message
    # One vCPU: a busy plumber does fill the instance.
    assert "deployment.autoscale.scale_out.threshold" not in _problems(_spec(auto, "Standard_DS1_v2"))


def test_an_instance_count_outside_the_limits_is_said_to_be_reset():
    problems = _problems(_spec(AutoscaleSpec(min=2, max=4, default=2), count=1))
    assert problems["deployment.instance_count"][0] == "warning"
    assert "moves it to the min" in problems["deployment.instance_count"][1]


def test_a_schedule_names_real_days_times_and_time_zones():
    auto = AutoscaleSpec(schedule=ScheduleSpec(days=["Sat"], start="6:00", end="19:60", time_zone="CET", instances=0))
    problems = _problems(_spec(auto))
    for name in ("days", "start", "end", "time_zone", "instances"):
        assert problems[f"deployment.autoscale.schedule.{name}"][0] == "error", name


def test_the_setting_is_written_as_the_how_to_writes_it():
    profiles = autoscale.profiles(AutoscaleSpec(min=1, max=5, default=2))
    assert len(profiles) == 1
    default = profiles[0]
    assert (default.name, default.minimum, default.maximum, default.default, default.recurrence) == (
        "default",
        1,
        5,
        2,
        None,
    )
    out, into = default.rules
    assert (out.metric_name, out.resource, out.operator, out.direction) == (
        "CpuUtilizationPercentage",
        "deployment",
        "GreaterThan",
        "Increase",
    )
    assert (into.operator, into.direction, into.window_minutes) == ("LessThan", "Decrease", 10)
    assert (out.statistic, out.time_aggregation, out.grain_minutes) == ("Average", "Average", 1)
    latency = autoscale.rule(ScaleRuleSpec(metric="latency", threshold=70), "Increase")
    assert (latency.metric_name, latency.resource) == ("RequestLatency", "endpoint")  # the how-to's endpoint rule
    assert (
        out.text()
        == "+1 instance when deployment CpuUtilizationPercentage > 20 % (average over 5 min), then wait 5 min"
    )


def test_a_schedule_becomes_a_recurrence_profile_and_the_default_starting_again_at_its_end():
    profiles = autoscale.profiles(
        AutoscaleSpec(schedule=ScheduleSpec(["Saturday", "Sunday"], "06:00", "19:30", "UTC", 1))
    )
    default, fixed, back = profiles
    assert default.recurrence is None
    assert (fixed.minimum, fixed.maximum, fixed.default, fixed.rules) == (1, 1, 1, ())
    assert fixed.recurrence == autoscale.RecurrencePlan(("Saturday", "Sunday"), 6, 0, "UTC")
    assert json.loads(back.name) == {"name": "default", "for": "schedule"}  # the portal's naming
    assert back.recurrence == autoscale.RecurrencePlan(("Saturday", "Sunday"), 19, 30, "UTC")
    assert back.rules == default.rules
    assert autoscale.describe(profiles)[3] == "schedule: 1 instance from 06:00 UTC on Sat, Sun"


def test_a_max_beyond_the_familys_free_vcpus_is_warned_about_with_the_count_that_fits():
    # Standard_DS3_v2: 4 vCPUs, 20 % more held for upgrades. One instance runs (4 of the 32 used).
    assert rules.quota_warning("Standard_DS3_v2", 5, 1, used=4, limit=32) is None  # 24 - 4 = 20 more, 28 free
    message = rules.quota_warning("Standard_DS3_v2", 8, 1, used=4, limit=32)
    assert "needs 35 more vCPUs of the standardDSv2Family quota" in message and "28 of 32 free" in message
    assert "scale-outs past 6 instances will fail (OutOfQuota)" in message
    # The sizes the SKU list exempts from the 20 % reservation: 24 x 2 = 48 exactly fits 48 free.
    assert rules.quota_warning("Standard_NC24ads_A100_v4", 2, 0, used=0, limit=48) is None
    assert rules.quota_warning("Standard_DS3_v2", 50, 1, used=4, limit=-1) is None  # -1: no limit
    assert rules.quota_warning("Standard_Unknown", 50, 1, used=4, limit=8) is None
