"""The deploy: the plan's steps (build ∥ endpoint -> deployment -> traffic, smoke score) on the run engine.

    outcome = run_deploy(spec, session=session, sink=print_event, cancel=threading.Event())

No Textual here: the wizard calls run_deploy from a thread worker, the CLI prints the events. The engine
(engine.py) gives every deploy its lock, log, resume state and cancel; this module holds what each step does.

Resume: the state the previous run left (the fold of its events: state.py) says what Azure was asked and
what it did. The next run for the same target re-attaches to a build run that was going on (BuildRunStarted),
waits for a deployment Azure is still working on with the same settings (DeploymentRequested) instead of sending
another, and skips a deployment that already runs these settings (DeploymentReady). Create-or-update
everywhere: a re-run never makes a second endpoint.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdeploy_tui.deploy_folder.render import ENTRY_SCRIPT, Rendered, render
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.pipeline import plan as P
from rdeploy_tui.pipeline.engine import Engine, Outcome, Step, StepSkipped, StepsResult
from rdeploy_tui.pipeline.events import (
    BuildRunStarted,
    DeploymentReady,
    DeploymentRequested,
    EventSink,
    LogLines,
    StepProgress,
)
from rdeploy_tui.pipeline.state import ResumeStore, target_key
from rdeploy_tui.spec.deploy_spec import DeploySpec, SpecError

if TYPE_CHECKING:
    from rdeploy_tui.azure.clients import AzureConnection
    from rdeploy_tui.azure.online import DeploymentRequest, EndpointInfo
    from rdeploy_tui.azure.workspace import Workspace
    from rdeploy_tui.scoring.result import ScoreResult

__all__ = ["DeployRun", "Outcome", "deploy_steps", "deployment_fingerprint", "deployment_request", "run_deploy"]


def deployment_fingerprint(request: DeploymentRequest) -> str:
    """Changes exactly when what Azure would deploy changes (image, model, code, sizing, probes, routes)."""
    data = {k: v for k, v in request.__dict__.items() if k != "code_files"}
    data["code"] = {k: hashlib.sha256(v).hexdigest() for k, v in sorted(request.code_files.items())}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def deployment_request(spec: DeploySpec, rendered: Rendered, model_version: str, image: str) -> DeploymentRequest:
    """What `az ml online-deployment create` sends for this spec, image and model version."""
    from rdeploy_tui.azure.online import DeploymentRequest

    d, routes, p = spec.deployment, spec.scoring.routes, spec.deployment.probes
    return DeploymentRequest(
        endpoint=spec.endpoint.name,
        name=d.name,
        model=f"{spec.model.name}:{model_version}",
        image=image,
        code_files=rendered.code_files(),
        scoring_script=ENTRY_SCRIPT,
        port=spec.scoring.port,
        live_route=routes.live,
        ready_route=routes.ready,
        score_route=routes.score,
        instance_type=d.instance_type,
        instance_count=d.instance_count,
        request_timeout_ms=d.request_timeout_ms,
        probe={
            "initial_delay": p.initial_delay,
            "period": p.period,
            "timeout": p.timeout,
            "failure_threshold": p.failure_threshold,
        },
    )


class DeployRun:
    """What the deploy's steps share: the spec and options, the engine, and what earlier steps found."""

    def __init__(
        self,
        spec: DeploySpec,
        session: AzureConnection,
        engine: Engine,
        *,
        base_dir: Path | None = None,
        force_build: bool = False,
        smoke_score: bool = True,
        base_from_docker_hub: bool = False,
        image: str | None = None,
    ) -> None:
        self.spec, self.session, self.engine = spec, session, engine
        self.base_dir = base_dir
        self.force_build = force_build
        self.smoke_score = smoke_score
        self.base_from_docker_hub = base_from_docker_hub  # skip copying the base image into the workspace registry
        self.image_override = image  # `deploy --image REF`: an image built elsewhere; no build
        # found by the steps (each written by one step, read by the later ones)
        self.ws: Workspace | None = None
        self.rendered: Rendered | None = None
        self.model_version: str | None = None
        self.image: str | None = None
        self.build_run: str | None = None  # the ACR run this deploy started or re-attached to
        self.endpoint: EndpointInfo | None = None
        self.score: ScoreResult | None = None

    def workspace(self) -> Workspace:
        assert self.ws is not None, "prepare runs first"
        return self.ws

    def files(self) -> Rendered:
        assert self.rendered is not None, "prepare runs first"
        return self.rendered

    def say(self, step_id: str) -> Callable[[str], None]:
        return self.engine.progress(step_id)

    def lines(self, step_id: str, source: str) -> Callable[[list[str]], None]:
        return lambda lines: self.engine.emit(LogLines(step_id, source, tuple(lines)))


