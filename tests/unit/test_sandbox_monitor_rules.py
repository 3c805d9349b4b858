"""The sandbox's Azure Monitor rules without sockets: how the autoscale engine decides (Microsoft's "Understand
autoscale settings" and "Autoscale flapping"), which profile is active, how $filter and timespans read, and how the
sandbox's scaled time maps onto Azure's."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from rdeploy_tui.sandbox import autoscale as engine
from rdeploy_tui.sandbox.errors import AzureError
from rdeploy_tui.sandbox.metrics import Zoom, parse_filter, timespan
from rdeploy_tui.spec.azure_metrics import DEPLOYMENT_TYPE, ENDPOINT_TYPE, metric

TARGET = (
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w"
    "/onlineEndpoints/e/deployments/blue"
)


def _rule(direction: str, operator: str, threshold: float, value: str = "1", metric_name="CpuUtilizationPercentage"):
    return {
        "metricTrigger": {
            "metricName": metric_name,
            "metricResourceUri": TARGET,
            "timeGrain": "PT1M",
            "statistic": "Average",
            "timeWindow": "PT5M",
            "timeAggregation": "Average",
            "operator": operator,
            "threshold": threshold,
        },
        "scaleAction": {"direction": direction, "type": "ChangeCount", "value": value, "cooldown": "PT5M"},
    }


def _profile(minimum=1, maximum=5, default=1, rules=None):
    return {
        "name": "default",
        "capacity": {"minimum": str(minimum), "maximum": str(maximum), "default": str(default)},
        "rules": rules
        if rules is not None
        else [_rule("Increase", "GreaterThan", 50), _rule("Decrease", "LessThan", 20)],
    }


def _values(by_operator: dict[str, float | None]):
    return lambda trigger: by_operator[trigger["operator"]]


def test_a_scale_out_rule_that_holds_adds_its_instances_up_to_the_maximum():
    new, why, rule, _ = engine.decide(_profile(), 2, _values({"GreaterThan": 80.0, "LessThan": 80.0}), TARGET)
    assert new == 3 and rule["scaleAction"]["direction"] == "Increase" and "80.0 GreaterThan 50" in why
    big = _profile(rules=[_rule("Increase", "GreaterThan", 50, value="10")])
    assert engine.decide(big, 2, lambda t: 80.0, TARGET)[0] == 5


def test_the_largest_scale_out_wins_when_several_hold():
    profile = _profile(rules=[_rule("Increase", "GreaterThan", 50, "1"), _rule("Increase", "GreaterThan", 40, "3")])
    assert engine.decide(profile, 1, lambda t: 90.0, TARGET)[0] == 4


def test_scale_in_needs_every_scale_in_rule_to_hold():
    latency_in = _rule("Decrease", "LessThanOrEqual", 100, metric_name="RequestLatency")
    profile = _profile(rules=[_rule("Increase", "GreaterThan", 50), _rule("Decrease", "LessThan", 20), latency_in])
    values = {"GreaterThan": 10.0, "LessThan": 10.0, "LessThanOrEqual": 500.0}
    assert engine.decide(profile, 3, _values(values), TARGET)[0] == 3
    values["LessThanOrEqual"] = 50.0
    assert engine.decide(profile, 3, _values(values), TARGET)[0] == 2


def test_counts_outside_the_profile_are_moved_inside_first():
    assert engine.decide(_profile(minimum=2), 1, lambda t: 0.0, TARGET)[:2] == (
        2,
        "the instance count 1 is below the profile's minimum 2",
    )
    assert engine.decide(_profile(maximum=3), 5, lambda t: 99.0, TARGET)[0] == 3


def test_without_any_metric_the_default_count_is_restored():
    assert engine.decide(_profile(default=3), 1, lambda t: None, TARGET)[0] == 3
    assert engine.decide(_profile(default=3), 4, lambda t: None, TARGET)[0] == 4  # never scales in for lack of data


def test_microsofts_flapping_example_skips_the_scale_in():
    # "Autoscale flapping": out above 50 %, in below 30 %: 2 instances at 28 % would put 56 % on 1, above 50 %.
    profile = _profile(rules=[_rule("Increase", "GreaterThan", 50), _rule("Decrease", "LessThan", 30)])
    new, _, _, note = engine.decide(profile, 2, lambda t: 28.0, TARGET)
    assert (new, note) == (2, "flapping")
    assert engine.decide(profile, 2, lambda t: 24.0, TARGET)[0] == 1  # 48 % on one: below 50 %


def test_a_big_scale_in_is_cut_short_to_a_count_that_does_not_flap():
    # The flapping page's second example: scale in by 10 from 30 would overload; autoscale scales in by less.
    profile = _profile(
        minimum=1, maximum=40, rules=[_rule("Increase", "GreaterThan", 70), _rule("Decrease", "LessThan", 60, "10")]
    )
    new, _, _, note = engine.decide(profile, 30, lambda t: 59.0, TARGET)
    assert new == 26  # 59 % x 30/26 = 68 %, the lowest count that stays under 70 %
    assert note.startswith("Scale down will occur with updated instance count to avoid flapping")


def test_at_the_minimum_there_is_nothing_to_scale_in():
    assert engine.decide(_profile(), 1, lambda t: 0.0, TARGET) == (
        1,
        "the instance count is at the profile's minimum 1",
        None,
        None,
    )


def test_the_recurrence_profile_that_started_last_is_active():
    weekend = {
        "name": "weekend",
        "capacity": {"minimum": "1", "maximum": "1", "default": "1"},
        "rules": [],
        "recurrence": {
            "frequency": "Week",
            "schedule": {"timeZone": "UTC", "days": ["Saturday"], "hours": [6], "minutes": [0]},
        },
    }
    back = {**weekend, "name": '{"name":"default","for":"weekend"}'}
    back["recurrence"] = {
        "frequency": "Week",
        "schedule": {"timeZone": "UTC", "days": ["Saturday"], "hours": [19], "minutes": [0]},
    }
    profiles = [_profile(), weekend, back]
    saturday_noon = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)  # a Saturday
    assert engine.active_profile(profiles, saturday_noon)["name"] == "weekend"
    assert engine.active_profile(profiles, saturday_noon.replace(hour=20))["name"] == back["name"]
    assert engine.active_profile([_profile()], saturday_noon)["name"] == "default"
    # Windows zone names: 06:00 W. Europe is 05:00 UTC in December.
    weekend["recurrence"]["schedule"]["timeZone"] = "W. Europe Standard Time"
    assert engine.active_profile([_profile(), weekend], saturday_noon.replace(hour=5, minute=30))["name"] == "weekend"


def test_a_filter_joins_values_of_one_dimension_with_or_and_dimensions_with_and():
    fact = metric(ENDPOINT_TYPE, "RequestsPerMinute")
    filters, split = parse_filter("deployment eq 'blue' or deployment eq 'Green' and statusCodeClass eq '*'", fact)
    assert filters == {"deployment": ({"blue", "green"}, set()), "statusCodeClass": (None, set())}
    assert split == ["deployment", "statusCodeClass"]
    with pytest.raises(AzureError) as refused:
        parse_filter("instanceId eq '*'", fact)
    assert refused.value.status == 400 and "no dimension 'instanceId'" in refused.value.message
    with pytest.raises(AzureError):
        parse_filter("deployment = 'blue'", fact)
    assert parse_filter("instanceId eq '*'", metric(DEPLOYMENT_TYPE, "CpuUtilizationPercentage"))[1] == ["instanceId"]


def test_timespans_read_as_iso_8601_intervals():
    now = 1_800_000_000.0
    assert timespan(None, now) == (now - 3600, now)
    assert timespan("PT6H", now) == (now - 6 * 3600, now)
    start, end = timespan("2027-01-15T08:00:00Z/2027-01-15T09:30:00Z", now)
    assert end - start == 5400
    assert timespan("2027-01-15T08:00:00Z/PT30M", now)[1] - start == 1800
    with pytest.raises(AzureError):
        timespan("yesterday", now)


def test_scaled_time_keeps_now_and_stretches_the_past():
    zoom = Zoom(scale=0.05, now=1000.0)
    assert zoom.real(1000.0) == 1000.0
    assert zoom.real(1000.0 - 60) == pytest.approx(997.0)  # one Azure minute ago: 3 real seconds ago
    assert zoom.azure(zoom.real(400.0)) == pytest.approx(400.0)
