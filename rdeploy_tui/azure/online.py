"""Managed online endpoints and deployments of one workspace: create-or-update, wait with live
container logs, traffic, keys, logs, delete.

Long operations take `on_progress(text)`, `on_logs(container, lines)` and a `cancel` Event. Azure
cannot cancel an endpoint or deployment operation: on cancel we stop waiting and say what goes on
in Azure (and bills). The SDK mutates a deployment object it is given (code and environment
become ARM ids), so every attempt builds a fresh one (DeploymentRequest.build()).
"""

from __future__ import annotations

import builtins
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from rdeploy_tui.azure import deadlines
from rdeploy_tui.azure.errors import azure_call, explain
from rdeploy_tui.azure.workspace import Workspace
from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:  # azure.ai.ml is imported by the client factory, on the first workspace call
    from azure.ai.ml.entities import ManagedOnlineDeployment, OnlineDeployment, OnlineEndpoint
    from azure.ai.ml.operations import OnlineDeploymentOperations, OnlineEndpointOperations
    from azure.core.polling import LROPoller

LOG_CONTAINERS = ("inference-server", "storage-initializer")
# A deployed deployment names its environment by ARM id; the image is in that environment version.
ENVIRONMENT_ID = re.compile(r"/environments/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$", re.I)
ENVIRONMENT_IMAGES: dict[str, str] = {}  # environment id -> image (environment versions never change)
ProgressSink = Callable[[str], None]
LogsSink = Callable[[str, list[str]], None]
_TERMINAL = {"succeeded", "failed", "canceled", "cancelled"}
_Result = TypeVar("_Result")


class _Bound(TypedDict):
    """How long an operation may take and what to say past that (Endpoints._wait_poller's keywords)."""

    limit_s: float
    still: Callable[[float], RdeployError]


@dataclass(frozen=True)
class DeploymentInfo:
    name: str
    state: str  # provisioning state: Creating, Updating, Succeeded, Failed, Deleting ...
    instance_type: str | None
    instance_count: int | None
    image: str | None
    model: str | None


@dataclass(frozen=True)
class EndpointInfo:
    name: str
    state: str
    auth_mode: str
    scoring_uri: str | None
    traffic: dict[str, int]
    location: str | None = None
    deployments: tuple[DeploymentInfo, ...] = ()
    created_at: str | None = None  # ISO time from ARM systemData (the management screen shows the age)
    tags: dict[str, str] = field(default_factory=dict)  # e.g. the expiry tag (rdeploy_tui.pipeline.expiry)
    mirror_traffic: dict[str, int] = field(default_factory=dict)  # copies of live traffic, per shadow deployment


@dataclass
class DeploymentRequest:
    """Everything a deployment needs; `build()` makes a fresh SDK object for each attempt."""

    endpoint: str
    name: str
    model: str  # "NAME:VERSION" (resolved: the Python SDK mishandles "azureml:NAME@latest")
    image: str
    code_files: dict[str, bytes]  # {relative path: bytes} of the src/ folder (plumber.R ...)
    scoring_script: str = "plumber.R"
    port: int = 8000
    live_route: str = "/live"
    ready_route: str = "/ready"
    score_route: str = "/score"
    instance_type: str = "Standard_DS3_v2"
    instance_count: int = 1
    request_timeout_ms: int = 5000
    probe: dict[str, int] = field(
        default_factory=lambda: {"initial_delay": 10, "period": 10, "timeout": 2, "failure_threshold": 30}
    )

    def build(self, code_dir: Path) -> ManagedOnlineDeployment:
        from azure.ai.ml.entities import (  # lazy: azure.ai.ml is imported by the client factory already
            CodeConfiguration,
            Environment,
            ManagedOnlineDeployment,
            OnlineRequestSettings,
            ProbeSettings,
        )

        for rel, content in self.code_files.items():
            target = code_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)

        def route(path: str) -> dict[str, Any]:
            return {"port": self.port, "path": path}

        return ManagedOnlineDeployment(
            name=self.name,
            endpoint_name=self.endpoint,
            model=self.model,
            code_configuration=CodeConfiguration(code=str(code_dir), scoring_script=self.scoring_script),
            environment=Environment(
                image=self.image,
                inference_config={
                    "liveness_route": route(self.live_route),
                    "readiness_route": route(self.ready_route),
                    "scoring_route": route(self.score_route),
                },
            ),
            instance_type=self.instance_type,
            instance_count=self.instance_count,
            request_settings=OnlineRequestSettings(request_timeout_ms=self.request_timeout_ms),
            liveness_probe=ProbeSettings(**self.probe),
            readiness_probe=ProbeSettings(**self.probe),
            tags={"created-by": "rdeploy-tui"},
        )


