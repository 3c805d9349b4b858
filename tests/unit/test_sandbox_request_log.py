"""The sandbox's scoring request log: the last N requests, newest first when read back, whole records."""

from __future__ import annotations

import pytest

from rdeploy_tui.sandbox.metrics import RequestLog, RequestRecord


def record(n: int) -> RequestRecord:
    return RequestRecord(
        float(n), "/subscriptions/s/onlineendpoints/ep", "blue" if n % 2 else "green", 200 + n, str(n), n / 2, n * 10
    )


@pytest.mark.parametrize("added", [0, 1, 4, 5, 6, 13])
def test_keeps_the_last_requests_and_reads_them_back_newest_first(added):
    log = RequestLog(5)
    for n in range(added):
        log.append(record(n))
    kept = list(range(added))[-5:]
    assert len(log) == len(kept)
    assert list(reversed(log)) == [record(n) for n in reversed(kept)]  # every field as appended


def test_a_scan_back_stops_where_the_reader_stops():
    log = RequestLog(1000)
    for n in range(2500):
        log.append(record(n))
    recent = []
    for r in reversed(log):
        if r.at < 2490:
            break
        recent.append(r.at)
    assert recent == [float(n) for n in range(2499, 2489, -1)]
