"""Safe rollout of a new deployment beside the one serving: deploy at 0 %, smoke test, optional mirrored
traffic, a staged shift (10 -> 50 -> 100 %) watched against thresholds, and an automatic rollback.

    outcome = run_rollout(spec, session=session, sink=print_event, options=RolloutOptions(keep_old=True))

The new deployment (B) is deployed by the deploy pipeline itself (runner.run_deploy with traffic 0: build
skip, resume, logs, and its smoke score by the azureml-model-deployment header). At every stage B and the old
deployment (A) answer the same requests (scoring.load_test, each by name): B's error rate, p50/p95 latency
against A's and whether its answers differ beyond a tolerance decide (judge_stage). Crossing a threshold
moves all traffic back to A; B stays for its logs (deleted with delete_failed) and a report is written.

Resumable: progress is saved per endpoint (locations.rollouts_dir()); the next run for the endpoint
continues with the same A and B from B's current share. One rollout per endpoint at a time: a file lock on this
machine, and a lease in the endpoint's tags that other machines see (pipeline/endpoint_lease.py).
No Textual here: the wizard runs this in a worker and steers it with a RolloutControl.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.locations import locks_dir, rollouts_dir, run_log
from rdeploy_tui.pipeline import stage_metrics
from rdeploy_tui.pipeline.events import (
    Event,
    EventSink,
    PlanFinished,
    StepFailed,
    StepFinished,
    StepProgress,
    StepStarted,
    to_json,
)
from rdeploy_tui.spec.deploy_spec import DeploySpec, RolloutSpec

DEPLOY_NEW = "deploy-new"
MIRROR = "mirror"
FINISH = "retire-old"
ROLLBACK = "rollback"
_SCORE_LINE = re.compile(r"score: HTTP (\d+) in (\d+) ms")  # the line assets/plumber.R logs per request
_OTHER_COLOUR = {"blue": "green", "green": "blue"}


def stage_id(percent: int) -> str:
    return f"stage-{percent}"


@dataclass(frozen=True)
class StageMeasured:
    """One comparison round of a stage: the old and the new deployment on the same requests."""

    step: str  # "stage-10", "mirror"
    old: str
    new: str
    old_sent: int
    old_errors: int
    new_sent: int
    new_errors: int
    old_p50: float | None
    old_p95: float | None
    new_p50: float | None
    new_p95: float | None
    compared: int  # new answers that had an old answer to compare with
    mismatches: int  # ... that differed beyond the tolerance
    verdict: str | None = None  # None: within the thresholds; else which one was crossed and how
    at: float = field(default_factory=time.time)

    def line(self) -> str:
        def ms(v: float | None) -> str:
            return "-" if v is None else f"{v:.0f}"

        return (
            f"{self.new}: {self.new_errors}/{self.new_sent} errors, p50 {ms(self.new_p50)} ms, p95 {ms(self.new_p95)} ms · "
            f"{self.old}: {self.old_errors}/{self.old_sent} errors, p50 {ms(self.old_p50)} ms, p95 {ms(self.old_p95)} ms · "
            f"answers differ {self.mismatches}/{self.compared}"
        )


@dataclass
class RolloutOptions:
    new_deployment: str | None = None  # None: spec.deployment.name (the other of blue/green when that one serves)
    keep_old: bool = False  # at 100 %: keep the old deployment at 0 % (it still bills) instead of deleting it
    delete_failed: bool = False  # on rollback: delete the new deployment instead of keeping it for its logs
    force_build: bool = False
    requests: list[Any] | None = None  # request bodies to compare on; None: spec.rollout.requests_file or the sample
    take_lock: bool = False  # take the endpoint's rollout lock even from a live holder (the user knows it is gone)


class RolloutControl:
    """Hand steering from a screen: advance (end the current hold), hold (pause), roll back."""

    def __init__(self) -> None:
        self.advance = threading.Event()
        self.hold = threading.Event()
        self.rollback = threading.Event()


@dataclass
class RolloutOutcome:
    status: str  # succeeded | rolled-back | failed | cancelled
    summary: str
    endpoint: str
    old: str | None = None
    new: str | None = None
    reason: str | None = None  # why it rolled back
    stages: list[dict[str, Any]] = field(default_factory=list)  # what was seen, per stage (the report)
    report_file: Path | None = None
    log_file: Path | None = None
    error: RdeployError | None = None
    seconds: float = 0.0


# ----- the judgement -----------------------------------------------------------------------------
@dataclass
class _Tally:
    """Both deployments' results in one stage so far."""

    old_latencies: list[float] = field(default_factory=list)
    new_latencies: list[float] = field(default_factory=list)
    old_sent: int = 0
    old_errors: int = 0
    new_sent: int = 0
    new_errors: int = 0
    compared: int = 0
    mismatches: int = 0

    def measured(self, step: str, old: str, new: str, verdict: str | None = None) -> StageMeasured:
        from rdeploy_tui.scoring.load_test import percentile

        return StageMeasured(
            step,
            old,
            new,
            self.old_sent,
            self.old_errors,
            self.new_sent,
            self.new_errors,
            percentile(self.old_latencies, 50),
            percentile(self.old_latencies, 95),
            percentile(self.new_latencies, 50),
            percentile(self.new_latencies, 95),
            self.compared,
            self.mismatches,
            verdict,
        )


def judge_stage(m: StageMeasured, r: RolloutSpec) -> str | None:
    """Which threshold the new deployment crossed (a sentence), or None. Pure."""
    if m.new_sent:
        new_rate = m.new_errors / m.new_sent
        old_rate = m.old_errors / m.old_sent if m.old_sent else 0.0
        if new_rate > old_rate + r.max_error_rate:
            return (
                f"error rate {new_rate:.0%} ({m.new_errors} of {m.new_sent}) against {old_rate:.0%} for {m.old}; "
                f"at most {r.max_error_rate:.0%} more is allowed (rollout.max_error_rate)"
            )
    for q, new_v, old_v, limit, key in (
        (50, m.new_p50, m.old_p50, r.max_p50_ratio, "max_p50_ratio"),
        (95, m.new_p95, m.old_p95, r.max_p95_ratio, "max_p95_ratio"),
    ):
        if new_v is None or old_v is None:
            continue
        if new_v > old_v * limit and new_v - old_v > r.latency_slack_ms:
            return (
                f"p{q} latency {new_v:.0f} ms against {old_v:.0f} ms for {m.old} ({new_v / max(old_v, 0.001):.1f}x; "
                f"at most {limit:g}x is allowed, rollout.{key})"
            )
    if m.compared and m.mismatches / m.compared > r.max_answer_mismatch:
        return (
            f"{m.mismatches} of {m.compared} answers differ from {m.old}'s beyond a relative tolerance of {r.answer_tolerance:g} "
            f"(rollout.answer_tolerance; at most {r.max_answer_mismatch:.0%} may differ, rollout.max_answer_mismatch)"
        )
    return None


def load_requests(spec: DeploySpec, base_dir: Path | None) -> list[Any]:
    """The request bodies to compare on: rollout.requests_file (a JSON list, or one body), else the sample request."""
    path = spec.rollout.requests_file
    if not path:
        return [spec.scoring.sample_request]
    file = Path(path) if Path(path).is_absolute() or base_dir is None else base_dir / path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RdeployError(
            f"Cannot read the rollout's requests file {file}: {exc.strerror}.",
            "Fix rollout.requests_file in the spec.",
            code="Usage",
        ) from None
    except ValueError as exc:
        raise RdeployError(
            f"The rollout's requests file {file} is not JSON: {exc}.",
            "Give a JSON list of request bodies.",
            code="Usage",
        ) from None
    bodies = data if isinstance(data, list) and data and not isinstance(data[0], (int, float, str)) else [data]
    return bodies


# ----- progress on disk --------------------------------------------------------------------------
def _endpoint_key(spec: DeploySpec) -> str:
    w = spec.workspace
    ident = "/".join(x.lower() for x in (w.subscription_id, w.resource_group, w.name, spec.endpoint.name))
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', spec.endpoint.name)}-{hashlib.sha256(ident.encode()).hexdigest()[:10]}"


def _state_path(spec: DeploySpec) -> Path:
    return rollouts_dir() / f"{_endpoint_key(spec)}.json"


def load_progress(spec: DeploySpec) -> dict[str, Any] | None:
    try:
        data = json.loads(_state_path(spec).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def _save_progress(spec: DeploySpec, data: dict[str, Any]) -> None:
    path = _state_path(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, default=str)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ----- the run -----------------------------------------------------------------------------------
class _RolledBack(Exception):
    def __init__(self, reason: str, stage: str) -> None:
        super().__init__(reason)
        self.reason, self.stage = reason, stage


class _Cancelled(Exception):
    pass


class Rollout:
    def __init__(
        self,
        spec: DeploySpec,
        *,
        session: Any,
        sink: EventSink,
        options: RolloutOptions | None = None,
        base_dir: Path | None = None,
        cancel: threading.Event | None = None,
        control: RolloutControl | None = None,
    ) -> None:
        self.spec = spec
        self.session = session
        self.options = options or RolloutOptions()
        self.base_dir = base_dir
        self.cancel = cancel or threading.Event()
        self.control = control or RolloutControl()
        self._sink = sink
        self._lock = threading.Lock()
        self.log_file = run_log("rollout", spec.endpoint.name)
        self._log: Any = None
        self.stages: list[dict[str, Any]] = []
        self.progress: dict[str, Any] = {}
        self.ws: Any = None
        self.old = ""
        self.new = ""
        self._scoring: Any = None
        self._lease: Any = None  # pipeline.endpoint_lease.EndpointLease, once taken

    def emit(self, event: Event | StageMeasured) -> None:
        with self._lock:
            if self._log is not None:
                try:
                    self._log.write(json.dumps(to_json(event), default=str) + "\n")  # type: ignore[arg-type]
                    self._log.flush()
                except OSError:
                    pass
            try:
                self._sink(event)  # type: ignore[arg-type]
            except Exception:  # a broken listener must not break the rollout
                pass

    def _save(self, **changes: Any) -> None:
        self.progress.update(changes, updated_at=time.time())
        _save_progress(self.spec, self.progress)

    # ----- entry -----
    def run(self) -> RolloutOutcome:
        from filelock import FileLock, Timeout

        started = time.monotonic()
        lock_path = locks_dir() / f"rollout-{_endpoint_key(self.spec)}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            error = RdeployError(
                f"Another rollout on endpoint {self.spec.endpoint.name} is running on this machine.",
                "Wait for it to end (or stop it with Ctrl+C in its terminal), then run `rdeploy-tui rollout` again: it resumes.",
                code="RolloutBusy",
            )
            return RolloutOutcome(
                "failed",
                f"Rollout not started: {error.what} Next: {error.next_step}",
                self.spec.endpoint.name,
                error=error,
            )
        try:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_file, "a", encoding="utf-8")
        except OSError:
            self._log = None
        try:
            outcome = self._run()
        finally:
            if self._lease is not None:
                note = self._lease.release()
                if note:
                    self.emit(StepProgress("prepare", note))
            lock.release()
            if self._scoring is not None:
                self._scoring.close()
        outcome.seconds = time.monotonic() - started
        outcome.log_file = self.log_file if self._log is not None else None
        self.emit(
            PlanFinished(
                "succeeded"
                if outcome.status == "succeeded"
                else "cancelled"
                if outcome.status == "cancelled"
                else "failed",
                outcome.summary,
            )
        )
        if self._log is not None:
            self._log.close()
        return outcome

    def _run(self) -> RolloutOutcome:
        ep = self.spec.endpoint.name
        current = "prepare"
        try:
            self._prepare()
            current = DEPLOY_NEW
            self._deploy_new()
            r = self.spec.rollout
            share = self._share(self.new)
            if r.mirror_percent and share == 0 and not self.progress.get("mirrored"):
                current = MIRROR
                self._mirror()
            for percent in r.steps:
                if percent < share:
                    continue
                current = stage_id(percent)
                self._stage(percent)
            current = FINISH
            return self._finish()
        except _RolledBack as rolled:
            return self._rollback_or_explain(rolled.reason, rolled.stage)
        except _Cancelled:
            return self._stopped(current)
        except KeyboardInterrupt:  # Ctrl+C in the CLI: stop where we are (a second one leaves at once)
            self.cancel.set()
            return self._stopped(current)
        except RdeployError as error:
            if error.code == "Cancelled" or self.cancel.is_set():
                return self._stopped(current)
            if error.code == "RolloutBusy":  # another machine's rollout holds the endpoint: nothing was changed
                self.emit(StepFailed(current, error.what, error.next_step, code=error.code))
                return RolloutOutcome(
                    "failed", f"Rollout not started: {error.what} Next: {error.next_step}", ep, error=error
                )
            return self._failed(current, error)
        except Exception as exc:  # an SDK surprise: explained, never a traceback
            from rdeploy_tui.azure.errors import explain

            return self._failed(current, explain(exc, f"rolling out on endpoint {ep}"))

    def _rollback_or_explain(self, reason: str, stage: str) -> RolloutOutcome:
        try:
            return self._rollback(reason, stage)
        except RdeployError as error:
            ep = self.spec.endpoint.name
            fix = f"rdeploy-tui endpoints traffic {ep} {self.old}=100 {self.new}=0"
            self.emit(
                StepFailed(
                    ROLLBACK,
                    f"Rolling back failed: {error.what}",
                    f"Move the traffic back yourself: `{fix}`.",
                    error.details,
                    error.code,
                )
            )
            self._save(status="failed", reason=reason)
            return RolloutOutcome(
                "failed",
                f"Rollout failed at {stage} ({reason}) and so did the rollback: {error.what} Next: `{fix}`.",
                ep,
                self.old,
                self.new,
                reason=reason,
                stages=self.stages,
                error=error,
            )

    def _stopped(self, step: str) -> RolloutOutcome:
        """Asked to stop: the traffic stays where it is and the next run resumes from there."""
        ep = self.spec.endpoint.name
        if self.progress:
            self._save(status="cancelled")
        where = (
            f"{self.new} has {self._share(self.new, quiet=True)} % of the traffic"
            if self.new and self.ws is not None
            else "nothing changed"
        )
        self.emit(
            StepFailed(
                step,
                "Rollout stopped; the traffic stays as it is.",
                "Run `rdeploy-tui rollout` again to resume, or roll back with "
                f"`rdeploy-tui endpoints traffic {ep} {self.old or 'OLD'}=100 {self.new or 'NEW'}=0`.",
                code="Cancelled",
            )
        )
        return RolloutOutcome(
            "cancelled",
            f"Rollout stopped: {where}. Run it again to resume.",
            ep,
            self.old or None,
            self.new or None,
            stages=self.stages,
        )

    def _failed(self, step: str, error: RdeployError) -> RolloutOutcome:
        ep = self.spec.endpoint.name
        self.emit(StepFailed(step, error.what, error.next_step, error.details, error.code))
        if self.progress:
            self._save(status="failed")
        if self.new and self.old and step.startswith("stage-") and error.code != "RolloutLockLost":
            # Traffic is part-way: hand it back to the old deployment rather than leave users on an unjudged one.
            # (Not when another rollout took the endpoint over: its traffic is no longer ours to move.)
            try:
                return self._rollback(f"the rollout failed during {step}: {error.what}", step, error=error)
            except RdeployError:
                pass  # the summary below says where the traffic is
        state = (
            f" {self.new} has {self._share(self.new, quiet=True)} % of the traffic." if self.new and self.old else ""
        )
        summary = f"Rollout failed: {error.what}{state}" + (f" Next: {error.next_step}" if error.next_step else "")
        return RolloutOutcome(
            "failed", summary, ep, self.old or None, self.new or None, stages=self.stages, error=error
        )

    # ----- steps -----
    def _prepare(self) -> None:
        from rdeploy_tui.azure.online import Endpoints
        from rdeploy_tui.azure.workspace import Workspace

        w, ep = self.spec.workspace, self.spec.endpoint.name
        self.emit(StepStarted("prepare", f"Read endpoint {ep} and choose the deployment to replace"))
        self.ws = Workspace.open(self.session, w.subscription_id, w.resource_group, w.name)
        info = Endpoints(self.ws).find(ep)
        if info is None:
            raise RdeployError(
                f"There is no endpoint {ep} in workspace {self.ws.name} to roll out on.",
                "Deploy a first version with `rdeploy-tui deploy`, then roll out the next one.",
                code="NotFound",
            )
        self._take_lease()
        previous = load_progress(self.spec)
        names = {d.name for d in info.deployments}
        if previous and previous.get("status") in ("running", "cancelled", "failed") and previous.get("old") in names:
            self.old, self.new = previous["old"], previous["new"]
            self.progress = previous
            self.stages = list(previous.get("stages") or [])
            self.emit(
                StepProgress(
                    "prepare",
                    f"resuming the rollout of {self.new} beside {self.old} (it stopped {previous.get('status')})",
                )
            )
        else:
            live = {k: v for k, v in info.traffic.items() if v > 0}
            if not live:
                raise RdeployError(
                    f"No deployment of endpoint {ep} takes traffic, so there is nothing to roll out from.",
                    f"Give one all traffic (`rdeploy-tui endpoints traffic {ep} NAME=100`) or use `rdeploy-tui deploy`.",
                    code="NoLiveDeployment",
                )
            self.old = max(live.items(), key=lambda kv: kv[1])[0]
            if len(live) > 1:
                raise RdeployError(
                    f"Endpoint {ep} splits its traffic already ({', '.join(f'{k}={v}%' for k, v in sorted(live.items()))}).",
                    f"Give one deployment all traffic first: `rdeploy-tui endpoints traffic {ep} {self.old}=100`.",
                    code="TrafficSplit",
                )
            wanted = self.options.new_deployment or self.spec.deployment.name
            if wanted == self.old:
                if self.options.new_deployment or wanted not in _OTHER_COLOUR:
                    raise RdeployError(
                        f"Deployment {wanted} is the one serving endpoint {ep}; the new version needs another name.",
                        "Give the new deployment another name (--new NAME, or deployment.name in the spec).",
                        code="Usage",
                    )
                wanted = _OTHER_COLOUR[wanted]
            self.new = wanted
            self.progress = {
                "endpoint": ep,
                "old": self.old,
                "new": self.new,
                "status": "running",
                "stages": [],
                "started_at": time.time(),
            }
        self._save(status="running")
        self.emit(StepFinished("prepare", "done", f"{self.old} serves {ep}; the new version deploys as {self.new}"))

    def _take_lease(self) -> None:
        """The endpoint's rollout lease (other machines see it; the file lock in run() only this one)."""
        from rdeploy_tui.azure import deadlines
        from rdeploy_tui.azure.online import Endpoints
        from rdeploy_tui.pipeline.endpoint_lease import BUSY_WAIT_S, POLL_S, SETTLE_S, TAG, EndpointLease

        ep, pace = self.spec.endpoint.name, self.session.pace
        # Azure's pace: its own poll hint (Retry-After) where it gave one, its announced operation timeout for the
        # endpoint where it gave one; else the documented figures (pipeline/endpoint_lease.py).
        lease = EndpointLease(
            Endpoints(self.ws),
            ep,
            settle_s=pace.poll_interval(SETTLE_S),
            poll_s=pace.poll_interval(POLL_S),
            busy_wait_s=deadlines.operation_limit(self.session, f"/onlineEndpoints/{ep}", BUSY_WAIT_S),
        )
        replaced = lease.acquire(self.cancel, take=self.options.take_lock)
        self._lease = lease
        if replaced is not None:
            why = "as asked (--take-lock)" if self.options.take_lock else "it was stale"
            self.emit(StepProgress("prepare", f"took over the rollout lock (tag {TAG}) of {replaced.who()}: {why}"))

    def _renew_lease(self) -> None:
        """At a safe point (no endpoint update under way): keep the lease fresh, or stop if it was taken over."""
        if self._lease is not None:
            self._lease.renew()

    def _share(self, name: str, *, quiet: bool = False) -> int:
        from rdeploy_tui.azure.online import Endpoints

        try:
            return Endpoints(self.ws).show(self.spec.endpoint.name).traffic.get(name, 0)
        except RdeployError:
            if quiet:
                return 0
            raise

    def _deploy_new(self) -> None:
        from rdeploy_tui.pipeline.runner import run_deploy

        spec = self.spec.copy()
        spec.deployment.name = self.new
        spec.deployment.traffic = self._share(self.new)  # 0 for a new one; a resumed rollout keeps B's share
        self.emit(
            StepStarted(
                DEPLOY_NEW,
                f"Deploy {self.new} beside {self.old} at {spec.deployment.traffic} % of the traffic, then score it by name",
            )
        )
        outcome = run_deploy(
            spec,
            session=self.session,
            sink=lambda e: None if isinstance(e, PlanFinished) else self.emit(e),
            base_dir=self.base_dir,
            cancel=self.cancel,
            force_build=self.options.force_build,
            smoke_score=True,
        )
        if outcome.status == "cancelled":
            raise _Cancelled()
        if outcome.status != "succeeded":
            error = outcome.error or RdeployError(outcome.summary)
            raise RdeployError(
                f"The new deployment {self.new} did not come up: {error.what} {self.old} still takes all traffic.",
                error.next_step
                or f"Read its log: `rdeploy-tui endpoints logs {self.spec.endpoint.name} -d {self.new}`; fix and run rollout again.",
                details=error.details,
                code=error.code,
            )
        self.emit(
            StepFinished(
                DEPLOY_NEW,
                "done",
                f"{self.new} answers the sample request ({outcome.model}); it has {spec.deployment.traffic} % of the traffic",
            )
        )

    def _targets(self) -> tuple[Any, Any, Any]:
        from rdeploy_tui.azure.scoring import endpoint_target

        base = endpoint_target(self.ws, self.spec.endpoint.name)
        return base, replace(base, deployment=self.old, timeout=60.0), replace(base, deployment=self.new, timeout=60.0)

    def _bodies(self) -> list[str]:
        bodies = self.options.requests if self.options.requests is not None else load_requests(self.spec, self.base_dir)
        return [json.dumps(b) for b in bodies]

    def _client(self) -> Any:
        """One scoring client for the whole rollout: connections stay open between rounds, so a round's
        latencies are the deployments', not new TLS handshakes."""
        from rdeploy_tui.scoring.client import ScoringClient

        if self._scoring is None:
            self._scoring = ScoringClient()
        return self._scoring

    def _compare(self, tally: _Tally, old_target: Any, new_target: Any) -> None:
        """One round: every request body to both deployments, by name, side by side; answers compared."""
        from rdeploy_tui.scoring.judge import answers_differ
        from rdeploy_tui.scoring.load_test import run_load_test

        r = self.spec.rollout
        bodies = self._bodies()
        per_body = max(1, r.requests_per_stage // len(bodies))
        client = self._client()
        for body in bodies:
            answers: dict[str, list[Any]] = {"old": [], "new": []}

            def collect(kind: str) -> Any:
                return lambda result: answers[kind].append(result.value) if result.ok else None

            results: dict[str, Any] = {}

            def load(kind: str, target: Any) -> None:
                results[kind] = run_load_test(
                    client,
                    target,
                    body,
                    per_body,
                    min(2, per_body),
                    on_result=collect(kind),
                    cancelled=self.cancel.is_set,
                )

            thread = threading.Thread(target=load, args=("old", old_target), name="rdeploy-rollout-old", daemon=True)
            thread.start()
            load("new", new_target)
            thread.join()
            old, new = results["old"], results["new"]
            tally.old_latencies += list(old.latencies_ms)
            tally.new_latencies += list(new.latencies_ms)
            tally.old_sent += old.sent
            tally.old_errors += old.errors
            tally.new_sent += new.sent
            tally.new_errors += new.errors
            if answers["old"]:
                reference = answers["old"][0]
                tally.compared += len(answers["new"])
                tally.mismatches += sum(answers_differ(reference, a, r.answer_tolerance) for a in answers["new"])

    def _watch(self, step: str, seconds: float, round_: Any) -> StageMeasured:
        """Rounds until the hold time is over (at least one), each judged; raises _RolledBack on a crossed threshold."""
        deadline = time.monotonic() + seconds
        measured: StageMeasured | None = None
        while True:
            if self.cancel.is_set():
                raise _Cancelled()
            if self.control.rollback.is_set():
                raise _RolledBack("rolled back by hand", step)
            self._renew_lease()
            measured = round_()
            verdict = judge_stage(measured, self.spec.rollout)
            measured = replace(measured, verdict=verdict)
            self.emit(measured)
            if verdict:
                self._record_stage(step, measured)
                raise _RolledBack(verdict, step)
            if self.control.advance.is_set():
                self.control.advance.clear()
                break
            if time.monotonic() >= deadline and not self.control.hold.is_set():
                break
            self.cancel.wait(min(1.0, max(0.0, deadline - time.monotonic())))
        self._record_stage(step, measured)
        return measured

    def _record_stage(self, step: str, m: StageMeasured) -> None:
        data = {k: v for k, v in asdict(m).items() if k != "at"}
        self.stages = [s for s in self.stages if s.get("step") != step] + [data]
        self._save(stages=self.stages)

    def _mirror(self) -> None:
        from rdeploy_tui.azure.online import Endpoints
        from rdeploy_tui.scoring.load_test import percentile, run_load_test

        r, ep = self.spec.rollout, self.spec.endpoint.name
        endpoints = Endpoints(self.ws)
        self._renew_lease()
        self.emit(
            StepStarted(
                MIRROR,
                f"Mirror {r.mirror_percent} % of live traffic to {self.new} for {r.mirror_seconds} s (callers still get {self.old}'s answers)",
            )
        )
        before = self._score_lines()
        countable = bool(before)  # the smoke score left a line, unless the scoring script is one that logs none
        if not countable:
            self.emit(
                StepProgress(
                    MIRROR,
                    f"{self.new}'s log has no 'score: HTTP ...' lines (a scoring script of your own?): "
                    "its copies cannot be counted or judged here; read its log or Azure Monitor metrics",
                )
            )
        endpoints.set_mirror(
            ep, self.new, r.mirror_percent, on_progress=lambda m: self.emit(StepProgress(MIRROR, m)), cancel=self.cancel
        )
        live, _, _ = self._targets()
        tally = _Tally()
        sent = [0]

        def round_() -> StageMeasured:
            client = self._client()
            for body in self._bodies():
                result = run_load_test(
                    client, live, body, max(1, r.requests_per_stage), 2, cancelled=self.cancel.is_set
                )
                tally.old_latencies += list(result.latencies_ms)
                tally.old_sent += result.sent
                tally.old_errors += result.errors
                sent[0] += result.sent
            if not countable:
                return tally.measured(MIRROR, self.old, self.new)
            copies = self._settled_copies(before)
            # The copies' answers are dropped: their errors count, but their times are the model's own (from the
            # log) and not comparable with the callers' round trips, so latency is judged in the stages only.
            tally.new_sent = len(copies)
            tally.new_errors = sum(1 for status, _ in copies if status != 200)
            model_ms = percentile([float(ms) for _, ms in copies], 50)
            self.emit(
                StepProgress(
                    MIRROR,
                    f"{self.new} received {len(copies)} copies of {sent[0]} live requests "
                    f"({len(copies) / max(1, sent[0]):.0%}; mirroring {r.mirror_percent} %), "
                    f"{tally.new_errors} failed"
                    + (f", model time p50 {model_ms:.0f} ms" if model_ms is not None else ""),
                )
            )
            return tally.measured(MIRROR, self.old, self.new)

        try:
            measured = self._watch(MIRROR, r.mirror_seconds, round_)
        finally:
            try:
                endpoints.set_mirror(ep, self.new, 0, cancel=threading.Event())  # a shadow may not take live traffic
            except RdeployError as exc:
                self.emit(StepProgress(MIRROR, f"could not stop mirroring: {exc.what}"))
        self._save(mirrored=True)
        self.emit(
            StepFinished(
                MIRROR,
                "done",
                f"{self.new} got {measured.new_sent} copies of {sent[0]} requests ({measured.new_sent / max(1, sent[0]):.0%}), "
                f"{measured.new_errors} failed; mirroring stopped",
            )
        )

    def _score_lines(self) -> list[tuple[int, int]]:
        """(status, ms) of every request the new deployment's log shows (assets/plumber.R logs one line each)."""
        from rdeploy_tui.azure.online import Endpoints

        lines = Endpoints(self.ws).logs(self.spec.endpoint.name, self.new, "inference-server", 5000)
        return [(int(m.group(1)), int(m.group(2))) for m in map(_SCORE_LINE.search, lines) if m]

    def _settled_copies(self, before: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The copies the shadow deployment logged since `before`; copies arrive after the live answers, so
        the count is read until it stops changing."""
        last: list[tuple[int, int]] | None = None
        for _ in range(20):
            now = self._score_lines()[len(before) :]
            if last is not None and len(now) == len(last):
                return now
            last = now
            if self.cancel.wait(0.25):
                break
        return last or []

    def _stage(self, percent: int) -> None:
        from rdeploy_tui.azure.online import Endpoints

        r, ep, step = self.spec.rollout, self.spec.endpoint.name, stage_id(percent)
        if self.cancel.is_set():
            raise _Cancelled()
        self._renew_lease()
        self.emit(
            StepStarted(step, f"Shift {percent} % of the traffic to {self.new} and watch it for {r.hold_seconds} s")
        )
        split = {self.new: percent, self.old: 100 - percent}
        if self._share(self.new) != percent:
            Endpoints(self.ws).set_traffic(
                ep, split, on_progress=lambda m: self.emit(StepProgress(step, m)), cancel=self.cancel
            )
        self._save(stage=percent)
        _, old_target, new_target = self._targets()
        tally = _Tally()

        def round_() -> StageMeasured:
            self._compare(tally, old_target, new_target)
            return tally.measured(step, self.old, self.new)

        started = datetime.now(timezone.utc)
        measured = self._watch(step, r.hold_seconds, round_)
        # Azure Monitor's figures for both deployments beside the load test's (pipeline/stage_metrics.py).
        azure = stage_metrics.report(self.ws, ep, self.old, self.new, started, self.stages, step)
        self._save(stages=self.stages)
        self.emit(StepFinished(step, "done", f"{self.new} at {percent} %: {measured.line()}{azure}"))

    def _finish(self) -> RolloutOutcome:
        from rdeploy_tui.azure.online import Endpoints

        ep = self.spec.endpoint.name
        self._renew_lease()
        self.emit(
            StepStarted(
                FINISH,
                f"Keep {self.old} at 0 %"
                if self.options.keep_old
                else f"Delete {self.old}, which no longer takes traffic",
            )
        )
        if self.options.keep_old:
            kept = f"{self.old} is kept at 0 % (it bills until you delete it: rdeploy-tui endpoints traffic/delete, or rollout again)"
            self.emit(StepFinished(FINISH, "skipped", kept))
        else:
            Endpoints(self.ws).delete_deployment(
                ep, self.old, on_progress=lambda m: self.emit(StepProgress(FINISH, m)), cancel=self.cancel
            )
            kept = f"{self.old} was deleted"
            self.emit(StepFinished(FINISH, "done", kept))
        self._save(status="succeeded")
        report = self._report("succeeded", None)
        return RolloutOutcome(
            "succeeded",
            f"Rollout done: {self.new} takes all traffic of endpoint {ep}; {kept}. Report: {report}",
            ep,
            self.old,
            self.new,
            stages=self.stages,
            report_file=report,
        )

    def _rollback(self, reason: str, stage: str, error: RdeployError | None = None) -> RolloutOutcome:
        from rdeploy_tui.azure.online import Endpoints

        ep = self.spec.endpoint.name
        endpoints = Endpoints(self.ws)
        self.emit(StepStarted(ROLLBACK, f"Roll back: all traffic to {self.old}"))
        self.emit(StepProgress(ROLLBACK, f"{stage}: {reason}"))
        calm = threading.Event()  # the rollback finishes even when the rollout was asked to stop
        info = endpoints.show(ep)
        if info.mirror_traffic.get(self.new):
            endpoints.set_mirror(ep, self.new, 0, cancel=calm)
        if info.traffic.get(self.old, 0) != 100:
            endpoints.set_traffic(
                ep,
                {self.old: 100, self.new: 0},
                on_progress=lambda m: self.emit(StepProgress(ROLLBACK, m)),
                cancel=calm,
            )
        if self.options.delete_failed:
            endpoints.delete_deployment(
                ep, self.new, on_progress=lambda m: self.emit(StepProgress(ROLLBACK, m)), cancel=calm
            )
            left = f"{self.new} was deleted"
        else:
            left = (
                f"{self.new} is kept at 0 % for its logs (`rdeploy-tui endpoints logs {ep} -d {self.new}`); it bills until you delete it "
                f"(rollout --delete-failed does)"
            )
        self.emit(StepFinished(ROLLBACK, "done", f"{self.old} takes all traffic again; {left}"))
        self._save(status="rolled-back", reason=reason)
        report = self._report("rolled-back", reason)
        summary = (
            f"Rolled back at {stage}: {reason}. {self.old} takes all traffic of endpoint {ep}; {left}. Report: {report}. "
            f"Next: fix {self.new} and run `rdeploy-tui rollout` again."
        )
        return RolloutOutcome(
            "rolled-back",
            summary,
            ep,
            self.old,
            self.new,
            reason=reason,
            stages=self.stages,
            report_file=report,
            error=error,
        )

    def _report(self, status: str, reason: str | None) -> Path | None:
        """What was seen, stage by stage, beside the log (JSON)."""
        path = run_log("rollout", self.spec.endpoint.name, "-report.json")
        data = {
            "endpoint": self.spec.endpoint.name,
            "old": self.old,
            "new": self.new,
            "status": status,
            "reason": reason,
            "thresholds": asdict(self.spec.rollout),
            "stages": self.stages,
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
        except OSError:
            return None
        return path


def run_rollout(
    spec: DeploySpec,
    *,
    session: Any,
    sink: EventSink,
    options: RolloutOptions | None = None,
    base_dir: Path | None = None,
    cancel: threading.Event | None = None,
    control: RolloutControl | None = None,
) -> RolloutOutcome:
    """Roll spec's deployment out on its endpoint beside the one serving; never raises RdeployError (see the outcome)."""
    return Rollout(
        spec, session=session, sink=sink, options=options, base_dir=base_dir, cancel=cancel, control=control
    ).run()
