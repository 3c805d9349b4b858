"""Safe rollout of a new deployment beside the one serving, on the run engine: deploy at 0 %, smoke test, optional
mirrored traffic, a staged shift (10 -> 50 -> 100 %) watched against thresholds, and an automatic rollback.

    outcome = run_rollout(spec, session=session, sink=print_event, options=RolloutOptions(keep_old=True))

The new deployment (B) is deployed by the deploy itself (runner.run_deploy with traffic 0: build skip, resume,
logs, and its smoke score by the azureml-model-deployment header). At every stage B and the old deployment (A)
answer the same requests (scoring.load_test, each by name): B's error rate, p50/p95 latency against A's and
whether its answers differ beyond a tolerance decide (judge_stage). Crossing a threshold moves all traffic back
to A; B stays for its logs (deleted with delete_failed) and a report is written.

Every input (thresholds, the requests file) is checked before the first Azure call (rollout_inputs.py). One
rollout per endpoint at a time: a file lock on this machine (the engine's), and a lease in the endpoint's tags
that other machines see (endpoint_lease.py), read again immediately before every traffic move.

Resume (docs/rollout.md): the resume state is the fold of the rollout's events (state.py), per endpoint. A run
after one that did not end picks up where it stopped, from what that run saw Azure do and what Azure shows now:
a rollback begun is finished; a shift that reached 100 % is never judged again (the old deployment is retired);
a mirror left on is stopped unless this run mirrors again; otherwise the stages go on from B's current share.
No Textual here: the wizard runs this in a worker and steers it with a RolloutControl.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.locations import locks_dir, rollouts_dir, run_log
from rdeploy_tui.pipeline import stage_metrics
from rdeploy_tui.pipeline.engine import PREPARE, Engine, MachineLock, Outcome, Step, StepSkipped, StepsResult
from rdeploy_tui.pipeline.events import (
    EventSink,
    MirrorSet,
    PlanFinished,
    RollbackStarted,
    RolloutPlanned,
    StageMeasured,
    StageMonitored,
    StepProgress,
    TrafficMoved,
)
from rdeploy_tui.pipeline.rollout_inputs import check_rollout_inputs
from rdeploy_tui.pipeline.state import ResumeState, ResumeStore, RolloutFacts, endpoint_key
from rdeploy_tui.spec.deploy_spec import DeploySpec, RolloutSpec

if TYPE_CHECKING:
    from rdeploy_tui.azure.clients import AzureConnection
    from rdeploy_tui.azure.online import EndpointInfo, Endpoints
    from rdeploy_tui.azure.workspace import Workspace
    from rdeploy_tui.pipeline.endpoint_lease import EndpointLease
    from rdeploy_tui.scoring.client import ScoringClient
    from rdeploy_tui.scoring.target import ScoringTarget

__all__ = [
    "DEPLOY_NEW",
    "FINISH",
    "MIRROR",
    "ROLLBACK",
    "RolloutControl",
    "RolloutOptions",
    "StageMeasured",
    "judge_stage",
    "run_rollout",
    "stage_id",
]

DEPLOY_NEW = "deploy-new"
MIRROR = "mirror"
FINISH = "retire-old"
ROLLBACK = "rollback"
_SCORE_LINE = re.compile(r"score: HTTP (\d+) in (\d+) ms")  # the line assets/plumber.R logs per request
_OTHER_COLOUR = {"blue": "green", "green": "blue"}


def stage_id(percent: int) -> str:
    return f"stage-{percent}"


@dataclass
class RolloutOptions:
    new_deployment: str | None = None  # None: spec.deployment.name (the other of blue/green when that one serves)
    keep_old: bool = False  # at 100 %: keep the old deployment at 0 % (it still bills) instead of deleting it
    delete_failed: bool = False  # on rollback: delete the new deployment instead of keeping it for its logs
    force_build: bool = False
    requests: list[object] | None = None  # request bodies to compare on; None: spec.rollout.requests_file or the sample
    take_lock: bool = False  # take the endpoint's rollout lock even from a live holder (the user knows it is gone)


class RolloutControl:
    """Hand steering from a screen: advance (end the current hold), hold (pause), roll back."""

    def __init__(self) -> None:
        self.advance = threading.Event()
        self.hold = threading.Event()
        self.rollback = threading.Event()


class RollbackNeeded(RdeployError):
    """A stage found the new deployment worse than the old one (or the user asked): all traffic goes back."""

    def __init__(self, reason: str, stage: str) -> None:
        super().__init__(reason, None, code="RollbackNeeded")
        self.reason, self.stage = reason, stage


# ----- the judgement -----------------------------------------------------------------------------------------
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
            f"{m.mismatches} of {m.compared} answers differ from {m.old}'s beyond a relative tolerance of "
            f"{r.answer_tolerance:g} (rollout.answer_tolerance; at most {r.max_answer_mismatch:.0%} may differ, "
            "rollout.max_answer_mismatch)"
        )
    return None


# ----- the run -----------------------------------------------------------------------------------------------
class RolloutRun:
    """What the rollout's steps share: the spec and options, the engine, the lease, and A and B once chosen."""

    def __init__(
        self,
        spec: DeploySpec,
        session: AzureConnection,
        engine: Engine,
        options: RolloutOptions,
        bodies: list[object],
        *,
        base_dir: Path | None,
        control: RolloutControl,
    ) -> None:
        self.spec, self.session, self.engine, self.options = spec, session, engine, options
        self.bodies = [json.dumps(b) for b in bodies]
        self.base_dir, self.control = base_dir, control
        self.ws: Workspace | None = None
        self.old = ""
        self.new = ""
        self.resume_to: str | None = None  # None: a fresh rollout; else the step a resumed one goes on from
        self.start_share = 0  # B's share of the traffic when the steps after prepare begin
        self.lease: EndpointLease | None = None
        self._scoring: ScoringClient | None = None

    @property
    def endpoint(self) -> str:
        return self.spec.endpoint.name

    @property
    def facts(self) -> RolloutFacts:
        return self.engine.state.rollout

    def workspace(self) -> Workspace:
        assert self.ws is not None, "prepare runs first"
        return self.ws

    def endpoints(self) -> Endpoints:
        from rdeploy_tui.azure.online import Endpoints

        return Endpoints(self.workspace())

    def say(self, step_id: str) -> Callable[[str], None]:
        return self.engine.progress(step_id)

    def share(self, name: str, *, quiet: bool = False) -> int:
        try:
            return self.endpoints().show(self.endpoint).traffic.get(name, 0)
        except RdeployError:
            if quiet:
                return 0
            raise

    def before_move(self, *, rollback: bool = False) -> EndpointInfo:
        """Immediately before the traffic (or the mirror, or a deployment) changes: the run may still act. The
        lease is read again (another machine may have taken it, e.g. with --take-lock while this process was
        stopped); outside a rollback also whether the progress is being saved and no one asked to stop. Returns
        the endpoint as read then."""
        if not rollback:
            self.engine.checkpoint()
        if self.lease is not None:
            return self.lease.verify()
        return self.endpoints().show(self.endpoint)

    def set_traffic(
        self, step: str, split: dict[str, int], *, rollback: bool = False, current: EndpointInfo | None = None
    ) -> EndpointInfo:
        """Move the traffic; `current`: the endpoint as before_move() just read it (else it is read now)."""
        current = current or self.before_move(rollback=rollback)
        calm = threading.Event()  # a traffic update is seconds: once sent, it is waited for, not abandoned
        info = self.endpoints().set_traffic(
            self.endpoint, split, on_progress=self.say(step), cancel=calm, current=current
        )
        self.engine.emit(TrafficMoved(step, dict(info.traffic)))
        return info

    def set_mirror(self, step: str, percent: int, *, rollback: bool = False) -> None:
        self.before_move(rollback=rollback)
        self.endpoints().set_mirror(
            self.endpoint, self.new, percent, on_progress=self.say(step), cancel=threading.Event()
        )
        self.engine.emit(MirrorSet(step, self.new, percent))

    def client(self) -> ScoringClient:
        """One scoring client for the whole rollout: connections stay open between rounds, so a round's
        latencies are the deployments', not new TLS handshakes."""
        from rdeploy_tui.scoring.client import ScoringClient

        if self._scoring is None:
            self._scoring = ScoringClient()
        return self._scoring

    def targets(self) -> tuple[ScoringTarget, ScoringTarget, ScoringTarget]:
        from rdeploy_tui.azure.scoring import endpoint_target

        assert self.ws is not None
        base = endpoint_target(self.ws, self.endpoint)
        return base, replace(base, deployment=self.old, timeout=60.0), replace(base, deployment=self.new, timeout=60.0)

    def close(self) -> None:
        if self.lease is not None:
            note = self.lease.release()
            if note:
                self.engine.emit(StepProgress(PREPARE, note))
        if self._scoring is not None:
            self._scoring.close()


