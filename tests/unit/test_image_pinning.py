"""A new spec pins the base image's version tag and a dated package snapshot; `init --refresh` moves both forward on
purpose; validate warns about moving tags and base images it does not know (issue 13.2)."""

from __future__ import annotations

import datetime

import yaml
from test_cli_foundation import cli, no_traceback

from rdeploy_tui.spec import base_images, rules
from rdeploy_tui.spec.deploy_spec import DeploySpec


def test_the_catalogue_pins_moving_tags_and_dates_the_binary_repository():
    assert base_images.pinned("rstudio/plumber:latest") == "rstudio/plumber:v1.3.0"
    assert base_images.pinned("rocker/r-ver:4.4") == "rocker/r-ver:4.4.3"
    assert base_images.pinned("rocker/r-ver:4.4.1") == "rocker/r-ver:4.4.1"
    assert base_images.newest("rocker/r-ver:4.0.0") == "rocker/r-ver:4.6.1"
    r_ver = base_images.lookup("rocker/r-ver:4.2.2")
    assert (r_ver.distro, r_ver.plumber, r_ver.binary) == ("jammy", None, True)
    assert r_ver.repo_url == "https://p3m.dev/cran/__linux__/jammy/2023-03-14"  # rocker-versioned2 history.tsv
    assert r_ver.snapshot_url("2024-01-02") == "https://p3m.dev/cran/__linux__/jammy/2024-01-02"
    assert (
        base_images.lookup("r-base:latest").binary is False
        and base_images.lookup("docker.io/library/r-base") is not None
    )
    assert base_images.snapshot_today(datetime.date(2026, 11, 26)) == "2026-11-25"


def test_validate_warns_about_moving_and_unknown_base_images_and_refuses_bad_dates():
    spec = DeploySpec()
    spec.image.base = "rstudio/plumber:latest"
    [moving] = [p for p in rules.validate(spec) if p.field == "image.base"]
    assert (
        moving.level == "warning" and "rstudio/plumber:v1.3.0" in moving.message and "init --refresh" in moving.message
    )
    spec.image.base = "rocker/r-ver:9.9.9"
    [unknown] = [p for p in rules.validate(spec) if p.field == "image.base"]
    assert unknown.level == "warning" and "not in rdeploy-tui's table" in unknown.message
    spec.image.base = "myacr.azurecr.io/team/r:1"
    assert not [p for p in rules.validate(spec) if p.field == "image.base"]
    spec.image.package_snapshot = "last tuesday"
    assert rules.errors([p for p in rules.validate(spec) if p.field == "image.package_snapshot"])


def test_init_pins_and_refresh_moves_forward(tmp_path):
    assert cli("init", "--out", "d", cwd=tmp_path).returncode == 0
    image = yaml.safe_load((tmp_path / "rdeploy.yaml").read_text())["image"]
    assert image["base"] == "rstudio/plumber:v1.3.0" and base_images.is_snapshot_date(image["package_snapshot"])
    spec_file = tmp_path / "rdeploy.yaml"
    spec_file.write_text(
        spec_file.read_text()
        .replace("rstudio/plumber:v1.3.0", "rocker/r-ver:4.4.1")
        .replace(image["package_snapshot"], "2025-01-02")
    )
    tag_before = cli("init", "--out", "d", "--force", cwd=tmp_path).stdout.splitlines()[-1]
    result = cli("init", "--out", "d", "--refresh", "--force", cwd=tmp_path)
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert "image.base: rocker/r-ver:4.4.1 -> rocker/r-ver:4.6.1" in result.stdout
    assert "image.package_snapshot: 2025-01-02 -> " in result.stdout
    refreshed = yaml.safe_load(spec_file.read_text())["image"]
    assert refreshed["base"] == "rocker/r-ver:4.6.1" and refreshed["package_snapshot"] != "2025-01-02"
    assert result.stdout.splitlines()[-1] != tag_before  # "image: ...:<auto tag>" moved with them
    again = cli("init", "--out", "d", "--refresh", cwd=tmp_path)
    assert again.returncode == 0 and "nothing to move" in again.stdout
