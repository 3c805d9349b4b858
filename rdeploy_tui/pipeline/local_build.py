"""The build step's way forward when ACR Tasks is not allowed (TasksOperationsNotAllowed: free-trial subscriptions).

When a Docker engine answers on this machine: sign docker in to the workspace registry with an ACR refresh token
(azure/acr_login.py, as `az acr login` does), `docker build` the rendered docker-context, `docker push` it, and the
deploy goes on with that image. Docker's output goes to the build log as ACR's does. When no engine answers, or a
step fails, the error says what happened and the ways forward (upgrade the subscription, or build elsewhere and
deploy with `--image`).

The base image comes straight from Docker Hub here (the Dockerfile's `ARG BASE` default): the copy in the workspace
registry exists for ACR Tasks agents, which pull anonymously from shared addresses and meet Docker Hub's rate limit;
this machine's engine pulls with its own Docker Hub identity and cache.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.local.plumber import LocalRunError

if TYPE_CHECKING:
    from rdeploy_tui.azure.acr_login import RegistryLogin
    from rdeploy_tui.azure.workspace import Workspace


def build_elsewhere_hint(image: str) -> str:
    return (
        f"build elsewhere (`docker build -t {image} docker-context`, then `az acr login -n {image.split('.')[0]}` and "
        f"`docker push {image}`), then deploy it with `rdeploy-tui deploy --image {image}`"
    )


def without_tasks_or_engine(exc: RdeployError, image: str) -> RdeployError:
    """ACR Tasks refused and no Docker engine answers here: the two ways forward."""
    return RdeployError(
        exc.what,
        "No Docker engine answers on this machine to build it instead. Upgrade the subscription to pay-as-you-go "
        f"(ACR Tasks then builds), or {build_elsewhere_hint(image)}.",
        details=exc.details,
        code=exc.code,
    )


def build_and_push(
    ws: Workspace,
    context: dict[str, bytes],
    image: str,
    *,
    on_lines: Callable[[list[str]], None],
    on_progress: Callable[[str], None],
    cancel: threading.Event,
    docker: str = "docker",
    login: RegistryLogin | None = None,
) -> str:
    """docker login + build + push of `context` as `image` (login_server/repository:tag); returns the image.
    `login`: an azure.acr_login.RegistryLogin got already (else it is got here).
    Raises RdeployError: RegistryUnreachable/RegistryLoginRefused (the token exchange), RegistryLoginFailed,
    BuildFailed, PushDenied, PushFailed, Cancelled."""
    from rdeploy_tui.azure.acr_login import registry_login
    from rdeploy_tui.local import docker as engine

    server = image.split("/", 1)[0]
    on_progress("ACR Tasks is not allowed in this subscription: building with the Docker engine on this machine")
    on_progress(f"signing docker in to {server}")
    login = login or registry_login(ws)
    try:
        engine.registry_login(
            login.login_server, login.username, login.password, on_lines=on_lines, docker=docker, cancel=cancel
        )
        with tempfile.TemporaryDirectory(prefix="rdeploy-docker-context-") as folder:
            for name, data in context.items():
                path = Path(folder) / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            on_progress(f"docker build -t {image}")
            engine.build_for_registry(Path(folder), image, on_lines=on_lines, docker=docker, cancel=cancel)
        on_progress(f"docker push {image}")
        engine.push(image, on_lines=on_lines, docker=docker, cancel=cancel)
    except LocalRunError as exc:
        raise _explained(exc, image) from None
    return image


def _explained(exc: LocalRunError, image: str) -> RdeployError:
    server, registry = image.split("/", 1)[0], image.split(".", 1)[0]
    details = exc.details
    if exc.code == "Cancelled":
        return RdeployError("The local image build was cancelled.", None, code="Cancelled")
    if exc.code == "login_failed":
        return RdeployError(
            f"docker login to {server} failed, although the registry gave a token.",
            "Read docker's message below (a credential helper or a proxy may be in the way); "
            f"try `az acr login -n {registry}`, "
            f"or {build_elsewhere_hint(image)}.",
            details=details,
            code="RegistryLoginFailed",
        )
    if exc.code == "build_failed":
        return RdeployError(
            f"The local docker build of {image} failed.",
            "Read the build log: a failed R package install or a Dockerfile error is named there. Fix the package list "
            "or the Dockerfile and deploy again.",
            details=details,
            code="BuildFailed",
        )
    if exc.code == "push_failed":
        text = (details or "").lower()
        if "denied" in text or "unauthorized" in text:
            return RdeployError(
                f"The registry {server} refused the push of {image}.",
                f"You need the AcrPush role on {registry} (`az role assignment create --role AcrPush --assignee <you> "
                f"--scope <the registry's id>`, `az acr show -n {registry} --query id`), then deploy again.",
                details=details,
                code="PushDenied",
            )
        return RdeployError(
            f"docker push of {image} failed.",
            "Read docker's message below, then deploy again.",
            details=details,
            code="PushFailed",
        )
    return RdeployError(
        f"The local Docker build could not run: {exc.what}.",
        f"Check the Docker installation (`docker info`), or {build_elsewhere_hint(image)}.",
        details=details,
        code="LocalDockerFailed",
    )
