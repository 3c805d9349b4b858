"""The docker variant of the local run: build the rendered docker-context and run the image with the
container's variables, published on a loopback port only.

Used instead of a plain Rscript when a Docker engine answers (`docker info` succeeds quickly). The
code folder and the model are bind-mounted read-only where Azure ML would mount them.

Also the deploy's way forward when ACR Tasks is not allowed: `docker login` (password on stdin), `docker build`
and `docker push` to the workspace registry, their output streamed line by line (pipeline/local_build.py).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
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
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


def build_image(context_dir: Path, image: str, *, docker: str = "docker") -> str:
    """`docker build`; returns the build output, raises LocalRunError with its tail on failure."""
    try:
        done = subprocess.run(
            [docker, "build", "-t", image, str(context_dir)],
            capture_output=True,
            text=True,
            timeout=_BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LocalRunError(
            f"docker build of {image} took more than {_BUILD_TIMEOUT:g} s",
            "build it yourself to watch it: docker build " + str(context_dir),
            code="build_failed",
        ) from exc
    except OSError as exc:
        raise LocalRunError(f"cannot run docker: {exc}", "check the docker installation", code="build_failed") from exc
    output = done.stdout + done.stderr
    if done.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-15:])
        raise LocalRunError(
            f"docker build of {image} failed:\n{tail}",
            "fix the Dockerfile or the package list (image.r_packages) and run again",
            details=output,
            code="build_failed",
        )
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
    argv = [
        docker,
        "run",
        "--rm",
        "--name",
        name,
        "-p",
        f"{LOOPBACK}:{port}:{container_port}",
        "-v",
        f"{Path(app_dir).resolve()}:{APP_ROOT}:ro",
        "-v",
        f"{Path(model_dir).resolve()}:{model_mount}:ro",
    ]
    for key, value in container_env(Path(APP_ROOT), Path(model_mount), entry_script).items():
        argv += ["-e", f"{key}={value}"]
    argv.append(image)
    # `docker run` passes SIGTERM on to the container; `rm -f` makes sure it is gone either way.
    return PlumberProcess(argv, dict(os.environ), f"http://{LOOPBACK}:{port}", cleanup=[docker, "rm", "-f", name])


# ----- build and push for a registry (the deploy's way forward without ACR Tasks) -----------------------------------


def run_streaming(
    argv: list[str],
    *,
    on_lines: Callable[[list[str]], None],
    cancel: threading.Event | None = None,
    stdin: str | None = None,
    timeout: float = _BUILD_TIMEOUT,
) -> tuple[int, list[str]]:
    """Run a docker command, handing its output (stdout and stderr, line by line) to `on_lines` as it comes.

    Returns (exit code, the last 200 lines). `stdin` is written to the process and closed (a password goes there,
    never on the command line). When `cancel` is set the command is stopped (the CLI ends the daemon's build or push
    with it) and LocalRunError(code="Cancelled") is raised; past `timeout` it is stopped too."""
    cancel = cancel or threading.Event()
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
        )
    except OSError as exc:
        raise LocalRunError(
            f"cannot run docker: {exc}", "check the docker installation", code="docker_missing"
        ) from exc
    tail: list[str] = []
    pending: list[str] = []
    lock = threading.Lock()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with lock:
                pending.append(line.rstrip("\r\n"))

    def flush() -> None:  # batched, as the pipeline's log events are (every ~100 ms, not one event per line)
        with lock:
            lines = pending[:]
            pending.clear()
        if lines:
            tail.extend(lines)
            del tail[:-200]
            on_lines(lines)

    reader = threading.Thread(target=read, name="rdeploy-docker-output", daemon=True)
    reader.start()
    if stdin is not None:
        assert process.stdin is not None
        try:
            process.stdin.write(stdin)
            process.stdin.close()
        except OSError:  # the command ended before reading it: its exit code and output say why
            pass
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        flush()
        if cancel.wait(0.1) or time.monotonic() > deadline:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            reader.join(timeout=5)
            flush()
            if cancel.is_set():
                raise LocalRunError(f"{' '.join(argv[:2])} was cancelled", None, code="Cancelled")
            raise LocalRunError(
                f"{' '.join(argv[:2])} took more than {timeout:g} s and was stopped",
                "run it yourself to watch it",
                details="\n".join(tail[-40:]),
                code="docker_timeout",
            )
    reader.join(timeout=5)
    flush()
    return process.returncode, tail


def registry_login(
    server: str,
    username: str,
    password: str,
    *,
    on_lines: Callable[[list[str]], None],
    docker: str = "docker",
    cancel: threading.Event | None = None,
) -> None:
    """`docker login SERVER --username U --password-stdin` (what `az acr login` runs). Raises LocalRunError."""
    code, tail = run_streaming(
        [docker, "login", server, "--username", username, "--password-stdin"],
        on_lines=on_lines,
        cancel=cancel,
        stdin=password,
        timeout=120,
    )
    if code != 0:
        raise LocalRunError(
            f"docker login {server} failed (exit code {code})", None, details="\n".join(tail[-20:]), code="login_failed"
        )


def build_for_registry(
    context_dir: Path,
    image: str,
    *,
    on_lines: Callable[[list[str]], None],
    build_args: dict[str, str] | None = None,
    docker: str = "docker",
    cancel: threading.Event | None = None,
) -> None:
    """`docker build -t IMAGE [--build-arg K=V ...] DIR`, streamed. Raises LocalRunError(code="build_failed")."""
    argv = [docker, "build", "-t", image]
    for key, value in (build_args or {}).items():
        argv += ["--build-arg", f"{key}={value}"]
    code, tail = run_streaming([*argv, str(context_dir)], on_lines=on_lines, cancel=cancel)
    if code != 0:
        raise LocalRunError(
            f"docker build of {image} failed (exit code {code})",
            None,
            details="\n".join(tail[-40:]),
            code="build_failed",
        )


def push(
    image: str, *, on_lines: Callable[[list[str]], None], docker: str = "docker", cancel: threading.Event | None = None
) -> None:
    """`docker push IMAGE`, streamed. Raises LocalRunError(code="push_failed") with docker's last lines."""
    code, tail = run_streaming([docker, "push", image], on_lines=on_lines, cancel=cancel)
    if code != 0:
        raise LocalRunError(
            f"docker push of {image} failed (exit code {code})", None, details="\n".join(tail[-20:]), code="push_failed"
        )