# ----- prepare: choose A and B, or where a resumed rollout goes on --------------------------------------------
def prepare(run: RolloutRun) -> str:
    from rdeploy_tui.azure.workspace import Workspace

    spec, session = run.spec, run.session
    w, ep = spec.workspace, run.endpoint
    run.ws = Workspace.open(session, w.subscription_id, w.resource_group, w.name)
    info = run.endpoints().find(ep)
    if info is None:
        raise RdeployError(
            f"There is no endpoint {ep} in workspace {run.ws.name} to roll out on.",
            f"Deploy a first version with `{session.command('deploy')}`, then roll out the next one.",
            code="NotFound",
        )
    _take_lease(run)  # (the endpoint read above stands: no other rollout changes it while this one holds it)
    sides = rollout_sides(
        info,
        run.engine.previous,
        run.options.new_deployment or run.spec.deployment.name,
        explicit=bool(run.options.new_deployment),
        keep_old=run.options.keep_old,
        command=run.session.command,
    )
    run.old, run.new, run.resume_to, note = sides.old, sides.new, sides.resume_to, sides.note
    run.engine.emit(RolloutPlanned(PREPARE, run.old, run.new, resumed=run.resume_to is not None))
    if note:
        run.say(PREPARE)(note)
    share = info.traffic.get(run.new, 0)
    if run.resume_to in (None, DEPLOY_NEW) and info.mirror_traffic.get(run.new) and not _mirrors_now(run, share):
        # A mirror left on (by a run that was killed, or one whose lock this run took over): a deployment takes
        # live or mirrored traffic, not both (Azure's rule), so the next stage would be refused. Stopped, not
        # rolled back: the new version was not found wanting.
        run.set_mirror(PREPARE, 0)
        run.say(PREPARE)(f"stopped mirroring to {run.new} (left on by an earlier run; this run does not mirror now)")
    return f"{run.old} serves {ep}; the new version deploys as {run.new}"


