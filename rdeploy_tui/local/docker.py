"""The docker variant of the local run: build the rendered docker-context and run the image with the
container's variables, published on a loopback port only.

Used instead of a plain Rscript when a Docker engine answers (`docker info` succeeds quickly). The
code folder and the model are bind-mounted read-only where Azure ML would mount them.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

from rdeploy_tui.local.plumber import LOOPBACK, LocalRunError, PlumberProcess, container_env, free_port

APP_ROOT = "/var/azureml-app"
MODEL_ROOT = "/var/azureml-models"  # Azure uses /var/azureml-app/azureml-models/NAME/VERSION; nesting
#                                     a mount inside the read-only app mount is not portable, so beside it.
_INFO_TIMEOUT = 5.0
_BUILD_TIMEOUT = 3600.0  # a first build pulls the base image and may compile packages


def docker_engine_available(docker: str | None = None, timeout: float = _INFO_TIMEOUT) -> bool:
    """True when a docker client exists and its engine answers `docker info` within timeout."""
    docker = docker or shutil.which("docker")
    if docker is None:
        return False
    try:
        done = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


def build_image(context_dir: Path, image: str, *, docker: str = "docker") -> str:
    """`docker build`; returns the build output, raises LocalRunError with its tail on failure."""
    try:
        done = subprocess.run(
            [docker, "build", "-t", image, str(context_dir)],
            capture_output=True, text=True, timeout=_BUILD_TIMEOUT, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LocalRunError(f"docker build of {image} took more than {_BUILD_TIMEOUT:g} s",
                            "build it yourself to watch it: docker build " + str(context_dir), code="build_failed") from exc
    except OSError as exc:
        raise LocalRunError(f"cannot run docker: {exc}", "check the docker installation", code="build_failed") from exc
    output = done.stdout + done.stderr
    if done.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-15:])
        raise LocalRunError(f"docker build of {image} failed:\n{tail}",
                            "fix the Dockerfile or the package list (image.r_packages) and run again",
                            details=output, code="build_failed")
    return output


def run_container(
    image: str,
    app_dir: Path,
    model_dir: Path,
    *,
    container_port: int,
    entry_script: str = "plumber.R",
    model_subdir: str = "model/1",
    port: int | None = None,
    docker: str = "docker",
) -> PlumberProcess:
    """`docker run` in the foreground (its output is the container's), published on 127.0.0.1:port."""
    port = port or free_port()
    name = f"rdeploy-local-{secrets.token_hex(4)}"
    model_mount = f"{MODEL_ROOT}/{model_subdir}"
    argv = [docker, "run", "--rm", "--name", name, "-p", f"{LOOPBACK}:{port}:{container_port}",
            "-v", f"{Path(app_dir).resolve()}:{APP_ROOT}:ro", "-v", f"{Path(model_dir).resolve()}:{model_mount}:ro"]
    for key, value in container_env(Path(APP_ROOT), Path(model_mount), entry_script).items():
        argv += ["-e", f"{key}={value}"]
    argv.append(image)
    # `docker run` passes SIGTERM on to the container; `rm -f` makes sure it is gone either way.
    return PlumberProcess(argv, dict(os.environ), f"http://{LOOPBACK}:{port}", cleanup=[docker, "rm", "-f", name])