# ----- the steps ----------------------------------------------------------------------------------------------
def prepare(run: DeployRun) -> str:
    from rdeploy_tui.azure.workspace import Workspace

    spec, session = run.spec, run.session
    w = spec.workspace
    say = run.say(P.PREPARE)
    say(f"signed in as {session.identity()}")
    ws = Workspace.open(session, w.subscription_id, w.resource_group, w.name)
    # The model lookup and the registry lookup are independent round trips: side by side.
    model: dict[str, Any] = {}

    def resolve() -> None:
        try:
            model["version"] = ws.resolve_model_version(spec.model.name, spec.model.version)
        except BaseException as exc:  # re-raised below, in this step's thread
            model["error"] = exc

    lookup = threading.Thread(target=resolve, name="rdeploy-model-lookup", daemon=True)
    lookup.start()
    try:
        registry = ws.registry()
    finally:
        lookup.join()
    say(f"workspace {ws.name} ({ws.info.location}), registry {registry.login_server}")
    if "error" in model:
        raise model["error"]
    version = model["version"]
    try:
        rendered = render(spec, base_dir=run.base_dir, registry=registry.login_server)
    except SpecError as exc:
        raise RdeployError(
            "The deploy spec has errors.",
            "Run `rdeploy-tui validate` and fix them.",
            details=str(exc),
            code="SpecError",
        ) from None
    if not run.image_override:  # an image built elsewhere installs what it installs
        _check_package_names(run, say)
    run.ws, run.rendered, run.model_version = ws, rendered, version
    latest = " (latest)" if spec.model.version == "latest" else ""
    return f"model {spec.model.name}:{version}{latest}; image {rendered.image}"


def _check_package_names(run: DeployRun, say: Callable[[str], None]) -> None:
    """Every requested package must be in the repository the build installs from (issue 13.5)."""
    from rdeploy_tui.deploy_folder.render import package_repository, r_packages
    from rdeploy_tui.pipeline.package_index import check_packages
    from rdeploy_tui.spec.package_names import CRAN_NOT_IN_DEBIAN, shipped

    repo = run.session.options.package_index_url or package_repository(run.spec)
    if not repo:
        say("R package names not checked: the base image's package repository is not known")
        return
    verify = getattr(run.session, "ca_bundle", None) or True
    check = check_packages(r_packages(run.spec), repo, verify=verify)
    if not check.read:
        say(f"R package names not checked: could not read the package index of {repo} ({check.reason[:120]})")
        return
    if check.unknown:
        names = "; ".join(
            f"{p}" + (f" (did you mean {', '.join(near)}?)" if near else "") for p, near in check.unknown.items()
        )
        # A name CRAN has (the shipped list) is not a typo: the repository lacks it (a partial mirror, an archived
        # package, a snapshot older than the package), and renaming it would not help.
        on_cran = sorted(p for p in check.unknown if p in shipped().names or p in CRAN_NOT_IN_DEBIAN)
        if on_cran:
            what_next = (
                f"{', '.join(on_cran)} {'is a CRAN package' if len(on_cran) == 1 else 'are CRAN packages'} that this "
                "repository does not have: remove it from image.r_packages, or install from a repository that has "
                "it (--package-index-url, or another base image); fix any other name (CRAN names are "
                "case-sensitive), then deploy again."
            )
        else:
            what_next = "Fix the names in image.r_packages (CRAN names are case-sensitive), then deploy again."
        raise RdeployError(
            f"R packages not in the package repository {repo}: {names}.", what_next, code="UnknownRPackage"
        )
    say(f"{len(r_packages(run.spec))} R package names found in {repo}")


