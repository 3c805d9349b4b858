"""Fixtures for tests that run a real Rscript with a real plumber API (marked @pytest.mark.r; the
root conftest skips them with a printed reason when R is missing, and fails them when CI=true).

After every test no process started by the test may be left alive.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest


def _children(pid: int) -> list[tuple[int, str]]:
    """Live (non-zombie) processes whose parent is pid, with their command lines."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append((int(stat.parent.name), cmd))
    return found


@pytest.fixture(autouse=True)
def no_process_left_behind():
    # Processes alive before the test (e.g. the session's shared sandbox hosting deployments for other test
    # folders) are not this test's.
    before = set(_children(os.getpid()))
    yield
    deadline = time.monotonic() + 2.0
    left = [p for p in _children(os.getpid()) if p not in before]
    while left and time.monotonic() < deadline:  # a process just stopped may take a moment to be reaped
        time.sleep(0.05)
        left = [p for p in _children(os.getpid()) if p not in before]
    assert not left, f"processes left behind: {left}"
