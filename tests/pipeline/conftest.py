"""Pipeline tests: the real SDK clients, through rdeploy_tui.azure, against the shared sandbox."""

from __future__ import annotations

import itertools
import os
import threading
import uuid

import pytest

_counter = itertools.count()


def unique_name(prefix: str) -> str:
    """Endpoint names are unique per region and tests share one sandbox: each test gets its own."""
    return f"{prefix}-{os.getpid() % 1000}-{next(_counter)}-{uuid.uuid4().hex[:4]}"


@pytest.fixture
def session(sandbox, rdeploy_home, monkeypatch):
    """An AzureConnection on the shared sandbox, as --sandbox makes one (state, logs under this test's RDEPLOY_HOME)."""
    from sandbox_specs import connection_on

    with connection_on(sandbox) as s:
        yield s


@pytest.fixture
def make_spec(sandbox):
    """A default spec aimed at the sandbox's workspace, with an endpoint name no other test uses."""
    from sandbox_specs import spec_on_sandbox

    def make(prefix: str = "ep", workspace: str | None = None):
        return spec_on_sandbox(sandbox, unique_name(prefix)[:32].rstrip("-"), workspace)

    return make


@pytest.fixture
def cleanup(session):
    """Endpoints to delete after the test (the sandbox's core quota is shared by all tests)."""
    names: list[tuple[object, str]] = []
    yield names
    from rdeploy_tui.azure import Endpoints
    from rdeploy_tui.errors import RdeployError

    for ws, name in names:
        try:
            Endpoints(ws).delete(name)
        except RdeployError:
            pass


class Recorder:
    """An EventSink that keeps every event (called from several threads)."""

    def __init__(self) -> None:
        self.events: list = []
        self._lock = threading.Lock()
        self.seen = threading.Condition(self._lock)

    def __call__(self, event) -> None:
        with self.seen:
            self.events.append(event)
            self.seen.notify_all()

    def of(self, kind, step: str | None = None) -> list:
        return [e for e in self.events if isinstance(e, kind) and (step is None or getattr(e, "step", None) == step)]

    def wait_for(self, predicate, timeout: float = 60) -> bool:
        with self.seen:
            return self.seen.wait_for(lambda: any(predicate(e) for e in self.events), timeout)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