def build_title(run: DeployRun) -> str:
    """The build step's title, exact once prepare has found the image name and the registry."""
    if run.rendered is None:
        return P.make_plan(run.spec).step(P.BUILD).title
    registry = run.ws.registry().name if run.ws is not None else None
    return P.make_plan(run.spec, image_name=run.rendered.image_name, registry=registry).step(P.BUILD).title


def build_image(run: DeployRun) -> str:
    from rdeploy_tui.azure.acr import build_image as acr_build

    rendered, engine = run.files(), run.engine
    if run.image_override:
        run.image = run.image_override
        raise StepSkipped(f"using the image {run.image_override} given with --image: build skipped")
    previous = engine.previous
    run_id = None
    if (
        previous is not None
        and previous.step(P.BUILD).status in ("running", "cancelled")
        and previous.build.image == rendered.image
        and previous.build.run_id
    ):
        run_id = _resumable_build(run, previous.build.run_id)
    run.build_run = run_id

    def started(new_run: str) -> None:
        run.build_run = new_run
        engine.emit(BuildRunStarted(P.BUILD, new_run, rendered.image))

    try:
        result = acr_build(
            run.workspace(),
            rendered.docker_context(),
            rendered.image_repository,
            rendered.image_tag,
            on_lines=run.lines(P.BUILD, "build"),
            on_progress=run.say(P.BUILD),
            on_run_id=started,
            cancel=engine.stop,
            run_id=run_id,
            force=run.force_build,
            base_import=_base_import(run),
        )
    except RdeployError as exc:
        if exc.code == "TasksOperationsNotAllowed":
            return _build_locally(run, exc)
        raise
    run.image = result.image
    if result.skipped:
        raise StepSkipped(
            f"{rendered.image_name} is already in the registry (built by run {result.run_id}): build skipped"
        )
    return f"built {result.image} (run {result.run_id})"


def _build_locally(run: DeployRun, refused: RdeployError) -> str:
    """ACR Tasks is not allowed: this machine's Docker engine builds and pushes instead (issue 13.7). A tag that is
    in the registry already (pushed by an earlier run, or by hand) is not built again, engine or not."""
    from rdeploy_tui.azure.acr_login import image_in_registry, registry_login
    from rdeploy_tui.local.docker import docker_engine_available
    from rdeploy_tui.pipeline.local_build import build_and_push, without_tasks_or_engine

    rendered, ws = run.files(), run.workspace()
    image = f"{ws.registry().login_server}/{rendered.image_repository}:{rendered.image_tag}"
    login = None
    try:
        login = registry_login(ws)
    except RdeployError:
        pass  # explained below: by the local path when an engine answers, else by the two ways forward
    if (
        login is not None
        and not run.force_build
        and image_in_registry(ws, login, rendered.image_repository, rendered.image_tag)
    ):
        run.image = image
        raise StepSkipped(
            f"{rendered.image_name} is already in the registry: build skipped "
            "(ACR Tasks is not allowed in this subscription)"
        )
    if not docker_engine_available():
        raise without_tasks_or_engine(refused, image)
    build_and_push(
        ws,
        rendered.docker_context(),
        image,
        login=login,
        on_lines=run.lines(P.BUILD, "build"),
        on_progress=run.say(P.BUILD),
        cancel=run.engine.stop,
    )
    run.image = image
    return f"built {image} with the local Docker engine and pushed it (ACR Tasks is not allowed in this subscription)"


def _base_import(run: DeployRun) -> tuple[str, str, str] | None:
    """(build argument, Docker Hub source, copy) when the base image should come from the workspace registry."""
    from rdeploy_tui.deploy_folder.render import base_copy_name
    from rdeploy_tui.spec.base_images import is_docker_hub, split_reference

    base = run.spec.image.base
    if run.base_from_docker_hub or not is_docker_hub(base):
        return None
    _, repository, tag = split_reference(base)
    return ("BASE", f"{repository}:{tag}", base_copy_name(base))


def _resumable_build(run: DeployRun, run_id: str) -> str | None:
    """The earlier build run if it is still going or succeeded; None when it ended otherwise (build again)."""
    from rdeploy_tui.azure.acr import run_status_if_final

    registry = run.workspace().registry()
    tasks = run.session.tasks_client(registry.subscription_id)
    try:
        status = run_status_if_final(tasks, registry, run_id)
    except RdeployError:
        return None
    if status is None or status.lower() == "succeeded":
        run.engine.emit(
            StepProgress(
                P.BUILD, f"resuming: build run {run_id} from the previous deploy is {status or 'still running'}"
            )
        )
        return run_id
    run.engine.emit(
        StepProgress(P.BUILD, f"the build run {run_id} of the previous deploy ended {status}: building again")
    )
    return None


