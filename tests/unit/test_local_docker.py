"""Runner choice without R or a Docker engine: engine detection with fake `docker` executables, the
`docker run` command line, and the CLI's answers when R or the engine is missing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rdeploy_tui.local.docker import docker_engine_available, run_container
from rdeploy_tui.local.plumber import R_INSTALL_COMMAND

FAKE_DOCKER = """#!/bin/sh
echo "$@" >> "$FAKE_DOCKER_LOG"
case "$1" in
  info) case "$FAKE_DOCKER_MODE" in
          up) echo 27.3.1 ;;
          hang) sleep 30 ;;
          *) echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2; exit 1 ;;
        esac ;;
  run) exec sleep 30 ;;
esac
"""


@pytest.fixture
def fake_docker(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    log = tmp_path / "docker.log"
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return docker, log


def test_engine_detection(fake_docker, monkeypatch):
    docker, log = fake_docker
    monkeypatch.setenv("FAKE_DOCKER_MODE", "up")
    assert docker_engine_available() is True
    monkeypatch.setenv("FAKE_DOCKER_MODE", "down")
    assert docker_engine_available() is False
    monkeypatch.setenv("FAKE_DOCKER_MODE", "hang")
    t0 = time.monotonic()
    assert docker_engine_available(timeout=0.5) is False
    assert time.monotonic() - t0 < 5
    assert docker_engine_available(docker=str(docker.parent / "missing")) is False
    assert log.read_text().splitlines()[0] == "info --format {{.ServerVersion}}"


def test_run_container_command_line_and_cleanup(fake_docker, tmp_path):
    docker, log = fake_docker
    app, model = tmp_path / "src", tmp_path / "model"
    app.mkdir()
    model.mkdir()
    proc = run_container(
        "rdeploy-local/r-forecast:latest",
        app,
        model,
        container_port=8000,
        model_subdir="forecast-model/3",
        port=18555,
        docker=str(docker),
    )
    try:
        assert proc.url == "http://127.0.0.1:18555"
        deadline = time.monotonic() + 5
        while not (log.exists() and "run" in log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        proc.stop()
    run_line, rm_line = log.read_text().splitlines()
    name = run_line.split("--name ")[1].split()[0]
    assert name.startswith("rdeploy-local-")
    assert "-p 127.0.0.1:18555:8000" in run_line  # published on loopback only
    assert f"-v {app}:/var/azureml-app:ro" in run_line
    assert f"-v {model}:/var/azureml-models/forecast-model/3:ro" in run_line
    for env in (
        "AML_APP_ROOT=/var/azureml-app",
        "AZUREML_ENTRY_SCRIPT=plumber.R",
        "AZUREML_MODEL_DIR=/var/azureml-models/forecast-model/3",
    ):
        assert f"-e {env}" in run_line
    assert run_line.endswith("rdeploy-local/r-forecast:latest")
    assert rm_line == f"rm -f {name}"
    assert proc.returncode is not None


def cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", "init", "--out", "deploy"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=True,
    )
    return subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", "local", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_cli_without_r_names_the_install_command(tmp_path, fake_docker):
    done = cli(tmp_path, FAKE_DOCKER_MODE="down", RDEPLOY_RSCRIPT="")
    assert done.returncode == 1
    assert "ok    runner: Rscript on this machine (no Docker engine answered)" in done.stdout
    assert "FAIL  R: R is not installed here (no Rscript on PATH)" in done.stdout
    assert f"next: install R and plumber: {R_INSTALL_COMMAND}" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_cli_docker_runner_without_engine(tmp_path, fake_docker):
    done = cli(tmp_path, "--runner", "docker", "--json", FAKE_DOCKER_MODE="down")
    assert done.returncode == 1
    assert '"message": "no Docker engine answers `docker info`"' in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_cli_usage_errors(tmp_path):
    for args in (["--runner", "podman"], ["--bogus"]):
        done = cli(tmp_path, *args)
        assert done.returncode == 2, args
        assert "Traceback" not in done.stdout + done.stderr
    done = cli(tmp_path, "--spec", "missing.yaml")
    assert done.returncode == 1 and "file not found" in done.stderr