@dataclass(frozen=True)
class RolloutSides:
    """Where a rollout on an endpoint starts: the deployment serving it (A), the one the new version goes to (B), and,
    when a previous run left it unfinished, the step it resumes from with what that does."""

    old: str
    new: str
    resume_to: str | None = None  # None: a fresh rollout; else ROLLBACK, FINISH or DEPLOY_NEW
    note: str = ""  # what resuming does, said when the run starts


def other_deployment_name(serving: str) -> str:
    """The name a new version takes beside `serving` when none is given: the other colour, else NAME-new."""
    return _OTHER_COLOUR.get(serving, f"{serving[:28]}-new")


def rollout_sides(
    info: EndpointInfo,
    previous: ResumeState | None,
    wanted: str | None = None,
    *,
    explicit: bool = False,
    keep_old: bool = False,
    command: Callable[..., str] = lambda *words: " ".join(("rdeploy-tui", *words)),
) -> RolloutSides:
    """The one rule of where a rollout starts (the CLI's rollout and the wizard's `u` both ask it): a rollout left
    unfinished by the previous run of this endpoint (`previous`, its resume state) goes on where it stopped, whatever
    the split it left; a fresh one starts from the one deployment taking all the traffic, and refuses a split or an
    endpoint that takes none (RdeployError, codes TrafficSplit, NoLiveDeployment). The new version goes to `wanted`
    (the spec's deployment, or --new when `explicit`), or beside a serving `wanted` to the other colour; None: the
    other colour or NAME-new. `command` prints a next command with the flags that reach this Azure."""
    names = {d.name for d in info.deployments}
    r = previous.rollout if previous is not None else RolloutFacts()
    killed = previous is not None and previous.status == "running"
    open_ = unfinished(previous)
    if open_ and r.rollback_reason and r.old in names:
        note = f"the previous run was rolling back ({r.rollback_reason}): finishing the rollback to {r.old}"
        return RolloutSides(r.old or "", r.new or "", ROLLBACK, note)
    if open_ and r.shifted and r.new in names:
        note = f"the previous run had moved all traffic to {r.new} and judged it: it is not judged again; " + (
            f"{r.old} is kept" if keep_old else f"{r.old} is retired"
        )
        return RolloutSides(r.old or "", r.new or "", FINISH, note)
    if open_ and not (r.rolled_back or r.retired) and r.old in names:
        how = "killed" if killed else previous.status if previous is not None else "running"
        return RolloutSides(
            r.old or "", r.new or "", DEPLOY_NEW, f"resuming the rollout of {r.new} beside {r.old} (it stopped {how})"
        )
    ep = info.name
    live = {k: v for k, v in info.traffic.items() if v > 0}
    if not live:
        raise RdeployError(
            f"No deployment of endpoint {ep} takes traffic, so there is nothing to roll out from.",
            f"Give one all traffic (`{command('endpoints', 'traffic', ep, 'NAME=100')}`) or deploy a first version "
            f"(`{command('deploy')}`).",
            code="NoLiveDeployment",
        )
    old = max(live.items(), key=lambda kv: kv[1])[0]
    if len(live) > 1:
        split = ", ".join(f"{k}={v}%" for k, v in sorted(live.items()))
        raise RdeployError(
            f"Endpoint {ep} splits its traffic already ({split}): a rollout starts from one deployment serving all "
            "of it.",
            f"Give one deployment all traffic first: `{command('endpoints', 'traffic', ep, f'{old}=100')}`.",
            code="TrafficSplit",
        )
    if wanted is None:
        return RolloutSides(old, other_deployment_name(old))
    if wanted == old:
        if explicit or wanted not in _OTHER_COLOUR:
            raise RdeployError(
                f"Deployment {wanted} is the one serving endpoint {ep}; the new version needs another name.",
                "Give the new deployment another name (--new NAME, or deployment.name in the spec).",
                code="Usage",
            )
        wanted = _OTHER_COLOUR[wanted]
    return RolloutSides(old, wanted)


def unfinished(previous: ResumeState | None) -> bool:
    """Whether the previous run of an endpoint's rollout left it to be resumed: it was killed (even after its last
    step: it did not report), or it ended before its rollback or retirement (failed, cancelled)."""
    if previous is None:
        return False
    r = previous.rollout
    return bool(r.old and r.new) and (previous.status == "running" or not (r.rolled_back or r.retired))


def previous_rollout(spec: DeploySpec) -> ResumeState | None:
    """The resume state the last rollout on the spec's endpoint left on this machine (None: none ran here)."""
    return rollout_store().load(rollout_target(spec))


def _take_lease(run: RolloutRun) -> None:
    """The endpoint's rollout lease (other machines see it; the engine's file lock only this one)."""
    from rdeploy_tui.azure import deadlines
    from rdeploy_tui.pipeline.endpoint_lease import BUSY_WAIT_S, POLL_S, SETTLE_S, TAG, EndpointLease

    pace = run.session.pace
    # Azure's pace: its own poll hint (Retry-After) where it gave one, its announced operation timeout for the
    # endpoint where it gave one; else the documented figures (pipeline/endpoint_lease.py).
    lease = EndpointLease(
        run.endpoints(),
        run.endpoint,
        settle_s=pace.poll_interval(SETTLE_S),
        poll_s=pace.poll_interval(POLL_S),
        busy_wait_s=deadlines.operation_limit(run.session, f"/onlineEndpoints/{run.endpoint}", BUSY_WAIT_S),
    )
    replaced = lease.acquire(run.engine.stop, take=run.options.take_lock)
    run.lease = lease
    if isinstance(replaced, str):
        run.say(PREPARE)(f"replaced the rollout lock tag {TAG}, which held no readable lease ({replaced[:60]!r})")
    elif replaced is not None:
        why = "as asked (--take-lock)" if run.options.take_lock else "it was stale"
        run.say(PREPARE)(f"took over the rollout lock (tag {TAG}) of {replaced.who()}: {why}")


def _mirrors_now(run: RolloutRun, share: int | None = None) -> bool:
    """This run mirrors before its stages: asked to, B takes no live traffic yet, and no earlier run mirrored."""
    if not run.spec.rollout.mirror_percent or run.facts.mirrored:
        return False
    return (run.share(run.new) if share is None else share) == 0


# ----- the steps after prepare -------------------------------------------------------------------------------
def deploy_new_title(run: RolloutRun) -> str:
    return f"Deploy {run.new} beside {run.old} at {run.start_share} % of the traffic, then score it by name"


def deploy_new(run: RolloutRun) -> str:
    from rdeploy_tui.pipeline.runner import run_deploy

    spec = run.spec.copy()
    spec.deployment.name = run.new
    spec.deployment.traffic = run.start_share  # 0 for a new one; a resumed rollout keeps B's share
    outcome = run_deploy(
        spec,
        session=run.session,
        sink=lambda e: None if isinstance(e, PlanFinished) else run.engine.forward(e),
        base_dir=run.base_dir,
        cancel=run.engine.stop,
        force_build=run.options.force_build,
        smoke_score=True,
    )
    if outcome.status == "cancelled":
        raise RdeployError("Stopped as asked.", None, code="Cancelled")
    if outcome.status != "succeeded":
        error = outcome.error or RdeployError(outcome.summary)
        serving = f" {run.old} still takes all traffic." if spec.deployment.traffic == 0 else ""
        raise RdeployError(
            f"The new deployment {run.new} did not come up: {error.what}{serving}",
            error.next_step
            or f"Read its log: `{run.session.command('endpoints', 'logs', run.endpoint, '-d', run.new)}`; fix and run "
            "rollout again.",
            details=error.details,
            code=error.code,
        )
    return f"{run.new} answers the sample request ({outcome.model}); it has {spec.deployment.traffic} % of the traffic"


def _renew_lease(run: RolloutRun) -> None:
    """At a safe point (no endpoint update under way): keep the lease fresh, or stop if it was taken over."""
    if run.lease is not None:
        run.lease.renew()


def _compare(run: RolloutRun, tally: _Tally, old_target: ScoringTarget, new_target: ScoringTarget) -> None:
    """One round: every request body to both deployments, by name, side by side; answers compared."""
    from rdeploy_tui.scoring.judge import answers_differ
    from rdeploy_tui.scoring.load_test import LoadTestResult, run_load_test

    r = run.spec.rollout
    per_body = max(1, r.requests_per_stage // len(run.bodies))
    client = run.client()
    cancelled = run.engine.stop.is_set
    for body in run.bodies:
        answers: dict[str, list[object]] = {"old": [], "new": []}
        results: dict[str, LoadTestResult] = {}

        def load(
            kind: str,
            target: ScoringTarget,
            body: str = body,
            answers: dict[str, list[object]] = answers,
            results: dict[str, LoadTestResult] = results,
        ) -> None:
            results[kind] = run_load_test(
                client,
                target,
                body,
                per_body,
                min(2, per_body),
                on_result=lambda result: answers[kind].append(result.value) if result.ok else None,
                cancelled=cancelled,
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


def _watch(run: RolloutRun, step: str, seconds: float, round_: Callable[[], StageMeasured]) -> StageMeasured:
    """Rounds until the hold time is over (at least one), each judged; raises RollbackNeeded on a crossed threshold."""
    deadline = time.monotonic() + seconds
    stop, control = run.engine.stop, run.control
    while True:
        if stop.is_set():
            raise RdeployError("Stopped as asked.", None, code="Cancelled")
        if control.rollback.is_set():
            raise RollbackNeeded("rolled back by hand", step)
        _renew_lease(run)
        measured = round_()
        verdict = judge_stage(measured, run.spec.rollout)
        measured = replace(measured, verdict=verdict)
        run.engine.emit(measured)
        if verdict:
            raise RollbackNeeded(verdict, step)
        if control.advance.is_set():
            control.advance.clear()
            return measured
        if time.monotonic() >= deadline and not control.hold.is_set():
            return measured
        stop.wait(min(1.0, max(0.0, deadline - time.monotonic())))


def mirror_title(run: RolloutRun) -> str:
    r = run.spec.rollout
    return (
        f"Mirror {r.mirror_percent} % of live traffic to {run.new} for {r.mirror_seconds} s "
        f"(callers still get {run.old}'s answers)"
    )


def mirror(run: RolloutRun) -> str:
    from rdeploy_tui.scoring.load_test import percentile, run_load_test

    r = run.spec.rollout
    if not _mirrors_now(run, run.start_share):
        raise StepSkipped(f"{run.new} takes live traffic already: no mirror")
    before = _score_lines(run)
    countable = bool(before)  # the smoke score left a line, unless the scoring script is one that logs none
    if not countable:
        run.say(MIRROR)(
            f"{run.new}'s log has no 'score: HTTP ...' lines (a scoring script of your own?): "
            "its copies cannot be counted or judged here; read its log or Azure Monitor metrics"
        )
    run.set_mirror(MIRROR, r.mirror_percent)
    live, _, _ = run.targets()
    tally = _Tally()
    sent = [0]

    def round_() -> StageMeasured:
        client = run.client()
        for body in run.bodies:
            result = run_load_test(
                client, live, body, max(1, r.requests_per_stage), 2, cancelled=run.engine.stop.is_set
            )
            tally.old_latencies += list(result.latencies_ms)
            tally.old_sent += result.sent
            tally.old_errors += result.errors
            sent[0] += result.sent
        if not countable:
            return tally.measured(MIRROR, run.old, run.new)
        copies = _settled_copies(run, before)
        # The copies' answers are dropped: their errors count, but their times are the model's own (from the
        # log) and not comparable with the callers' round trips, so latency is judged in the stages only.
        tally.new_sent = len(copies)
        tally.new_errors = sum(1 for status, _ in copies if status != 200)
        model_ms = percentile([float(ms) for _, ms in copies], 50)
        run.say(MIRROR)(
            f"{run.new} received {len(copies)} copies of {sent[0]} live requests "
            f"({len(copies) / max(1, sent[0]):.0%}; mirroring {r.mirror_percent} %), {tally.new_errors} failed"
            + (f", model time p50 {model_ms:.0f} ms" if model_ms is not None else "")
        )
        return tally.measured(MIRROR, run.old, run.new)

    try:
        measured = _watch(run, MIRROR, r.mirror_seconds, round_)
    except BaseException:
        _stop_mirror(run, quiet=True)
        raise
    _stop_mirror(run)
    return (
        f"{run.new} got {measured.new_sent} copies of {sent[0]} requests "
        f"({measured.new_sent / max(1, sent[0]):.0%}), {measured.new_errors} failed; mirroring stopped"
    )


def _stop_mirror(run: RolloutRun, *, quiet: bool = False) -> None:
    """A shadow may not take live traffic: the mirror stops before any stage. Not when the lock was lost (the
    endpoint is another rollout's now): then the step fails with that, unless it fails already (`quiet`)."""
    try:
        run.set_mirror(MIRROR, 0, rollback=True)
    except RdeployError as exc:
        if exc.code == "RolloutLockLost" and not quiet:
            raise
        run.say(MIRROR)(f"could not stop mirroring: {exc.what}")


def _score_lines(run: RolloutRun) -> list[tuple[int, int]]:
    """(status, ms) of every request the new deployment's log shows (assets/plumber.R logs one line each)."""
    lines = run.endpoints().logs(run.endpoint, run.new, "inference-server", 5000)
    return [(int(m.group(1)), int(m.group(2))) for m in map(_SCORE_LINE.search, lines) if m]


def _settled_copies(run: RolloutRun, before: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The copies the shadow deployment logged since `before`; copies arrive after the live answers, so
    the count is read until it stops changing."""
    last: list[tuple[int, int]] | None = None
    for _ in range(20):
        now = _score_lines(run)[len(before) :]
        if last is not None and len(now) == len(last):
            return now
        last = now
        if run.engine.stop.wait(0.25):
            break
    return last or []


def stage(percent: int) -> Step[RolloutRun]:
    """The step that gives B `percent` of the traffic and watches both deployments for the hold time."""

    def title(run: RolloutRun) -> str:
        return f"Shift {percent} % of the traffic to {run.new} and watch it for {run.spec.rollout.hold_seconds} s"

    def shift(run: RolloutRun) -> str:
        step = stage_id(percent)
        started = datetime.now(timezone.utc)
        current = run.before_move()
        if current.traffic.get(run.new, 0) != percent:
            run.set_traffic(step, {run.new: percent, run.old: 100 - percent}, current=current)
        _, old_target, new_target = run.targets()
        tally = _Tally()

        def round_() -> StageMeasured:
            _compare(run, tally, old_target, new_target)
            return tally.measured(step, run.old, run.new)

        measured = _watch(run, step, run.spec.rollout.hold_seconds, round_)
        # Azure Monitor's figures for both deployments beside the load test's (pipeline/stage_metrics.py).
        azure, figures = stage_metrics.read(run.workspace(), run.endpoint, run.old, run.new, started)
        if figures:
            run.engine.emit(StageMonitored(step, figures))
        return f"{run.new} at {percent} %: {measured.line()}{azure}"

    return Step(stage_id(percent), title, shift)


def retire_title(run: RolloutRun) -> str:
    return f"Keep {run.old} at 0 %" if run.options.keep_old else f"Delete {run.old}, which no longer takes traffic"


def retire_old(run: RolloutRun) -> str:
    """After the shift: the old deployment goes (or stays at 0 % with keep_old). Idempotent, so a run killed
    here finishes it: a deployment already deleted is done, one Azure is deleting is waited for."""
    endpoints, ep, old = run.endpoints(), run.endpoint, run.old
    if run.options.keep_old:
        raise StepSkipped(
            f"{old} is kept at 0 % (it bills until you delete it: d on the endpoints list of `rdeploy-tui`, "
            "or roll out again)"
        )
    current = endpoints.find_deployment(ep, old)
    if current is None:
        return f"{old} was deleted"
    if current.state.lower() != "deleting":
        run.before_move()
        endpoints.delete_deployment(ep, old, on_progress=run.say(FINISH), cancel=threading.Event())
    else:
        _wait_gone(run, old)
    return f"{old} was deleted"


def _wait_gone(run: RolloutRun, name: str) -> None:
    """A deployment Azure is deleting (a delete sent by a run that was killed): wait until it is gone, at most as
    long as Azure's own tools wait for an operation (azure/deadlines.py)."""
    from rdeploy_tui.azure.deadlines import LRO_WAIT_S

    say, deadline, pause = run.say(FINISH), time.monotonic() + LRO_WAIT_S, threading.Event()
    while run.endpoints().find_deployment(run.endpoint, name) is not None:
        if time.monotonic() > deadline:
            raise RdeployError(
                f"Deployment {name} of endpoint {run.endpoint} is still being deleted.",
                f"Check it with `{run.session.command('endpoints', 'show', run.endpoint)}`; run the rollout again to "
                "keep waiting.",
                code="StillRunning",
            )
        say(f"{name} is being deleted (sent by the previous run): waiting for it")
        pause.wait(1.0)


def rollback_step(reason: str, stage_name: str) -> Step[RolloutRun]:
    def title(run: RolloutRun) -> str:
        return f"Roll back: all traffic to {run.old}"

    def back(run: RolloutRun) -> str:
        endpoints, ep = run.endpoints(), run.endpoint
        run.say(ROLLBACK)(f"{stage_name}: {reason}")
        info = endpoints.show(ep)
        if info.mirror_traffic.get(run.new):
            run.set_mirror(ROLLBACK, 0, rollback=True)
        if info.traffic.get(run.old, 0) != 100:
            present = {d.name for d in info.deployments}
            split = {run.old: 100, **({run.new: 0} if run.new in present else {})}
            run.set_traffic(ROLLBACK, split, rollback=True)
        if run.options.delete_failed:
            if endpoints.find_deployment(ep, run.new) is not None:
                run.before_move(rollback=True)
                endpoints.delete_deployment(ep, run.new, on_progress=run.say(ROLLBACK), cancel=threading.Event())
            left = f"{run.new} was deleted"
        else:
            logs = run.session.command("endpoints", "logs", ep, "-d", run.new)
            left = f"{run.new} is kept at 0 % for its logs (`{logs}`); it bills until you delete it (rollout "
            left += "--delete-failed does)"
        return f"{run.old} takes all traffic again; {left}"

    return Step(ROLLBACK, title, back)


def rollout_steps(run: RolloutRun) -> list[Step[RolloutRun]]:
    """The steps after prepare, from where this run goes on (a fresh rollout: all of them)."""
    if run.resume_to == FINISH:
        return [Step(FINISH, retire_title, retire_old)]
    r = run.spec.rollout
    share = run.start_share = run.share(run.new)
    steps: list[Step[RolloutRun]] = [Step(DEPLOY_NEW, deploy_new_title, deploy_new)]
    if r.mirror_percent and share == 0 and not run.facts.mirrored:
        steps.append(Step(MIRROR, mirror_title, mirror, (DEPLOY_NEW,)))
    for percent in r.steps:
        if percent >= share:  # stages B has passed are not repeated; the one it is in is watched again
            steps.append(replace(stage(percent), needs=(steps[-1].id,)))
    steps.append(Step(FINISH, retire_title, retire_old, (steps[-1].id,)))
    return steps


# ----- the end -----------------------------------------------------------------------------------------------
def _report(run: RolloutRun, status: str, reason: str | None) -> Path | None:
    """What was seen, stage by stage, beside the log (JSON)."""
    path = run_log("rollout", run.endpoint, "-report.json")
    data = {
        "endpoint": run.endpoint,
        "old": run.old,
        "new": run.new,
        "status": status,
        "reason": reason,
        "thresholds": asdict(run.spec.rollout),
        "stages": list(run.facts.stages),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    except OSError:
        return None
    return path


def _outcome(
    run: RolloutRun,
    status: str,
    summary: str,
    result: StepsResult,
    *,
    reason: str | None = None,
    report_file: Path | None = None,
    error: RdeployError | None = None,
) -> Outcome:
    return Outcome(
        status=status,
        summary=summary,
        endpoint=run.endpoint,
        deployment=run.new or None,
        old=run.old or None,
        new=run.new or None,
        stages=list(run.facts.stages),
        step_seconds=dict(result.seconds),
        reason=reason,
        report_file=report_file,
        error=error,
    )


def _rolled_back(run: RolloutRun, reason: str, stage_name: str, error: RdeployError | None = None) -> Outcome:
    ep = run.endpoint
    # The intent first, saved before the rollback starts: a run killed from here on is finished by the next one.
    run.engine.emit(RollbackStarted(ROLLBACK, reason, stage_name))
    result = run.engine.run_steps([rollback_step(reason, stage_name)], run)
    if result.error is not None:
        fix = run.session.command("endpoints", "traffic", ep, f"{run.old}=100", f"{run.new}=0")
        return _outcome(
            run,
            "failed",
            f"Rollout failed at {stage_name} ({reason}) and so did the rollback: {result.error.what} Next: `{fix}`.",
            result,
            reason=reason,
            error=result.error,
        )
    if result.cancelled:  # only a second Ctrl+C leaves a rollback; the next run finishes it
        return _stopped(run, ROLLBACK, result)
    report = _report(run, "rolled-back", reason)
    left = (
        f"{run.new} was deleted"
        if run.options.delete_failed
        else f"{run.new} is kept at 0 % for its logs (`{run.session.command('endpoints', 'logs', ep, '-d', run.new)}`);"
        " it bills until you delete it (rollout --delete-failed does)"
    )
    summary = (
        f"Rolled back at {stage_name}: {reason}. {run.old} takes all traffic of endpoint {ep}; {left}. "
        f"Report: {report}. Next: fix {run.new} and run `{run.session.command('rollout')}` again."
    )
    return _outcome(run, "rolled-back", summary, result, reason=reason, report_file=report, error=error)


def _stopped(run: RolloutRun, step: str, result: StepsResult) -> Outcome:
    """Asked to stop: the traffic stays where it is and the next run resumes from there."""
    ep = run.endpoint
    where = (
        f"{run.new} has {run.share(run.new, quiet=True)} % of the traffic" if run.new and run.ws else "nothing changed"
    )
    old_back, new_back = f"{run.old or 'OLD'}=100", f"{run.new or 'NEW'}=0"
    return _outcome(
        run,
        "cancelled",
        f"Rollout stopped: {where}. Run it again to resume "
        f"(or roll back with `{run.session.command('endpoints', 'traffic', ep, old_back, new_back)}`).",
        result,
    )


# Failures after which the traffic is not this run's to move: the endpoint is another rollout's, or this run's
# progress cannot be saved (a move it could not record would be lost to the next run).
_HANDS_OFF = ("RolloutBusy", "RolloutLockLost", "RolloutLockTag", "StateFile", "StateFolder")


def _failed(run: RolloutRun, step: str, error: RdeployError, result: StepsResult) -> Outcome:
    if step != PREPARE and error.code not in _HANDS_OFF and run.new and run.share(run.new, quiet=True) > 0:
        # B takes live traffic: hand it back to the old deployment rather than leave users on one that failed.
        return _rolled_back(run, f"the rollout failed during {step}: {error.what}", step, error)
    state = f" {run.new} has {run.share(run.new, quiet=True)} % of the traffic." if run.new and run.ws else ""
    summary = f"Rollout failed: {error.what}{state}" + (f" Next: {error.next_step}" if error.next_step else "")
    return _outcome(run, "failed", summary, result, error=error)


def _body(run: RolloutRun) -> Outcome:
    engine = run.engine
    try:
        first = engine.run_steps(
            [Step(PREPARE, f"Read endpoint {run.endpoint} and choose the deployment to replace", prepare)], run
        )
        if first.cancelled:
            return _stopped(run, PREPARE, first)
        if first.error is not None:
            error = first.error
            if error.code == "RolloutBusy":  # another machine's rollout holds the endpoint: nothing was changed
                return _outcome(
                    run, "failed", f"Rollout not started: {error.what} Next: {error.next_step}", first, error=error
                )
            return _failed(run, PREPARE, error, first)
        if run.resume_to == ROLLBACK:
            r = run.facts
            return _rolled_back(run, r.rollback_reason or "rolled back", r.rollback_stage or ROLLBACK)
        result = engine.run_steps(rollout_steps(run), run)
        result.seconds = {**first.seconds, **result.seconds}
        if result.failures:
            step, error = result.failures[0]
            if isinstance(error, RollbackNeeded):
                return _rolled_back(run, error.reason, error.stage)
            return _failed(run, step, error, result)
        if result.cancelled:
            return _stopped(run, result.cancelled[0], result)
        if engine.persist_error is not None:  # no step started after the state could not be saved
            return _failed(run, PREPARE, engine.persist_error, result)
        report = _report(run, "succeeded", None)
        kept = (
            f"{run.old} is kept at 0 % (it bills until you delete it: d on the endpoints list of `rdeploy-tui`, "
            "or roll out again)"
            if run.options.keep_old
            else f"{run.old} was deleted"
        )
        return _outcome(
            run,
            "succeeded",
            f"Rollout done: {run.new} takes all traffic of endpoint {run.endpoint}; {kept}. Report: {report}",
            result,
            report_file=report,
        )
    finally:
        run.close()


def rollout_store() -> ResumeStore:
    """Where rollouts keep their resume state: one file per endpoint."""
    return ResumeStore(rollouts_dir())


def rollout_target(spec: DeploySpec) -> dict[str, str]:
    w = spec.workspace
    return endpoint_key(w.subscription_id, w.resource_group, w.name, spec.endpoint.name)


def rollout_lock_path(spec: DeploySpec) -> Path:
    """This machine's lock of a rollout on the spec's endpoint."""
    return locks_dir() / f"rollout-{rollout_store().path(rollout_target(spec)).stem}.lock"


def run_rollout(
    spec: DeploySpec,
    *,
    session: AzureConnection,
    sink: EventSink,
    options: RolloutOptions | None = None,
    base_dir: Path | None = None,
    cancel: threading.Event | None = None,
    control: RolloutControl | None = None,
) -> Outcome:
    """Roll spec's deployment out on its endpoint beside the one serving; never raises RdeployError (see the
    outcome: status succeeded, rolled-back, failed or cancelled)."""
    options = options or RolloutOptions()
    target = rollout_target(spec)
    store = rollout_store()
    busy = RdeployError(
        f"Another rollout on endpoint {spec.endpoint.name} is running on this machine.",
        "Wait for it to end (or stop it with Ctrl+C in its terminal), then run `rdeploy-tui rollout` again: "
        "it resumes.",
        code="RolloutBusy",
    )
    engine = Engine(
        kind="rollout",
        title="Rollout",
        target=target,
        store=store,
        lock=MachineLock(rollout_lock_path(spec), busy),
        log_name=spec.endpoint.name,
        sink=sink,
        cancel=cancel,
    )
    try:  # every input, before anything else (issue 25: a bad requests file once rolled back a healthy version)
        bodies = options.requests if options.requests is not None else check_rollout_inputs(spec, base_dir)
    except RdeployError as error:
        return engine.refuse(error)
    run = RolloutRun(spec, session, engine, options, bodies, base_dir=base_dir, control=control or RolloutControl())
    return engine.run(lambda: _body(run))
