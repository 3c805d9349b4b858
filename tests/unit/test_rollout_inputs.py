"""A rollout's inputs are checked before anything is created or moved: the requests file (missing, not JSON, not
a list of bodies, a device, a FIFO, huge, nested too deep, a number too long) and the thresholds, each a usage
error naming the file or the field. And the lease tag in the endpoint's tags is validated like any input."""

from __future__ import annotations

import os
import threading
import time

import pytest

from rdeploy_tui.bounded_read import REQUESTS_FILE
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.pipeline.endpoint_lease import PID_MAX, Holder, LeaseTagError, parse, unreadable_tag
from rdeploy_tui.pipeline.rollout_inputs import check_rollout_inputs
from rdeploy_tui.spec.deploy_spec import default_spec
from rdeploy_tui.spec.requests_file import MAX_BODIES


def _spec(requests_file: str | None):
    spec = default_spec()
    spec.rollout.requests_file = requests_file
    return spec


def _refused(spec, base_dir) -> RdeployError:
    with pytest.raises(RdeployError) as caught:
        check_rollout_inputs(spec, base_dir)
    assert caught.value.code == "Usage"
    return caught.value


def test_without_a_requests_file_the_sample_request_is_compared():
    assert check_rollout_inputs(_spec(None), None) == [default_spec().scoring.sample_request]


def test_a_list_of_bodies_one_body_and_a_bom_are_accepted(tmp_path):
    (tmp_path / "list.json").write_text('[{"forecast_horizon": [2]}, {"forecast_horizon": [7]}]')
    (tmp_path / "one.json").write_text('{"forecast_horizon": [3]}')
    (tmp_path / "bom.json").write_bytes(b'\xef\xbb\xbf[{"x": 1}]')
    assert check_rollout_inputs(_spec("list.json"), tmp_path) == [{"forecast_horizon": [2]}, {"forecast_horizon": [7]}]
    assert check_rollout_inputs(_spec("one.json"), tmp_path) == [{"forecast_horizon": [3]}]
    assert check_rollout_inputs(_spec(str(tmp_path / "bom.json")), None) == [{"x": 1}]


@pytest.mark.parametrize(
    "content, says",
    [
        (None, "it does not exist"),
        (b"{not json", "is not valid JSON (line 1, column 2): Expecting property name"),
        (b"[]", "its list is empty"),
        (b"[1, 2, 3]", "request 1: a request body must be a JSON object"),
        (b'"just a string"', "its body: a request body must be a JSON object"),
        (b'[{"x": NaN}]', "Out of range float values are not JSON compliant"),
        (b"[" * 50_000 + b"]" * 50_000, "is nested more than 64 levels deep"),
        (b'[{"x": ' + b"9" * 5000 + b"}]", "holds a number of 5,000 digits; at most 1,000 are read"),
        (b"\xff\xfe[]", "is not UTF-8 text"),
        (b"[" + b",".join([b'{"x": 1}'] * (MAX_BODIES + 1)) + b"]", f"at most {MAX_BODIES} are compared"),
    ],
    ids=["missing", "not-json", "empty", "scalars", "string", "nan", "deep", "long-number", "not-utf8", "too-many"],
)
def test_a_bad_requests_file_is_a_usage_error_naming_it(tmp_path, content, says):
    path = tmp_path / "requests.json"
    if content is not None:
        path.write_bytes(content)
    error = _refused(_spec("requests.json"), tmp_path)
    assert str(path) in error.what and says in error.what, error.what
    assert "--requests" in error.next_step


def test_a_huge_requests_file_is_not_read(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as fh:
        fh.truncate(REQUESTS_FILE.max_bytes + 1)  # sparse: nothing to read, and nothing is
    assert "at most" in _refused(_spec(str(path)), None).what


def test_a_device_is_refused_at_once():
    started = time.monotonic()
    error = _refused(_spec("/dev/zero"), None)
    assert "/dev/zero" in error.what and "not a regular file" in error.what
    assert time.monotonic() - started < 5  # never read (it would grow until MemoryError)


def test_a_fifo_never_hangs(tmp_path):
    fifo = tmp_path / "requests.json"
    os.mkfifo(fifo)
    done: list[RdeployError] = []
    checker = threading.Thread(target=lambda: done.append(_refused(_spec(str(fifo)), None)), daemon=True)
    checker.start()
    checker.join(30)
    assert done and "not a regular file" in done[0].what  # no writer ever opens it: a blocking open would hang here


def test_bad_thresholds_are_usage_errors_naming_the_field():
    spec = _spec(None)
    spec.rollout.steps = [10, 5, 100]
    spec.rollout.max_p50_ratio = 0.5
    error = _refused(spec, None)
    assert "rollout.steps" in error.what and "rollout.max_p50_ratio" in error.what


# ----- the lease tag ------------------------------------------------------------------------------------------
def _tag(**changes) -> str:
    now = time.time()
    fields = {"lease": "0f" * 16, "host": "build-agent-7", "pid": "4242", "since": now - 60, "renewed": now - 30}
    fields.update(changes)
    for key in ("since", "renewed"):
        if isinstance(fields[key], float):
            fields[key] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(fields[key]))
    return ";".join(f"{k}={v}" for k, v in fields.items())


def test_a_lease_as_rdeploy_tui_writes_it_reads_back():
    now = time.time()
    holder = Holder("ab" * 16, "ci-runner.example.net", 31337, now - 100, now - 10)
    again = parse(holder.tag())
    assert (again.lease, again.host, again.pid) == (holder.lease, holder.host, holder.pid)


@pytest.mark.parametrize(
    "value, says",
    [
        (_tag(pid="9" * 40), "its pid is not a process id"),
        (_tag(pid=str(PID_MAX + 1)), "its pid is not a process id"),
        (_tag(pid="-5"), "its pid is not a process id"),
        (_tag(since="yesterday"), "its since time is not a UTC time"),
        (_tag(renewed="2999-01-01T00:00:00Z"), "in the future"),
        (_tag(host="evil\x1b[2Jhost\x07"), "its host is not a host name"),
        (_tag(lease="not-a-lease"), "its lease is not 32 hexadecimal digits"),
        ("lease=abc", "it lacks"),
        ("garbage without fields", "it is not a list of name=value fields"),
    ],
    ids=[
        "huge-pid",
        "pid-over-max",
        "negative-pid",
        "bad-time",
        "future",
        "escape-in-host",
        "bad-lease",
        "few",
        "junk",
    ],
)
def test_a_lease_tag_not_written_by_rdeploy_tui_is_refused_naming_the_tag(value, says):
    with pytest.raises(LeaseTagError) as caught:
        parse(value)
    assert says in str(caught.value)
    error = unreadable_tag("ep", value, str(caught.value))
    assert error.code == "RolloutLockTag" and "rdeploy-rollout-lock" in error.what and "--take-lock" in error.next_step
    assert "\x1b" not in error.what and "\x07" not in error.what  # never printed raw to a terminal
    assert "Azure SDK" not in error.what