def create_endpoint(run: DeployRun) -> str:
    from rdeploy_tui.azure.online import Endpoints
    from rdeploy_tui.pipeline.expiry import expiry_tag

    e = run.spec.endpoint
    info = Endpoints(run.workspace()).create_or_update_endpoint(
        e.name,
        e.auth_mode,
        on_progress=run.say(P.ENDPOINT),
        cancel=run.engine.stop,
        tags=expiry_tag(run.spec.deployment.expires_after),
    )
    run.endpoint = info
    return f"endpoint {info.name} is ready ({info.auth_mode})"


def create_deployment(run: DeployRun) -> str:
    from rdeploy_tui.azure.online import Endpoints

    assert run.model_version is not None and run.image is not None, "prepare and build-image run first"
    request = deployment_request(run.spec, run.files(), run.model_version, run.image)
    fingerprint = deployment_fingerprint(request)
    endpoints = Endpoints(run.workspace())
    engine, previous = run.engine, run.engine.previous
    facts = engine.state.deployment  # what earlier runs sent to Azure and saw it run (kept across runs)
    if facts.ready == fingerprint:
        current = endpoints.find_deployment(request.endpoint, request.name)
        if current is not None and current.state.lower() == "succeeded":
            raise StepSkipped(
                f"deployment {request.name} already runs this image, model and settings: nothing to update"
            )
    # A run that was killed (or cancelled) after sending these very settings: wait for Azure's operation rather
    # than send another, which Azure would refuse while the first runs. Other settings are sent anew.
    interrupted = previous is not None and previous.step(P.DEPLOYMENT).status in ("running", "cancelled")
    resume = interrupted and facts.requested == fingerprint
    engine.emit(DeploymentRequested(P.DEPLOYMENT, request.name, fingerprint))
    info = endpoints.create_or_update_deployment(
        request,
        on_progress=run.say(P.DEPLOYMENT),
        on_logs=lambda container, lines: engine.emit(LogLines(P.DEPLOYMENT, container, tuple(lines))),
        cancel=engine.stop,
        resume=resume,
    )
    engine.emit(DeploymentReady(P.DEPLOYMENT, request.name, fingerprint))
    return f"deployment {info.name} is {info.state} ({info.instance_count} x {info.instance_type})"


def route_traffic(run: DeployRun) -> str:
    from rdeploy_tui.azure.online import Endpoints

    d = run.spec.deployment
    info = Endpoints(run.workspace()).route_to(
        run.spec.endpoint.name, d.name, d.traffic, on_progress=run.say(P.TRAFFIC), cancel=run.engine.stop
    )
    run.endpoint = info
    split = ", ".join(f"{k}={v}%" for k, v in sorted(info.traffic.items())) or "none"
    return f"traffic: {split}"


def smoke_score(run: DeployRun) -> str:
    from rdeploy_tui.azure.scoring import score
    from rdeploy_tui.scoring.result import double_encoding_message

    if not run.smoke_score:
        raise StepSkipped("smoke test not requested")
    say = run.say(P.SMOKE)
    say("sending the sample request")
    spec = run.spec
    result = score(run.workspace(), spec.endpoint.name, spec.scoring.sample_request, deployment=spec.deployment.name)
    run.score = result
    answer = result.text if len(result.text) <= 200 else result.text[:197] + "..."
    warning = double_encoding_message(result)
    run.engine.emit(LogLines(P.SMOKE, "score", (answer, warning) if warning else (answer,)))
    return f"HTTP {result.status} in {result.latency_ms:.0f} ms: {answer}"


def autoscale(run: DeployRun) -> str:
    from rdeploy_tui.pipeline import autoscale_step

    return autoscale_step.apply(run.spec, run.workspace())


# Each step of the plan (plan.py: ids, titles, dependencies) and the function that does it.
_WORK: dict[str, Callable[[DeployRun], str | None]] = {
    P.PREPARE: prepare,
    P.BUILD: build_image,
    P.ENDPOINT: create_endpoint,
    P.DEPLOYMENT: create_deployment,
    P.TRAFFIC: route_traffic,
    P.SMOKE: smoke_score,
    P.AUTOSCALE: autoscale,
}


