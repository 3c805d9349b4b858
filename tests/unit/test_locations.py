"""Every place the app writes is named in rdeploy_tui/locations.py, and RDEPLOY_HOME moves all of them."""

from __future__ import annotations

import re
from pathlib import Path

from rdeploy_tui import locations

PACKAGE = Path(locations.__file__).parent


def test_rdeploy_home_moves_state_logs_cache_and_config(tmp_path, monkeypatch):
    monkeypatch.setenv("RDEPLOY_HOME", str(tmp_path))
    monkeypatch.delenv("RDEPLOY_CACHE_DIR", raising=False)
    paths = [
        locations.crash_log(),
        locations.sdk_log(),
        locations.run_log("deploy", "ep"),
        locations.deployments_dir(),
        locations.rollouts_dir(),
        locations.locks_dir(),
        locations.tls_dir(),
        locations.sandbox_dir(),
        locations.last_run_spec(),
        locations.keymap_file(),
        locations.prices_cache(),
        locations.model_cache("sub", "rg", "ws", "model", "1"),
    ]
    assert all(p.is_relative_to(tmp_path) for p in paths), [p for p in paths if not p.is_relative_to(tmp_path)]
    assert locations.prices_cache().is_relative_to(tmp_path / "cache")


def test_the_cache_folder_can_move_on_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("RDEPLOY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RDEPLOY_CACHE_DIR", str(tmp_path / "cache"))
    assert locations.prices_cache() == tmp_path / "cache" / "prices.json"
    assert locations.crash_log().is_relative_to(tmp_path / "home")


def test_a_model_name_cannot_step_out_of_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RDEPLOY_CACHE_DIR", str(tmp_path))
    folder = locations.model_cache("sub", "rg", "ws", "../../etc", "..")
    assert folder.resolve().is_relative_to(tmp_path.resolve())
    assert ".." not in folder.parts


def test_run_logs_are_named_by_kind_time_and_endpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("RDEPLOY_HOME", str(tmp_path))
    log = locations.run_log("rollout", "my-ep", "-report.json")
    assert re.fullmatch(r"rollout-\d{8}-\d{6}-my-ep-report\.json", log.name)
    assert log.parent == tmp_path / "logs"


def test_no_other_module_picks_a_folder_of_its_own():
    """platformdirs and RDEPLOY_HOME are read in locations.py only: a new file goes there, next to the others."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "locations.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"^\s*(import|from) platformdirs", text, re.M) or re.search(r"environ\S*RDEPLOY_HOME", text):
            offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []
