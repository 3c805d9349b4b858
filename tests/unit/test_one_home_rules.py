"""Rules with one home each: the traffic split Azure accepts (spec/traffic.py), what still bills (billing.py), and
the pace Azure asks for (azure/pace.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rdeploy_tui.azure.pace import Pace, iso_duration_s, retry_after_s
from rdeploy_tui.billing import billing_deployments, idle_deployments, still_bills
from rdeploy_tui.spec.traffic import traffic_problem


@pytest.mark.parametrize(
    ("split", "problem"),
    [
        ({"blue": 100}, None),
        ({"blue": 90, "green": 10}, None),
        ({"blue": 0, "green": 0}, None),  # no live traffic: a state Azure keeps (see spec/traffic.py)
        ({}, None),
        ({"blue": 60}, "the shares add up to 60 %, not 100 % (or all 0 %)"),
        ({"blue": 90, "green": 20}, "the shares add up to 110 %, not 100 % (or all 0 %)"),
        ({"blue": 101, "green": -1}, "each share must be a whole number from 0 to 100"),
    ],
)
def test_the_traffic_rule(split, problem):
    assert traffic_problem(split) == problem


def test_the_wizard_the_cli_and_the_azure_layer_ask_the_same_rule():
    import inspect

    from rdeploy_tui.azure import online
    from rdeploy_tui.commands import endpoints_cmd
    from rdeploy_tui.ui.screens import manage_dialogs

    for module in (online, endpoints_cmd, manage_dialogs):
        assert "traffic_problem" in inspect.getsource(module), module.__name__


def _endpoint(traffic, *names):
    return SimpleNamespace(traffic=traffic, deployments=tuple(SimpleNamespace(name=n) for n in names))


def test_what_still_bills():
    assert not still_bills(_endpoint({}))  # no deployment: no compute bill
    failed_at_zero = _endpoint({"blue": 100, "green": 0}, "blue", "green")
    assert still_bills(failed_at_zero) and [d.name for d in billing_deployments(failed_at_zero)] == ["blue", "green"]
    assert idle_deployments(failed_at_zero) == ["green"]  # bills, serves nothing


def _response(status, headers, method="PUT", url="https://arm/subscriptions/s/x/workspaces/w/onlineEndpoints/ep?a=1"):
    return SimpleNamespace(
        http_response=SimpleNamespace(status_code=status, headers=headers),
        http_request=SimpleNamespace(method=method, url=url),
    )


def test_the_pace_is_azures_own():
    pace = Pace()
    assert pace.poll_interval(5.0) == 5.0 and pace.operation_timeout("/onlineEndpoints/ep") is None  # documented
    pace.observe(
        _response(
            201,
            {"Azure-AsyncOperation": "https://op", "retry-after-ms": "250", "x-ms-async-operation-timeout": "PT30M"},
        )
    )
    assert pace.poll_interval(5.0) == 0.25 and pace.poll_interval(0.1) == 0.1  # never slower than documented
    assert pace.operation_timeout("/workspaces/w/onlineEndpoints/ep") == 1800.0
    pace.observe(_response(429, {"Retry-After": "60"}))  # throttling is the retry policy's business
    assert pace.poll_interval(5.0) == 0.25
    pace.observe(_response(202, {"Location": "https://op"}, method="DELETE"))  # a new operation, no timeout said
    assert pace.operation_timeout("/onlineEndpoints/ep") is None


def test_the_headers_read_as_azure_core_reads_them():
    assert retry_after_s({"Retry-After": "3"}) == 3.0
    assert retry_after_s({"retry-after-ms": "1500", "Retry-After": "3"}) == 1.5
    assert retry_after_s({"x-ms-retry-after-ms": "20"}) == 0.02
    assert retry_after_s({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert iso_duration_s("PT30M") == 1800.0 and iso_duration_s("PT5.4S") == 5.4 and iso_duration_s("soon") is None


def test_a_new_azure_failure_is_one_more_row_in_the_table(monkeypatch):
    from azure.core.exceptions import HttpResponseError

    from rdeploy_tui.azure import errors

    failure = HttpResponseError(message="(DnsZoneLimit) The private DNS zone limit was reached.")
    before = errors.explain(failure, "creating endpoint ep")
    assert before.what.startswith("Azure refused the request while creating endpoint ep")  # the generic row
    row = errors.KnownFailure(
        "DnsZoneLimit",
        lambda f: "private dns zone limit" in f.lowered,
        what=lambda f: "The subscription has reached its private DNS zone limit" + f.where + ".",
        next_step=lambda f: "Delete unused private DNS zones, then run again.",
    )
    monkeypatch.setattr(errors, "KNOWN_FAILURES", (row, *errors.KNOWN_FAILURES))
    after = errors.explain(failure, "creating endpoint ep")
    assert (after.what, after.next_step, after.code) == (
        "The subscription has reached its private DNS zone limit while creating endpoint ep.",
        "Delete unused private DNS zones, then run again.",
        "DnsZoneLimit",
    )
    assert after.details == "The private DNS zone limit was reached."