def deploy_steps(spec: DeploySpec) -> list[Step[DeployRun]]:
    """The deploy as the engine runs it: the plan's steps, each bound to its function."""
    return [
        Step(s.id, build_title if s.id == P.BUILD else s.title, _WORK[s.id], s.needs) for s in P.make_plan(spec).steps
    ]


# ----- the end ------------------------------------------------------------------------------------------------
def _cost_sentence(run: DeployRun) -> str:
    """What the deployment costs while it lives (list price), or that the price is unknown; never fails the deploy."""
    from rdeploy_tui.azure.prices import cost_text

    d = run.spec.deployment
    region = run.ws.info.location if run.ws is not None else None
    try:
        now = f" Cost while it lives: {cost_text(run.session, region, d.instance_type, d.instance_count)}."
        if d.autoscale is None or d.autoscale.max <= d.instance_count:
            return now
        # Autoscale may add instances, each billed as the first: the ceiling is what users budget for.
        most = cost_text(run.session, region, d.instance_type, d.autoscale.max)
        return f"{now} Autoscaled to its maximum: {most}."
    except Exception:  # the price is a courtesy
        return ""


def _outcome(run: DeployRun, result: StepsResult) -> Outcome:
    from rdeploy_tui.pipeline.expiry import expiry_sentence

    spec, engine = run.spec, run.engine
    ep, dep = spec.endpoint.name, spec.deployment.name
    d = spec.deployment
    bill = (
        f"deployment {dep} ({d.instance_count} x {d.instance_type}) bills per instance-hour until you delete it: "
        + run.session.command("endpoints", "delete", ep)  # with the flags that reach this same Azure (--sandbox ...)
    )
    error = result.error
    tags = dict(run.endpoint.tags) if run.endpoint is not None else {}
    if error is None and not result.cancelled and not engine.cancel.is_set():
        status = "succeeded"
        uri = run.endpoint.scoring_uri if run.endpoint is not None else None
        summary = f"Endpoint {ep} is live" + (f" at {uri}" if uri else "") + f". The {bill}." + _cost_sentence(run)
        if expiry := expiry_sentence(tags, run.session.command("endpoints", "sweep")):  # the tag as Azure holds it
            summary += f" {expiry}."
    else:
        status = "cancelled" if error is None else "failed"
        stopped: list[str] = []
        # Asked only when this run sent something to Azure; what is left is read from Azure, not assumed.
        touched = any(engine.state.step(s).status != "pending" for s in (P.BUILD, P.ENDPOINT, P.DEPLOYMENT))
        left = _left_behind(run, bill, stopped) if touched else ["nothing was created in Azure"]
        head = "Deploy cancelled." if status == "cancelled" else f"Deploy failed: {error.what if error else ''}"
        summary = (
            head
            + "".join(f" {note}." for note in stopped)
            + " Left behind: "
            + "; ".join(left)
            + ". Run the same deploy again to resume where it stopped."
        )
    rendered = run.rendered
    return Outcome(
        status=status,
        summary=summary,
        endpoint=ep,
        deployment=dep,
        scoring_uri=run.endpoint.scoring_uri if run.endpoint is not None else None,
        image=run.image or (rendered.image if rendered else None),
        model=f"{spec.model.name}:{run.model_version}" if run.model_version else None,
        score=run.score,
        error=error,
        step_seconds=dict(result.seconds),
        tags=tags,
    )