def _state(entity: OnlineEndpoint | OnlineDeployment) -> str:
    value = getattr(entity, "provisioning_state", None) or "Unknown"
    return str(getattr(value, "value", value))  # SDK enums print as 'DeploymentProvisioningState.SUCCEEDED'


def _deployment_info(d: OnlineDeployment) -> DeploymentInfo:
    env = getattr(d, "environment", None)
    image = env if isinstance(env, str) else getattr(env, "image", None)  # an ARM environment id once deployed
    model = getattr(d, "model", None)
    return DeploymentInfo(
        d.name or "",
        _state(d),
        getattr(d, "instance_type", None),
        getattr(d, "instance_count", None),
        image,
        model if isinstance(model, str) else getattr(model, "id", None),
    )


def _endpoint_info(e: OnlineEndpoint, deployments: list[OnlineDeployment] | None = None) -> EndpointInfo:
    return EndpointInfo(
        name=e.name or "",
        state=_state(e),
        auth_mode=str(getattr(e, "auth_mode", "") or ""),
        scoring_uri=getattr(e, "scoring_uri", None),
        traffic={k: int(v) for k, v in (getattr(e, "traffic", None) or {}).items()},
        location=getattr(e, "location", None),
        deployments=tuple(_deployment_info(d) for d in deployments or []),
        created_at=(getattr(e, "properties", None) or {}).get("createdAt"),
        tags=dict(getattr(e, "tags", None) or {}),
        mirror_traffic={k: int(v) for k, v in (getattr(e, "mirror_traffic", None) or {}).items()},
    )


def new_lines(previous: list[str], current: list[str]) -> list[str]:
    """Lines of `current` (a log tail) that follow what `previous` (the last tail) already showed."""
    if not previous:
        return current
    for k in range(min(len(previous), len(current)), 0, -1):
        if previous[-k:] == current[:k]:
            return current[k:]
    return current


