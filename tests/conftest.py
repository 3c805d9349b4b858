"""Shared test plumbing. Area fixtures live in tests/<area>/conftest.py; blocks below are marked by owner."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# --- lead: tests that need a real R -------------------------------------------------------------
def _r_missing_reason() -> str | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return "Rscript is not installed (apt-get install r-base-core r-cran-plumber r-cran-jsonlite)"
    probe = subprocess.run(
        [rscript, "-e", "invisible(loadNamespace('plumber')); invisible(loadNamespace('jsonlite'))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if probe.returncode != 0:
        return "R packages plumber/jsonlite are missing (apt-get install r-cran-plumber r-cran-jsonlite)"
    return None


_R_REASON: list[str | None] = []


def r_missing_reason() -> str | None:
    if not _R_REASON:
        _R_REASON.append(_r_missing_reason())
    return _R_REASON[0]


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("r") is None:
        return
    reason = r_missing_reason()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"R tests must run in CI: {reason}")
    # Outside CI a skip is allowed, but it must say why where people look.
    print(f"\nSKIP {item.nodeid}: {reason}")
    pytest.skip(reason)


@pytest.fixture
def rdeploy_home(tmp_path, monkeypatch):
    """Keep state, logs and sandbox files of a test inside its own temp folder."""
    home = tmp_path / "rdeploy-home"
    monkeypatch.setenv("RDEPLOY_HOME", str(home))
    return home


# --- sandbox (core engineer): one HTTPS sandbox for the whole session -------------------------------
# `sandbox` gives every test the shared, running rdeploy_tui.sandbox.Sandbox with its faults cleared;
# REQUESTS_CA_BUNDLE points at its CA for the session (the bundle also holds the public roots).
SANDBOX_TIME_SCALE = 0.003  # = sandbox.durations.TEST_TIME_SCALE: a first deploy takes ~2 s (plus R's own start-up)


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory):
    from rdeploy_tui.sandbox import Sandbox

    server = Sandbox(tmp_path_factory.mktemp("sandbox") / "state", time_scale=SANDBOX_TIME_SCALE)
    server.start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_bundle))
        yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server):
    sandbox_server.faults.clear()
    yield sandbox_server
    sandbox_server.faults.clear()


@pytest.fixture
def sandbox_settings(sandbox):
    """ClientSettings: base_url, ca_bundle, cloud_metadata, credential_scopes, ml_client_kwargs(), mgmt_kwargs()."""
    return sandbox.client_settings()


# --- end sandbox ------------------------------------------------------------------------------------