def _left_behind(run: DeployRun, bill: str, stopped: list[str]) -> list[str]:
    """What this deploy leaves in Azure, read from Azure now (not from what was attempted: a refused request
    creates nothing, a cancelled build is over). Bounded calls; a failed check says so."""
    from rdeploy_tui.azure.online import Endpoints

    ep, dep = run.spec.endpoint.name, run.spec.deployment.name
    ws, state, left = run.ws, run.engine.state, []
    if ws is None:
        return ["nothing was created in Azure"]
    if run.build_run and state.step(P.BUILD).status in ("running", "failed", "cancelled"):
        left += _build_left(run, ws, run.build_run, stopped)
    try:
        info = Endpoints(ws).find(ep)
    except RdeployError as exc:
        show = run.session.command("endpoints", "show", ep)
        return [*left, f"could not check what exists in Azure ({exc.what}); see `{show}`"]
    if info is not None:
        deployment = next((x for x in info.deployments if x.name == dep), None)
        others = [x.name for x in info.deployments if x.name != dep]
        if deployment is None:
            extra = (
                f" with deployment(s) {', '.join(others)} from before"
                if others
                else " (an endpoint without deployments does not bill compute)"
            )
            left.append(f"endpoint {ep} exists, {info.state}{extra}")
        elif deployment.state.lower() == "failed":
            left.append(
                f"endpoint {ep} exists, {info.state}; deployment {dep} exists as Failed: it bills per instance-hour "
                "for any instances Azure allocated for it, until you delete it: "
                + run.session.command("endpoints", "delete", ep)
            )
        else:
            left.append(
                f"endpoint {ep} exists, {info.state}; deployment {dep} is {deployment.state} in Azure: the {bill}"
            )
    return left or ["nothing was created in Azure"]


def _build_left(run: DeployRun, ws: Workspace, run_id: str, stopped: list[str]) -> list[str]:
    """The build run as ACR has it now: still running (it bills build minutes) or cancelled by this run. A cancel
    takes ACR a moment: the run is read again for a few seconds before it is said to run on."""
    from rdeploy_tui.azure.acr import run_status_if_final

    try:
        registry = ws.registry()
        tasks = run.session.tasks_client(registry.subscription_id)
        final = run_status_if_final(tasks, registry, run_id)
        waited = threading.Event()
        for _ in range(10):
            if final is not None or run.engine.state.step(P.BUILD).status != "cancelled":
                break
            waited.wait(0.5)
            final = run_status_if_final(tasks, registry, run_id)
    except RdeployError as exc:
        return [f"image build run {run_id}: could not be checked ({exc.what})"]
    if final is None:
        return [f"image build run {run_id} still runs in ACR (it bills build minutes until it ends)"]
    if final.lower() in ("canceled", "cancelled"):
        stopped.append(f"The image build (run {run_id}) was cancelled in ACR")
    return []


def run_deploy(
    spec: DeploySpec,
    *,
    session: AzureConnection,
    sink: EventSink,
    base_dir: Path | None = None,
    cancel: threading.Event | None = None,
    force_build: bool = False,
    smoke_score: bool = True,
    store: ResumeStore | None = None,
    base_from_docker_hub: bool = False,
    image: str | None = None,
) -> Outcome:
    """Deploy `spec` through `session` (azure.connect(...)), emitting events to `sink`; returns the Outcome.

    Never raises RdeployError: failures are in Outcome.error and in StepFailed/PlanFinished events.
    Set `cancel` to stop: the build is cancelled in ACR; Azure-side endpoint/deployment operations go on
    and the summary says so. A second Ctrl+C (KeyboardInterrupt) in the calling thread leaves at once.
    """
    from rdeploy_tui.pipeline.target_lock import TargetLock

    w = spec.workspace
    target = target_key(w.subscription_id, w.resource_group, w.name, spec.endpoint.name, spec.deployment.name)
    store = store or ResumeStore()
    engine = Engine(
        kind="deploy",
        title="Deploy",
        target=target,
        store=store,
        lock=TargetLock(store.path(target), target),
        log_name=spec.endpoint.name,
        sink=sink,
        cancel=cancel,
    )
    run = DeployRun(
        spec,
        session,
        engine,
        base_dir=base_dir,
        force_build=force_build,
        smoke_score=smoke_score,
        base_from_docker_hub=base_from_docker_hub,
        image=image,
    )

    def body() -> Outcome:
        previous = engine.previous
        if previous is not None and previous.status == "running" and (stopped := previous.stopped_during()):
            engine.emit(
                StepProgress(P.PREPARE, f"resuming the previous deploy (it stopped during {', '.join(stopped)})")
            )
        # Beside a failed smoke score the traffic update finishes (seconds): the endpoint is left settled, not
        # Updating, which would refuse the next deploy as busy.
        result = engine.run_steps(deploy_steps(spec), run, keep_going_after=(P.SMOKE,))
        return _outcome(run, result)

    return engine.run(body)