class Endpoints:
    """Online endpoints of one workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @property
    def _ops(self) -> OnlineEndpointOperations:
        return self.ws.ml_client().online_endpoints

    @property
    def _deps(self) -> OnlineDeploymentOperations:
        return self.ws.ml_client().online_deployments

    def _interval(self, seconds: float) -> float:
        """Our own poll interval: Azure's documented `seconds`, or sooner when the service hinted so (pace.py)."""
        return self.ws.connection.pace.poll_interval(seconds)

    def _path(self, endpoint: str, deployment: str | None = None) -> str:
        """The end of a resource's ARM path, to find the timeout the service announced for its operation."""
        path = f"/workspaces/{self.ws.name}/onlineEndpoints/{endpoint}"
        return f"{path}/deployments/{deployment}" if deployment else path

    def _limit(self, resource: str, documented_s: float) -> float:
        return deadlines.operation_limit(self.ws.connection, resource, documented_s)

    # ----- reading -----
    def list(self) -> list[EndpointInfo]:
        with azure_call("listing online endpoints"):
            return sorted((_endpoint_info(e) for e in self._ops.list()), key=lambda e: e.name.lower())

    def find(self, name: str, *, images: bool = False) -> EndpointInfo | None:
        """The endpoint with its deployments, or None when it does not exist. images: each deployment's
        image read from its environment (one more call per new environment), else the environment id."""
        from azure.core.exceptions import ResourceNotFoundError

        with azure_call(f"reading endpoint {name}"):
            try:
                endpoint = self._ops.get(name)
            except ResourceNotFoundError:
                return None
            deployments = list(self._deps.list(name))
        info = _endpoint_info(endpoint, deployments)
        if images:
            info = replace(info, deployments=tuple(replace(d, image=self._image_of(d.image)) for d in info.deployments))
        return info

    def show(self, name: str) -> EndpointInfo:
        """The endpoint with its deployments, each with the image it runs."""
        info = self.find(name, images=True)
        if info is None:
            raise self.missing(name)
        return info

    def missing(self, name: str) -> RdeployError:
        """The error for an endpoint that is not in the workspace, naming the closest existing ones."""
        import difflib

        try:
            names = [e.name for e in self.list()]
        except RdeployError:
            names = []
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        listing = self._command("endpoints", "list")
        if close:
            hint = f"Did you mean {' or '.join(close)}? `{listing}` shows them all."
        elif names:
            hint = f"The workspace has {len(names)} endpoint{'s' if len(names) != 1 else ''}: `{listing}` shows them."
        else:
            hint = "The workspace has no endpoints; check --workspace and --resource-group."
        return RdeployError(f"no endpoint {name} in workspace {self.ws.name}", hint, code="NotFound")

    def require(self, name: str) -> None:
        """Raise `missing(name)` unless the endpoint exists: ARM answers a DELETE of a missing resource with 204, so
        a delete alone would report success for a mistyped name while the real endpoint keeps billing."""
        from azure.core.exceptions import ResourceNotFoundError

        with azure_call(f"reading endpoint {name}"):
            try:
                self._read(name)
            except ResourceNotFoundError:
                raise self.missing(name) from None

    def _read(self, name: str) -> object:
        """The endpoint as the service returns it (only that it exists matters); ResourceNotFoundError when there is
        none (RestEndpoints: over ARM REST)."""
        return self._ops.get(name)

    def _image_of(self, environment: str | None) -> str | None:
        """The image of an environment given by ARM id (else `environment` as it is); the id itself
        when the environment cannot be read, which must not stop a `show`."""
        match = ENVIRONMENT_ID.search(environment) if environment else None
        if environment is None or match is None:
            return environment
        if environment not in ENVIRONMENT_IMAGES:
            try:
                with azure_call(f"reading environment {match['name']}"):
                    env = self.ws.ml_client().environments.get(match["name"], version=match["version"])
            except RdeployError:
                return environment
            if not env.image:  # built from a conda file or a build context, not an image
                return environment
            ENVIRONMENT_IMAGES[environment] = env.image
        return ENVIRONMENT_IMAGES[environment]

    def find_deployment(self, endpoint: str, name: str) -> DeploymentInfo | None:
        from azure.core.exceptions import ResourceNotFoundError

        with azure_call(f"reading deployment {name}"):
            try:
                return _deployment_info(self._deps.get(name, endpoint))
            except ResourceNotFoundError:
                return None

    def logs(
        self, endpoint: str, deployment: str, container: str = "inference-server", lines: int = 200
    ) -> builtins.list[str]:
        """The last `lines` lines of one container's log (inference-server or storage-initializer)."""
        if container not in LOG_CONTAINERS:
            raise RdeployError(
                f"Unknown log container {container!r}.", f"Use one of {', '.join(LOG_CONTAINERS)}.", code="Usage"
            )
        with azure_call(f"reading the {container} log of {endpoint}/{deployment}"):
            text = self._deps.get_logs(deployment, endpoint, lines, container_type=container)
        return (text or "").splitlines()

    def _command(self, *words: str) -> str:
        """A next command to print, with the flags that reach this same Azure (ConnectionOptions.command)."""
        return self.ws.connection.command(*words)

    def require_deployment(self, endpoint: str, deployment: str, info: EndpointInfo | None = None) -> None:
        """Raise RdeployError naming the endpoint's deployments unless `deployment` is one of them (a mistyped
        `-d` must not reach Azure as a request that fails somewhere else). `info`: the endpoint just read."""
        info = info or self.show(endpoint)
        names = [d.name for d in info.deployments]
        if deployment in names:
            return
        import difflib

        close = difflib.get_close_matches(deployment, names, n=2, cutoff=0.6)
        raise RdeployError(
            f"Endpoint {endpoint} has no deployment {deployment}.",
            (f"Did you mean {' or '.join(close)}? " if close else "")
            + (f"Its deployments: {', '.join(names)}." if names else "It has no deployments."),
            code="Usage",
        )

    def default_deployment(self, endpoint: str) -> str:
        """The deployment with the most traffic (the one a plain score call reaches), else the only one."""
        info = self.show(endpoint)
        if info.traffic and max(info.traffic.values()) > 0:
            return max(info.traffic.items(), key=lambda kv: kv[1])[0]
        if info.deployments:
            return info.deployments[0].name
        raise RdeployError(
            f"Endpoint {endpoint} has no deployment.",
            f"Deploy one with `{self._command('deploy', '--spec', 'rdeploy.yaml')}`.",
            code="NoDeployment",
        )

    # ----- endpoint create / update -----
    def create_or_update_endpoint(
        self,
        name: str,
        auth_mode: str,
        *,
        on_progress: ProgressSink = lambda text: None,
        cancel: threading.Event | None = None,
        tags: dict[str, str | None] | None = None,
    ) -> EndpointInfo:
        """Create the endpoint, or leave an existing one as it is (re-runs and resumes never make a second).

        An endpoint still being created (e.g. by a run that crashed) is waited for, not created again.
        `tags` (e.g. an expiry) are set on a new endpoint and updated on an existing one (None: removed).
        """
        from azure.ai.ml.entities import ManagedOnlineEndpoint

        cancel = cancel or threading.Event()
        existing = self.find(name)
        if existing is not None and existing.state.lower() in ("creating", "updating"):
            on_progress(f"endpoint {name} is already {existing.state} (started earlier): waiting for it")
            existing = self._wait_endpoint(name, on_progress, cancel)
        if (
            existing is not None
            and existing.state.lower() == "succeeded"
            and tags
            and any(existing.tags.get(k) != v for k, v in tags.items())
        ):
            said = ", ".join(f"{k}={v}" if v is not None else f"removing {k}" for k, v in tags.items())
            on_progress(f"tagging endpoint {name}: {said}")
            existing = self.set_tags(name, dict(tags), on_progress=on_progress, cancel=cancel)
        if existing is not None and existing.state.lower() == "succeeded":
            if existing.auth_mode.lower() != auth_mode.lower():
                on_progress(
                    f"endpoint {name} exists with auth mode {existing.auth_mode}; keeping it (auth mode cannot change "
                    "in place)"
                )
            else:
                on_progress(f"endpoint {name} already exists")
            return existing
        given = {k: v for k, v in (tags or {}).items() if v is not None}
        endpoint = ManagedOnlineEndpoint(name=name, auth_mode=auth_mode, tags={"created-by": "rdeploy-tui", **given})
        if existing is not None:  # a failed endpoint: update it in place, keeping its traffic
            endpoint.traffic = dict(existing.traffic)
        on_progress(
            f"creating endpoint {name}" if existing is None else f"repairing endpoint {name} (was {existing.state})"
        )
        with azure_call(f"creating endpoint {name}"):
            poller = self._ops.begin_create_or_update(endpoint)
        self._wait_poller(
            poller,
            f"endpoint {name}",
            on_progress,
            cancel,
            doing=f"creating endpoint {name}",
            limit_s=self._limit(self._path(name), deadlines.LRO_WAIT_S),
            still=self._endpoint_still(name),
        )
        return self.show(name)

    def _endpoint_still(self, name: str) -> Callable[[float], RdeployError]:
        return lambda waited: deadlines.still_going(
            f"Creating endpoint {name}",
            waited,
            "An endpoint without deployments does not bill compute.",
            self._command("endpoints", "show", name),
        )

    def _deployment_still(self, endpoint: str, name: str, instances: str) -> Callable[[float], RdeployError]:
        return lambda waited: deadlines.still_going(
            f"Deployment {name} of endpoint {endpoint}",
            waited,
            f"Its instances{instances} bill per instance-hour from the moment Azure allocates them until you delete it "
            f"(`{self._command('endpoints', 'delete', endpoint)}`).",
            self._command("endpoints", "show", endpoint),
        )

    def _wait_endpoint(self, name: str, on_progress: ProgressSink, cancel: threading.Event) -> EndpointInfo:
        started = time.monotonic()
        limit = self._limit(self._path(name), deadlines.LRO_WAIT_S)
        while True:
            if time.monotonic() - started > limit:
                raise self._endpoint_still(name)(limit)
            info = self.find(name)
            if info is None:
                raise RdeployError(
                    f"Endpoint {name} disappeared while it was being created.", "Run the deploy again.", code="NotFound"
                )
            state = info.state.lower()
            if state == "succeeded":
                return info
            if state in ("failed", "canceled"):
                raise RdeployError(
                    f"Creating endpoint {name} ended as {info.state}.",
                    f"Delete it (`{self._command('endpoints', 'delete', name)}`) and deploy again.",
                    code="EndpointFailed",
                )
            on_progress(f"endpoint {name} is {info.state} ({time.monotonic() - started:.0f} s)")
            if cancel.wait(self._interval(5)):
                raise RdeployError(
                    f"Stopped waiting for endpoint {name}; Azure goes on creating it.", None, code="Cancelled"
                )

    def _wait_poller(
        self,
        poller: LROPoller[_Result],
        what: str,
        on_progress: ProgressSink,
        cancel: threading.Event,
        *,
        doing: str,
        limit_s: float,
        still: Callable[[float], RdeployError],
        tick: Callable[[], None] | None = None,
        details: Callable[[], str | None] | None = None,
    ) -> _Result:
        """Wait for an Azure operation: until it ends, `cancel` is set, or `limit_s` passes (then `still(limit_s)`
        is raised: what goes on in Azure and what bills)."""
        started = time.monotonic()
        every = self._interval(2)  # progress and log ticks
        next_report = started + every
        while not poller.done():
            if cancel.is_set():
                raise RdeployError(
                    f"Stopped waiting for {what}; the operation goes on in Azure.", None, code="Cancelled"
                )
            if time.monotonic() - started > limit_s:
                raise still(limit_s)
            try:  # wakes the moment the SDK's poller sees the end (no extra interval on the critical path)
                poller.wait(min(every, 0.1))
            except Exception:
                break  # the operation failed: poller.result() raises it again below, explained
            if time.monotonic() >= next_report and not poller.done():
                next_report = time.monotonic() + every
                status = str(poller.status() or "running")
                on_progress(f"{what}: {status} ({time.monotonic() - started:.0f} s)")
                if tick is not None:
                    tick()
        try:
            return poller.result()
        except Exception as exc:
            raise explain(exc, doing, details=details() if details else None) from None

    # ----- deployment -----
    def create_or_update_deployment(
        self,
        request: DeploymentRequest,
        *,
        on_progress: ProgressSink = lambda text: None,
        on_logs: LogsSink = lambda container, lines: None,
        cancel: threading.Event | None = None,
        resume: bool = False,
    ) -> DeploymentInfo:
        """Create or update the deployment, streaming both containers' logs while Azure works.

        `resume`: a run that crashed had sent this deployment already; if Azure is still working on
        it, wait for that operation instead of sending another (which would be refused as busy).
        Failures raise RdeployError whose details hold the last container log lines.
        """
        cancel = cancel or threading.Event()
        name, endpoint = request.name, request.endpoint
        follower = _LogFollower(self, endpoint, name, on_logs)
        if resume:
            existing = self.find_deployment(endpoint, name)
            if existing is not None and existing.state.lower() in ("creating", "updating"):
                on_progress(f"deployment {name} is already {existing.state} (started earlier): waiting for it")
                return self._wait_deployment(endpoint, name, on_progress, cancel, follower, request)
        with tempfile.TemporaryDirectory(prefix="rdeploy-code-") as tmp:
            deployment = request.build(Path(tmp) / "src")  # fresh object each attempt: the SDK mutates it
            on_progress(
                f"sending deployment {name} (model {request.model}, {request.instance_count} x {request.instance_type})"
            )
            with azure_call(f"creating deployment {name} on endpoint {endpoint}"):
                poller = self._deps.begin_create_or_update(deployment, skip_script_validation=True)
        self._wait_poller(
            poller,
            f"deployment {name}",
            on_progress,
            cancel,
            doing=f"creating deployment {name} on endpoint {endpoint}",
            limit_s=self._deployment_limit(request),
            still=self._deployment_still(endpoint, name, f" ({request.instance_count} x {request.instance_type})"),
            tick=follower.poll,
            details=follower.last_lines_text,
        )
        follower.poll(final=True)
        info = self.find_deployment(endpoint, name)
        if info is None:  # pragma: no cover - the poller just succeeded
            raise RdeployError(f"Deployment {name} is missing after it was created.", "Run the deploy again.")
        return info

    def _deployment_limit(self, request: DeploymentRequest) -> float:
        return self._limit(self._path(request.endpoint, request.name), deadlines.deployment_wait_s(request.probe))

    def _wait_deployment(
        self,
        endpoint: str,
        name: str,
        on_progress: ProgressSink,
        cancel: threading.Event,
        follower: _LogFollower,
        request: DeploymentRequest,
    ) -> DeploymentInfo:
        started = time.monotonic()
        limit = self._deployment_limit(request)
        while True:
            if time.monotonic() - started > limit:
                raise self._deployment_still(endpoint, name, f" ({request.instance_count} x {request.instance_type})")(
                    limit
                )
            info = self.find_deployment(endpoint, name)
            if info is None:
                raise RdeployError(
                    f"Deployment {name} disappeared while it was being created.",
                    "Run the deploy again.",
                    code="NotFound",
                )
            follower.poll()
            state = info.state.lower()
            if state == "succeeded":
                return info
            if state in ("failed", "canceled"):
                raise RdeployError(
                    f"Deployment {name} ended as {info.state}.",
                    "Read the container log, fix the cause and deploy again.",
                    details=follower.last_lines_text(),
                    code="DeploymentFailed",
                )
            on_progress(f"deployment {name} is {info.state} ({time.monotonic() - started:.0f} s)")
            if cancel.wait(self._interval(5)):
                raise RdeployError(
                    f"Stopped waiting for deployment {name}; Azure goes on with it.", None, code="Cancelled"
                )

    # ----- traffic -----
    def set_traffic(
        self,
        endpoint: str,
        traffic: dict[str, int],
        *,
        on_progress: ProgressSink = lambda t: None,
        cancel: threading.Event | None = None,
        current: EndpointInfo | None = None,
    ) -> EndpointInfo:
        """Set the endpoint's traffic split exactly (spec/traffic.py's rule: whole percentages adding up to 100, or all
        0). `current`: the endpoint just read."""
        from rdeploy_tui.spec.traffic import traffic_problem

        cancel = cancel or threading.Event()
        problem = traffic_problem(traffic)
        if problem:
            raise RdeployError(f"Traffic not set: {problem}.", "For example: blue=90 green=10.", code="Usage")
        info = current or self.show(endpoint)
        unknown = set(traffic) - {d.name for d in info.deployments}
        if unknown:
            raise RdeployError(
                f"Endpoint {endpoint} has no deployment {', '.join(sorted(unknown))}.",
                f"Its deployments: {', '.join(d.name for d in info.deployments) or 'none'}.",
                code="Usage",
            )
        shares = {name: traffic.get(name, 0) for name in {*traffic, *(d.name for d in info.deployments)}}
        return self._update_endpoint(
            endpoint,
            lambda entity: setattr(entity, "traffic", shares),
            what=f"traffic on {endpoint}",
            doing=f"setting traffic on endpoint {endpoint}",
            title=f"Setting the traffic of endpoint {endpoint}",
            bills="Its deployments bill per instance-hour as before, whatever the split.",
            on_progress=on_progress,
            cancel=cancel,
        )

    def set_mirror(
        self,
        endpoint: str,
        deployment: str,
        percent: int,
        *,
        on_progress: ProgressSink = lambda t: None,
        cancel: threading.Event | None = None,
    ) -> EndpointInfo:
        """Copy `percent` of live traffic to `deployment` (0 stops it); Azure drops the copies' answers."""
        return self._update_endpoint(
            endpoint,
            # 0 rather than {}: an empty map may be left out of the request
            lambda entity: setattr(entity, "mirror_traffic", {deployment: percent}),
            what=f"mirrored traffic on {endpoint}",
            doing=f"setting mirrored traffic on endpoint {endpoint}",
            title=f"Setting the mirrored traffic of endpoint {endpoint}",
            bills="Its deployments bill per instance-hour as before.",
            on_progress=on_progress,
            cancel=cancel,
        )

    def set_tags(
        self,
        endpoint: str,
        tags: dict[str, str | None],
        *,
        on_progress: ProgressSink = lambda t: None,
        cancel: threading.Event | None = None,
    ) -> EndpointInfo:
        """Add, change (or with None remove) tags of the endpoint, keeping the others."""

        def retag(entity: Any) -> None:
            merged = {**(entity.tags or {}), **tags}
            entity.tags = {k: v for k, v in merged.items() if v is not None}

        return self._update_endpoint(
            endpoint,
            retag,
            what=f"tags of {endpoint}",
            doing=f"tagging endpoint {endpoint}",
            title=f"Tagging endpoint {endpoint}",
            bills="Its deployments bill per instance-hour as before.",
            on_progress=on_progress,
            cancel=cancel,
        )

    def _update_endpoint(
        self,
        endpoint: str,
        change: Callable[[Any], None],
        *,
        what: str,
        doing: str,
        title: str,
        bills: str,
        on_progress: ProgressSink,
        cancel: threading.Event | None,
    ) -> EndpointInfo:
        """Read the endpoint as Azure has it, `change` it, send it back, wait for Azure to finish and read it again:
        an update never drops what another client set meanwhile (tags, mirror, traffic all travel together)."""
        with azure_call(doing):
            entity = self._ops.get(endpoint)
            change(entity)
            poller = self._ops.begin_create_or_update(entity)
        self._wait_poller(
            poller,
            what,
            on_progress,
            cancel or threading.Event(),
            doing=doing,
            **self._endpoint_update_bound(title, endpoint, bills),
        )
        return self.show(endpoint)

    def route_to(
        self,
        endpoint: str,
        deployment: str,
        percent: int,
        *,
        on_progress: ProgressSink = lambda t: None,
        cancel: threading.Event | None = None,
    ) -> EndpointInfo:
        """Give `deployment` `percent` of the traffic; the rest goes to the other deployment that had most."""
        from rdeploy_tui.spec.traffic import traffic_after  # the one rule, also shown by the wizard beforehand

        info = self.show(endpoint)
        split = traffic_after(info.traffic, deployment, percent)
        if {k: v for k, v in info.traffic.items() if v} == {k: v for k, v in split.items() if v}:
            return info
        return self.set_traffic(endpoint, split, current=info, on_progress=on_progress, cancel=cancel)

    # ----- delete -----
    def delete(
        self, name: str, *, on_progress: ProgressSink = lambda t: None, cancel: threading.Event | None = None
    ) -> None:
        """Delete the endpoint and all its deployments (this stops their bill)."""
        cancel = cancel or threading.Event()
        from azure.core.exceptions import ResourceNotFoundError

        self.require(name)
        with azure_call(f"deleting endpoint {name}"):
            try:
                poller = self._ops.begin_delete(name)
            except ResourceNotFoundError:
                raise self.missing(name) from None
        self.wait_for_endpoint_delete(poller, name, on_progress, cancel)

    def wait_for_endpoint_delete(
        self, poller: LROPoller[None], name: str, on_progress: ProgressSink, cancel: threading.Event
    ) -> None:
        self._wait_poller(
            poller,
            f"deleting endpoint {name}",
            on_progress,
            cancel,
            doing=f"deleting endpoint {name}",
            **self._endpoint_update_bound(
                f"Deleting endpoint {name}", name, "Its deployments bill until the delete completes."
            ),
        )

    def _endpoint_update_bound(self, doing: str, endpoint: str, bills: str) -> _Bound:
        """The deadline of an operation on the endpoint or one of its deployments, and what to say past it
        (azure/deadlines.py)."""
        return {
            "limit_s": self._limit(self._path(endpoint), deadlines.LRO_WAIT_S),
            "still": lambda waited: deadlines.still_going(
                doing, waited, bills, self._command("endpoints", "show", endpoint)
            ),
        }

    def delete_deployment(
        self,
        endpoint: str,
        name: str,
        *,
        on_progress: ProgressSink = lambda t: None,
        cancel: threading.Event | None = None,
    ) -> None:
        """Delete one deployment (stops its bill); refused while it still takes traffic."""
        cancel = cancel or threading.Event()
        info = self.show(endpoint)
        if info.traffic.get(name, 0) > 0:
            raise RdeployError(
                f"Deployment {name} still takes {info.traffic[name]} % of the traffic of {endpoint}.",
                "Move its traffic to another deployment first, or delete the whole endpoint.",
                code="DeploymentTakesTraffic",
            )
        if name not in {d.name for d in info.deployments}:
            raise RdeployError(
                f"Endpoint {endpoint} has no deployment {name}.",
                f"Its deployments: {', '.join(d.name for d in info.deployments) or 'none'}.",
                code="NotFound",
            )
        with azure_call(f"deleting deployment {name} of endpoint {endpoint}"):
            poller = self._deps.begin_delete(name, endpoint)
        self._wait_poller(
            poller,
            f"deleting deployment {name}",
            on_progress,
            cancel,
            doing=f"deleting deployment {name} of endpoint {endpoint}",
            **self._endpoint_update_bound(
                f"Deleting deployment {name} of endpoint {endpoint}", endpoint, "It bills until the delete completes."
            ),
        )

    # ----- keys -----
    def auth_header(self, name: str) -> str:
        """The Authorization header value for scoring (key, aml token or Entra token). Never log it."""
        with azure_call(f"getting the keys of endpoint {name}"):
            creds = self._ops.get_keys(name)
        secret = getattr(creds, "primary_key", None) or getattr(creds, "access_token", None)
        if not secret:
            raise RdeployError(
                f"Endpoint {name} returned no key or token.",
                "Check that you may list its keys (AzureML Data Scientist).",
                code="NoKey",
            )
        return f"Bearer {secret}"


class _LogFollower:
    """Polls both containers' log tails and passes on the lines not seen before."""

    TAIL = 200

    def __init__(self, endpoints: Endpoints, endpoint: str, deployment: str, on_logs: LogsSink) -> None:
        self.endpoints = endpoints
        self.endpoint = endpoint
        self.deployment = deployment
        self.on_logs = on_logs
        self.seen: dict[str, list[str]] = {c: [] for c in LOG_CONTAINERS}
        self._last = 0.0

    def poll(self, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last < self.endpoints._interval(5):
            return
        self._last = now
        for container in LOG_CONTAINERS:
            try:
                lines = self.endpoints.logs(self.endpoint, self.deployment, container, self.TAIL)
            except RdeployError:
                continue  # no container yet (or a transient error): logs are best effort while waiting
            fresh = new_lines(self.seen[container], lines)
            self.seen[container] = lines
            if fresh:
                self.on_logs(container, fresh)

    def last_lines_text(self, count: int = 30) -> str | None:
        self.poll(final=True)
        parts = [
            f"--- {c} (last lines) ---\n" + "\n".join(self.seen[c][-count:]) for c in LOG_CONTAINERS if self.seen[c]
        ]
        return "\n".join(parts) or None
