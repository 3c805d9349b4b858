"""Run the deploy plan: steps in dependency order (build ∥ endpoint), events out, state saved, resumable.

    outcome = run_deploy(spec, session=session, sink=print_event, cancel=threading.Event())

No Textual here: the TUI calls run_deploy from a thread worker and forwards events with
call_from_thread; the CLI prints them. The sink is called from several threads, one event at a time.

Resume: progress is saved (state.py) when a step starts, when the build run exists, and when a step
ends. The next run for the same target re-attaches to the build run that was going on, waits for an
endpoint or deployment Azure is still working on instead of sending another request, and skips
what is already done and unchanged. Create-or-update everywhere: a re-run never makes a second endpoint.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdeploy_tui.azure.capture import redact, sdk_lines, uncaptured
from rdeploy_tui.deploy_folder.render import ENTRY_SCRIPT, Rendered, render
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.locations import run_log
from rdeploy_tui.pipeline import plan as P
from rdeploy_tui.pipeline.events import (
    Event,
    EventSink,
    LogLines,
    PlanFinished,
    StepFailed,
    StepFinished,
    StepProgress,
    StepStarted,
    to_json,
)
from rdeploy_tui.pipeline.state import DeployState, StateStore, target_key
from rdeploy_tui.spec.deploy_spec import DeploySpec, SpecError


@dataclass
class Outcome:
    status: str  # succeeded | failed | cancelled
    summary: str
    endpoint: str
    deployment: str
    scoring_uri: str | None = None
    image: str | None = None
    model: str | None = None  # NAME:VERSION deployed
    score: Any = None  # rdeploy_tui.scoring.result.ScoreResult of the smoke test
    error: RdeployError | None = None
    log_file: Path | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # the endpoint's tags after the deploy (e.g. its expiry)


class _Skip(Exception):
    """A step found nothing to do; its message says why."""


class _Context:
    """What steps hand to each other (workspace, rendered files, image ...). Written once per key."""

    def __init__(self) -> None:
        self.ws: Any = None
        self.rendered: Rendered | None = None
        self.model_version: str | None = None
        self.image: str | None = None
        self.image_fresh = False  # built in this run
        self.endpoint: Any = None
        self.score: Any = None


def deployment_fingerprint(request: Any) -> str:
    """Changes exactly when what Azure would deploy changes (image, model, code, sizing, probes, routes)."""
    data = {k: v for k, v in request.__dict__.items() if k != "code_files"}
    data["code"] = {k: hashlib.sha256(v).hexdigest() for k, v in sorted(request.code_files.items())}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Runner:
    def __init__(
        self,
        spec: DeploySpec,
        *,
        session: Any,
        sink: EventSink,
        base_dir: Path | None = None,
        cancel: threading.Event | None = None,
        force_build: bool = False,
        smoke_score: bool = True,
        store: StateStore | None = None,
        base_from_docker_hub: bool = False,
        image: str | None = None,
    ) -> None:
        self.spec = spec
        self.image_override = image  # `deploy --image REF`: an image built elsewhere; no build
        self.base_from_docker_hub = base_from_docker_hub  # skip copying the base image into the workspace registry
        self.session = session
        self.base_dir = base_dir
        self.cancel = cancel or threading.Event()
        self.stop = threading.Event()  # set on cancel or on the first failure: running steps stop waiting
        self.force_build = force_build
        self.smoke_score = smoke_score
        self.store = store or StateStore()
        self.plan = P.make_plan(spec)
        w = spec.workspace
        self.target = target_key(w.subscription_id, w.resource_group, w.name, spec.endpoint.name, spec.deployment.name)
        self.previous = self.store.load(self.target)
        self.state = DeployState(self.target)
        self.ctx = _Context()
        self._sink = sink
        self._emit_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._running: list[str] = []
        self.log_file: Path | None = run_log("deploy", spec.endpoint.name)
        self._log_handle: Any = None

    # ----- plumbing -----
    def emit(self, event: Event) -> None:
        with self._emit_lock:
            if isinstance(event, LogLines):
                event = LogLines(event.step, event.source, tuple(redact(line) for line in event.lines), event.at)
            if self._log_handle is not None:
                try:
                    self._log_handle.write(json.dumps(to_json(event), default=str) + "\n")
                    self._log_handle.flush()
                except OSError:
                    pass
            try:
                with uncaptured():  # the sink may print (CLI); that is our output, not the SDK's
                    self._sink(event)
            except Exception:  # a broken listener must not break the deploy
                pass

    def _record(self, step_id: str, status: str, message: str = "", **data: Any) -> None:
        with self._state_lock:
            record = self.state.step(step_id)
            record.status = status
            now = time.time()
            if status == "running":
                record.started_at = now
            else:
                record.finished_at = now
            if message:
                record.message = message
            record.data.update(data)
            self.store.save(self.state)

    def _previous(self, step_id: str) -> Any:
        return self.previous.steps.get(step_id) if self.previous else None

    def _progress(self, step_id: str) -> Callable[[str], None]:
        last: list[str] = [""]

        def say(message: str) -> None:
            if message != last[0]:  # pollers repeat themselves; listeners get changes only
                last[0] = message
                self.emit(StepProgress(step_id, message))

        return say

    # ----- the loop -----
    def run(self) -> Outcome:
        from rdeploy_tui.pipeline.target_lock import TargetLock

        lock = TargetLock(self.store.path(self.target), self.target)
        try:
            lock.acquire()
        except RdeployError as busy:
            return self._refused(busy)
        try:
            self.previous = self.store.load(self.target)  # read under the lock: the holder may have changed it
            for notice in self.store.notices:
                self.emit(StepProgress(P.PREPARE, f"warning: {notice}"))
            self.store.notices.clear()
            return self._run()
        except RdeployError as exc:  # the resume file cannot be written: nothing was sent to Azure
            if self._log_handle is not None:
                self._log_handle.close()
            return self._refused(exc)
        finally:
            lock.release()

    def _refused(self, error: RdeployError) -> Outcome:
        """The deploy could not begin (another one holds the target, the resume file is unusable)."""
        summary = f"Deploy failed: {error.what} {error.next_step or ''}".strip()
        self.emit(PlanFinished("failed", summary))
        spec = self.spec
        return Outcome(
            status="failed", summary=summary, endpoint=spec.endpoint.name, deployment=spec.deployment.name, error=error
        )

    def _run(self) -> Outcome:
        try:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log_handle = open(self.log_file, "a", encoding="utf-8")
        except OSError:
            self._log_handle = None
            self.log_file = None  # never point the user at a log that was not written
        if self.previous is not None and self.previous.status == "running":
            unfinished = [k for k, v in self.previous.steps.items() if v.status in ("running", "cancelled", "failed")]
            if unfinished:
                self.emit(
                    StepProgress(P.PREPARE, f"resuming the previous deploy (it stopped during {', '.join(unfinished)})")
                )
        for step_id in self.plan.ids:  # carry over what later runs need to resume (build run id, fingerprints)
            prev = self._previous(step_id)
            if prev is not None:
                self.state.step(step_id).data.update(prev.data)
        self.store.save(self.state)
        results: queue.Queue[tuple[str, str, Any]] = queue.Queue()
        started: set[str] = set()
        finished: set[str] = set()
        failures: list[tuple[str, RdeployError]] = []
        cancelled: list[str] = []
        timings: dict[str, float] = {}
        interrupted = False
        with sdk_lines(
            lambda line: self.emit(LogLines(self._running[-1] if self._running else P.PREPARE, "sdk", (line,)))
        ):
            while True:
                if not self.stop.is_set() and not failures:
                    for step in self.plan.ready(finished, started):
                        started.add(step.id)
                        self._launch(step, results)
                if len(finished) + len(failures) + len(cancelled) == len(started):
                    break
                try:
                    step_id, kind, payload = results.get(timeout=0.2)
                except queue.Empty:
                    if self.cancel.is_set():
                        self.stop.set()
                    continue
                except KeyboardInterrupt:
                    if interrupted:
                        raise  # second Ctrl+C: leave now; the state file lets the next run resume
                    interrupted = True
                    self.cancel.set()
                    self.stop.set()
                    continue
                timings[step_id] = payload[1] if isinstance(payload, tuple) else 0.0
                if kind in ("done", "skipped"):
                    finished.add(step_id)
                elif kind == "cancelled":
                    cancelled.append(step_id)
                else:
                    failures.append((step_id, payload[0]))
                    # Running steps stop waiting on the first failure, except beside a failed smoke score: the
                    # deployment is live already and the traffic update finishes in seconds, leaving the endpoint
                    # settled rather than Updating (which would refuse the next deploy as busy).
                    if step_id != P.SMOKE:
                        self.stop.set()
        return self._finish(failures, cancelled, finished, timings)

    def _launch(self, step: P.Step, results: queue.Queue[tuple[str, str, Any]]) -> None:
        def work() -> None:
            started = time.monotonic()
            self._running.append(step.id)
            self._record(step.id, "running")
            self.emit(StepStarted(step.id, self._title(step)))
            try:
                message = getattr(self, "_step_" + step.id.replace("-", "_"))()
                self._record(step.id, "done", message or "")
                self.emit(StepFinished(step.id, "done", message or ""))
                results.put((step.id, "done", (None, time.monotonic() - started)))
            except _Skip as skip:
                self._record(step.id, "skipped", str(skip))
                self.emit(StepFinished(step.id, "skipped", str(skip)))
                results.put((step.id, "skipped", (None, time.monotonic() - started)))
            except RdeployError as exc:
                if exc.code == "Cancelled":
                    self._record(step.id, "cancelled", exc.what)
                    self.emit(StepFailed(step.id, exc.what, exc.next_step, exc.details, "Cancelled"))
                    results.put((step.id, "cancelled", (exc, time.monotonic() - started)))
                else:
                    self._record(step.id, "failed", exc.what)
                    self.emit(StepFailed(step.id, exc.what, exc.next_step, exc.details, exc.code))
                    results.put((step.id, "failed", (exc, time.monotonic() - started)))
            except Exception as exc:  # a bug or an SDK surprise: explained, never a traceback
                from rdeploy_tui.azure.errors import explain

                error = explain(exc, self._title(step).lower())
                self._record(step.id, "failed", error.what)
                self.emit(StepFailed(step.id, error.what, error.next_step, error.details, error.code))
                results.put((step.id, "failed", (error, time.monotonic() - started)))
            finally:
                if step.id in self._running:
                    self._running.remove(step.id)

        threading.Thread(target=work, name=f"rdeploy-{step.id}", daemon=True).start()

    def _title(self, step: P.Step) -> str:
        if step.id == P.BUILD and self.ctx.rendered is not None:
            registry = self.ctx.ws.registry().name if self.ctx.ws is not None else None
            return (
                P.make_plan(self.spec, image_name=self.ctx.rendered.image_name, registry=registry).step(P.BUILD).title
            )
        return step.title

    # ----- the steps -----
    def _step_prepare(self) -> str:
        from rdeploy_tui.azure.workspace import Workspace

        w = self.spec.workspace
        say = self._progress(P.PREPARE)
        who = self.session.identity()
        say(f"signed in as {who}")
        ws = Workspace.open(self.session, w.subscription_id, w.resource_group, w.name)
        # The model lookup and the registry lookup are independent round trips: side by side.
        model: dict[str, Any] = {}

        def resolve() -> None:
            try:
                model["version"] = ws.resolve_model_version(self.spec.model.name, self.spec.model.version)
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
            rendered = render(self.spec, base_dir=self.base_dir, registry=registry.login_server)
        except SpecError as exc:
            raise RdeployError(
                "The deploy spec has errors.",
                "Run `rdeploy-tui validate` and fix them.",
                details=str(exc),
                code="SpecError",
            ) from None
        if not self.image_override:  # an image built elsewhere installs what it installs
            self._check_package_names(say)
        self.ctx.ws, self.ctx.rendered, self.ctx.model_version = ws, rendered, version
        latest = " (latest)" if self.spec.model.version == "latest" else ""
        return f"model {self.spec.model.name}:{version}{latest}; image {rendered.image}"

    def _check_package_names(self, say: Any) -> None:
        """Every requested package must be in the repository the build installs from (issue 13.5)."""
        from rdeploy_tui.deploy_folder.render import package_repository, r_packages
        from rdeploy_tui.pipeline.package_index import check_packages

        repo = self.session.options.package_index_url or package_repository(self.spec)
        if not repo:
            say("R package names not checked: the base image's package repository is not known")
            return
        verify = getattr(self.session, "ca_bundle", None) or True
        check = check_packages(r_packages(self.spec), repo, verify=verify)
        if not check.read:
            say(f"R package names not checked: could not read the package index of {repo} ({check.reason[:120]})")
            return
        if check.unknown:
            names = "; ".join(
                f"{p}" + (f" (did you mean {', '.join(near)}?)" if near else "") for p, near in check.unknown.items()
            )
            raise RdeployError(
                f"R packages not in the package repository {repo}: {names}.",
                "Fix the names in image.r_packages (CRAN names are case-sensitive), then deploy again.",
                code="UnknownRPackage",
            )
        say(f"{len(r_packages(self.spec))} R package names found in {repo}")

    def _step_build_image(self) -> str:
        from rdeploy_tui.azure.acr import build_image

        rendered = self.ctx.rendered
        assert rendered is not None
        if self.image_override:
            self.ctx.image = self.image_override
            raise _Skip(f"using the image {self.image_override} given with --image: build skipped")
        prev = self._previous(P.BUILD)
        run_id = None
        if (
            prev is not None
            and prev.status in ("running", "cancelled")
            and prev.data.get("image") == rendered.image
            and prev.data.get("run_id")
        ):
            run_id = self._resumable_build(prev.data["run_id"])
        self._record(P.BUILD, "running", image=rendered.image, run_id=run_id)
        try:
            result = build_image(
                self.ctx.ws,
                rendered.docker_context(),
                rendered.image_repository,
                rendered.image_tag,
                on_lines=lambda lines: self.emit(LogLines(P.BUILD, "build", tuple(lines))),
                on_progress=self._progress(P.BUILD),
                on_run_id=lambda rid: self._record(P.BUILD, "running", run_id=rid),
                cancel=self.stop,
                run_id=run_id,
                force=self.force_build,
                base_import=self._base_import(),
            )
        except RdeployError as exc:
            if exc.code == "TasksOperationsNotAllowed":
                return self._build_locally(exc)
            raise
        self.ctx.image = result.image
        if result.skipped:
            raise _Skip(
                f"{rendered.image_name} is already in the registry (built by run {result.run_id}): build skipped"
            )
        self.ctx.image_fresh = True
        return f"built {result.image} (run {result.run_id})"

    def _build_locally(self, refused: RdeployError) -> str:
        """ACR Tasks is not allowed: this machine's Docker engine builds and pushes instead (issue 13.7). A tag that is
        in the registry already (pushed by an earlier run, or by hand) is not built again, engine or not."""
        from rdeploy_tui.azure.acr_login import image_in_registry, registry_login
        from rdeploy_tui.local.docker import docker_engine_available
        from rdeploy_tui.pipeline.local_build import build_and_push, without_tasks_or_engine

        rendered = self.ctx.rendered
        assert rendered is not None
        image = f"{self.ctx.ws.registry().login_server}/{rendered.image_repository}:{rendered.image_tag}"
        login = None
        try:
            login = registry_login(self.ctx.ws)
        except RdeployError:
            pass  # explained below: by the local path when an engine answers, else by the two ways forward
        if (
            login is not None
            and not self.force_build
            and image_in_registry(self.ctx.ws, login, rendered.image_repository, rendered.image_tag)
        ):
            self.ctx.image = image
            raise _Skip(
                f"{rendered.image_name} is already in the registry: build skipped (ACR Tasks is not allowed in this subscription)"
            )
        if not docker_engine_available():
            raise without_tasks_or_engine(refused, image)
        build_and_push(
            self.ctx.ws,
            rendered.docker_context(),
            image,
            login=login,
            on_lines=lambda lines: self.emit(LogLines(P.BUILD, "build", tuple(lines))),
            on_progress=self._progress(P.BUILD),
            cancel=self.stop,
        )
        self.ctx.image = image
        self.ctx.image_fresh = True
        return (
            f"built {image} with the local Docker engine and pushed it (ACR Tasks is not allowed in this subscription)"
        )

    def _base_import(self) -> tuple[str, str, str] | None:
        """(build argument, Docker Hub source, copy) when the base image should come from the workspace registry."""
        from rdeploy_tui.deploy_folder.render import base_copy_name
        from rdeploy_tui.spec.base_images import is_docker_hub, split_reference

        base = self.spec.image.base
        if self.base_from_docker_hub or not is_docker_hub(base):
            return None
        _, repository, tag = split_reference(base)
        return ("BASE", f"{repository}:{tag}", base_copy_name(base))

    def _resumable_build(self, run_id: str) -> str | None:
        """The earlier build run if it is still going or succeeded; None when it ended otherwise (build again)."""
        from rdeploy_tui.azure.acr import _run_status_if_final

        registry = self.ctx.ws.registry()
        tasks = self.session.tasks_client(registry.subscription_id)
        try:
            status = _run_status_if_final(tasks, registry, run_id)
        except RdeployError:
            return None
        if status is None or status.lower() == "succeeded":
            self.emit(
                StepProgress(
                    P.BUILD, f"resuming: build run {run_id} from the previous deploy is {status or 'still running'}"
                )
            )
            return run_id
        self.emit(
            StepProgress(P.BUILD, f"the build run {run_id} of the previous deploy ended {status}: building again")
        )
        return None

    def _step_create_endpoint(self) -> str:
        from rdeploy_tui.azure.online import Endpoints
        from rdeploy_tui.pipeline.expiry import expiry_tag

        e = self.spec.endpoint
        info = Endpoints(self.ctx.ws).create_or_update_endpoint(
            e.name,
            e.auth_mode,
            on_progress=self._progress(P.ENDPOINT),
            cancel=self.stop,
            tags=expiry_tag(self.spec.deployment.expires_after),
        )
        self.ctx.endpoint = info
        return f"endpoint {info.name} is ready ({info.auth_mode})"

    def _deployment_request(self) -> Any:
        from rdeploy_tui.azure.online import DeploymentRequest

        rendered, spec = self.ctx.rendered, self.spec
        assert rendered is not None and self.ctx.image is not None
        d, routes, p = spec.deployment, spec.scoring.routes, spec.deployment.probes
        return DeploymentRequest(
            endpoint=spec.endpoint.name,
            name=d.name,
            model=f"{spec.model.name}:{self.ctx.model_version}",
            image=self.ctx.image,
            code_files={k[len("src/") :]: v for k, v in rendered.files.items() if k.startswith("src/")},
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

    def _step_create_deployment(self) -> str:
        from rdeploy_tui.azure.online import Endpoints

        request = self._deployment_request()
        fingerprint = deployment_fingerprint(request)
        endpoints = Endpoints(self.ctx.ws)
        prev = self._previous(P.DEPLOYMENT)
        # "skipped" too: a skip records that status, and unchanged must stay skipped run after run (issue 15).
        if prev is not None and prev.status in ("done", "skipped") and prev.data.get("fingerprint") == fingerprint:
            current = endpoints.find_deployment(request.endpoint, request.name)
            if current is not None and current.state.lower() == "succeeded":
                self._record(P.DEPLOYMENT, "running", fingerprint=fingerprint)
                raise _Skip(f"deployment {request.name} already runs this image, model and settings: nothing to update")
        resume = (
            prev is not None and prev.status in ("running", "cancelled") and prev.data.get("fingerprint") == fingerprint
        )
        self._record(P.DEPLOYMENT, "running", fingerprint=None, sent_fingerprint=fingerprint)
        info = endpoints.create_or_update_deployment(
            request,
            on_progress=self._progress(P.DEPLOYMENT),
            on_logs=lambda container, lines: self.emit(LogLines(P.DEPLOYMENT, container, tuple(lines))),
            cancel=self.stop,
            resume=resume or (prev is not None and prev.status == "running"),
        )
        self._record(P.DEPLOYMENT, "running", fingerprint=fingerprint)
        return f"deployment {info.name} is {info.state} ({info.instance_count} x {info.instance_type})"

    def _step_route_traffic(self) -> str:
        from rdeploy_tui.azure.online import Endpoints

        d = self.spec.deployment
        info = Endpoints(self.ctx.ws).route_to(
            self.spec.endpoint.name, d.name, d.traffic, on_progress=self._progress(P.TRAFFIC), cancel=self.stop
        )
        self.ctx.endpoint = info
        split = ", ".join(f"{k}={v}%" for k, v in sorted(info.traffic.items())) or "none"
        return f"traffic: {split}"

    def _step_smoke_score(self) -> str:
        from rdeploy_tui.azure.scoring import score
        from rdeploy_tui.scoring.result import double_encoding_message

        if not self.smoke_score:
            raise _Skip("smoke test not requested")
        say = self._progress(P.SMOKE)
        say("sending the sample request")
        result = score(
            self.ctx.ws, self.spec.endpoint.name, self.spec.scoring.sample_request, deployment=self.spec.deployment.name
        )
        self.ctx.score = result
        answer = result.text if len(result.text) <= 200 else result.text[:197] + "..."
        warning = double_encoding_message(result)
        self.emit(LogLines(P.SMOKE, "score", (answer, warning) if warning else (answer,)))
        return f"HTTP {result.status} in {result.latency_ms:.0f} ms: {answer}"

    def _step_autoscale(self) -> str:
        from rdeploy_tui.pipeline import autoscale_step

        return autoscale_step.apply(self.spec, self.ctx.ws)

    # ----- the end -----
    def _cost_sentence(self) -> str:
        """What the deployment costs while it lives (list price), or that the price is unknown; never fails the deploy."""
        from rdeploy_tui.azure.prices import cost_text

        d = self.spec.deployment
        region = getattr(getattr(self.ctx.ws, "info", None), "location", None)
        try:
            return f" Cost while it lives: {cost_text(self.session, region, d.instance_type, d.instance_count)}."
        except Exception:  # the price is a courtesy
            return ""

    def _finish(
        self,
        failures: list[tuple[str, RdeployError]],
        cancelled: list[str],
        finished: set[str],
        timings: dict[str, float],
    ) -> Outcome:
        from rdeploy_tui.pipeline.expiry import expiry_sentence

        spec = self.spec
        ep, dep = spec.endpoint.name, spec.deployment.name
        endpoint_exists = P.ENDPOINT in finished or (
            self.state.step(P.ENDPOINT).status in ("running", "cancelled", "failed")
            and self.state.step(P.ENDPOINT).started_at is not None
        )
        deployment_touched = self.state.step(P.DEPLOYMENT).started_at is not None
        d = spec.deployment
        bill = f"deployment {dep} ({d.instance_count} x {d.instance_type}) bills per instance-hour until you delete it: rdeploy-tui endpoints delete {ep}"
        error = failures[0][1] if failures else None
        if error is None and not cancelled and not self.cancel.is_set():
            status = "succeeded"
            uri = getattr(self.ctx.endpoint, "scoring_uri", None)
            summary = (
                f"Endpoint {ep} is live" + (f" at {uri}" if uri else "") + f". The {bill}." + self._cost_sentence()
            )
            if expiry := expiry_sentence(getattr(self.ctx.endpoint, "tags", None)):  # the tag as Azure holds it now
                summary += f" {expiry}."
        else:
            status = "cancelled" if error is None else "failed"
            attempted = endpoint_exists or deployment_touched or bool(self.state.step(P.BUILD).data.get("run_id"))
            stopped: list[str] = []
            left = self._left_behind(bill, stopped) if attempted else ["nothing was created in Azure"]
            head = "Deploy cancelled." if status == "cancelled" else f"Deploy failed: {error.what}"
            summary = (
                head
                + "".join(f" {note}." for note in stopped)
                + " Left behind: "
                + "; ".join(left)
                + ". Run the same deploy again to resume where it stopped."
            )
        self.state.status = status
        with self._state_lock:
            self.store.save(self.state)
        self.emit(PlanFinished(status, summary))
        if self._log_handle is not None:
            self._log_handle.close()
        rendered = self.ctx.rendered
        return Outcome(
            status=status,
            summary=summary,
            endpoint=ep,
            deployment=dep,
            scoring_uri=getattr(self.ctx.endpoint, "scoring_uri", None),
            image=self.ctx.image or (rendered.image if rendered else None),
            model=f"{spec.model.name}:{self.ctx.model_version}" if self.ctx.model_version else None,
            score=self.ctx.score,
            error=error,
            log_file=self.log_file,
            step_seconds=timings,
            tags=dict(getattr(self.ctx.endpoint, "tags", None) or {}),
        )

    def _left_behind(self, bill: str, stopped: list[str]) -> list[str]:
        """What this deploy leaves in Azure, read from Azure now (not from what was attempted: a refused
        request creates nothing, a cancelled build is over). Bounded calls; a failed check says so."""
        from rdeploy_tui.azure.online import Endpoints

        ep, dep = self.spec.endpoint.name, self.spec.deployment.name
        ws, left = self.ctx.ws, []
        if ws is None:
            return ["nothing was created in Azure"]
        run_id = self.state.step(P.BUILD).data.get("run_id")
        if run_id and self.state.step(P.BUILD).status not in ("done", "skipped"):
            try:
                from rdeploy_tui.azure.acr import _run_status_if_final

                registry = ws.registry()
                final = _run_status_if_final(self.session.tasks_client(registry.subscription_id), registry, run_id)
                if final is None:
                    left.append(f"image build run {run_id} still runs in ACR (it bills build minutes until it ends)")
                elif final.lower() in ("canceled", "cancelled"):
                    stopped.append(f"The image build (run {run_id}) was cancelled in ACR")
            except RdeployError as exc:
                left.append(f"image build run {run_id}: could not be checked ({exc.what})")
        try:
            info = Endpoints(ws).find(ep)
        except RdeployError as exc:
            return left + [f"could not check what exists in Azure ({exc.what}); see `rdeploy-tui endpoints show {ep}`"]
        if info is not None:
            deployment = next((d for d in info.deployments if d.name == dep), None)
            others = [d.name for d in info.deployments if d.name != dep]
            if deployment is None:
                extra = (
                    f" with deployment(s) {', '.join(others)} from before"
                    if others
                    else " (an endpoint without deployments does not bill compute)"
                )
                left.append(f"endpoint {ep} exists, {info.state}{extra}")
            elif deployment.state.lower() == "failed":
                left.append(
                    f"endpoint {ep} exists, {info.state}; deployment {dep} exists as Failed: it bills per instance-hour for "
                    f"any instances Azure allocated for it, until you delete it: rdeploy-tui endpoints delete {ep}"
                )
            else:
                left.append(
                    f"endpoint {ep} exists, {info.state}; deployment {dep} is {deployment.state} in Azure: the {bill}"
                )
        return left or ["nothing was created in Azure"]


def run_deploy(
    spec: DeploySpec,
    *,
    session: Any,
    sink: EventSink,
    base_dir: Path | None = None,
    cancel: threading.Event | None = None,
    force_build: bool = False,
    smoke_score: bool = True,
    store: StateStore | None = None,
    base_from_docker_hub: bool = False,
    image: str | None = None,
) -> Outcome:
    """Deploy `spec` through `session` (azure.connect(...)), emitting events to `sink`; returns the Outcome.

    Never raises RdeployError: failures are in Outcome.error and in StepFailed/PlanFinished events.
    Set `cancel` to stop: the build is cancelled in ACR; Azure-side endpoint/deployment operations go on
    and the summary says so. A second Ctrl+C (KeyboardInterrupt) in the calling thread leaves at once.
    """
    return Runner(
        spec,
        session=session,
        sink=sink,
        base_dir=base_dir,
        cancel=cancel,
        force_build=force_build,
        smoke_score=smoke_score,
        store=store,
        base_from_docker_hub=base_from_docker_hub,
        image=image,
    ).run()
