"""The resume state of a deploy or a rollout: the fold of its events, saved so that an interrupted run resumes.

    state = reduce(state, event)     # pure: every fact the next run needs arrives as an event (events.py)
    ResumeStore().save(state)        # what the engine does after every event that changed the state

A run starts from the previous run's state (RunStarted keeps its facts and clears its step records), so a
build run id or a traffic move seen by a run that was killed is known to the next one. The file holds ids,
names and numbers only (build run id, image, fingerprints, traffic split): never keys or tokens. One JSON file
per target under locations.state_dir(): deployments/ for deploys (subscription, group, workspace, endpoint,
deployment), rollouts/ for rollouts (per endpoint); rewritten atomically (temp file, fsync, os.replace), so a
reader never sees half a file and a SIGKILL loses at most the event in flight.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rdeploy_tui import bounded_read
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.locations import deployments_dir
from rdeploy_tui.pipeline.events import (
    BuildRunStarted,
    DeploymentReady,
    DeploymentRequested,
    Event,
    MirrorSet,
    PlanFinished,
    RollbackStarted,
    RolloutPlanned,
    RunStarted,
    StageMeasured,
    StageMonitored,
    StepFailed,
    StepFinished,
    StepStarted,
    TrafficMoved,
)

FORMAT = 2  # format 1 was written beside the events, not folded from them: read as "no state"


@dataclass(frozen=True)
class StepRecord:
    status: str = "pending"  # pending | running | done | skipped | failed | cancelled
    started_at: float | None = None
    finished_at: float | None = None
    message: str = ""


@dataclass(frozen=True)
class BuildFacts:
    run_id: str | None = None  # the ACR run building `image` (BuildRunStarted)
    image: str | None = None


@dataclass(frozen=True)
class DeploymentFacts:
    requested: str | None = None  # fingerprint of the settings last sent to Azure
    ready: str | None = None  # fingerprint of the settings Azure was seen running


@dataclass(frozen=True)
class RolloutFacts:
    old: str | None = None
    new: str | None = None
    traffic: dict[str, int] = field(default_factory=dict)  # the last split Azure confirmed
    mirror: int = 0  # percent of live traffic copied to `new` (MirrorSet)
    mirrored: bool = False  # the mirror stage was watched to its end
    stage: int = 0  # the stage (new's share) last started
    passed: int = 0  # the highest stage whose watch ended within the thresholds
    rollback_reason: str | None = None  # a rollback began (RollbackStarted) ...
    rollback_stage: str | None = None
    rolled_back: bool = False  # ... and ended with all traffic on `old`
    retired: bool = False  # the old deployment was deleted (or kept at 0 %) after the shift
    stages: tuple[dict[str, Any], ...] = ()  # the last StageMeasured of each stage: the report

    @property
    def shifted(self) -> bool:
        """The shift is over: `new` took all traffic and passed its last watch. A resumed run never judges it again."""
        return self.passed == 100


@dataclass(frozen=True)
class ResumeState:
    kind: str  # deploy | rollout
    target: dict[str, str]
    status: str = "new"  # new | running | succeeded | failed | cancelled
    steps: dict[str, StepRecord] = field(default_factory=dict)
    build: BuildFacts = field(default_factory=BuildFacts)
    deployment: DeploymentFacts = field(default_factory=DeploymentFacts)
    rollout: RolloutFacts = field(default_factory=RolloutFacts)
    updated_at: float = 0.0
    format: int = FORMAT

    def step(self, step_id: str) -> StepRecord:
        return self.steps.get(step_id, StepRecord())

    def stopped_during(self) -> list[str]:
        """Steps the run left unfinished (running when it was killed, failed or cancelled)."""
        return [k for k, v in self.steps.items() if v.status in ("running", "failed", "cancelled")]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rollout"]["stages"] = list(self.rollout.stages)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResumeState:
        """Raises ValueError/TypeError/KeyError on a shape this module did not write."""
        steps = {str(k): StepRecord(**v) for k, v in dict(data.get("steps") or {}).items()}
        rollout = dict(data.get("rollout") or {})
        rollout["stages"] = tuple(dict(s) for s in rollout.get("stages") or ())
        rollout["traffic"] = {str(k): int(v) for k, v in dict(rollout.get("traffic") or {}).items()}
        target = data["target"]
        if not isinstance(target, dict) or not all(isinstance(v, str) for v in target.values()):
            raise ValueError("its target is not a map of names")
        return cls(
            kind=str(data["kind"]),
            target=dict(target),
            status=str(data.get("status", "new")),
            steps=steps,
            build=BuildFacts(**dict(data.get("build") or {})),
            deployment=DeploymentFacts(**dict(data.get("deployment") or {})),
            rollout=RolloutFacts(**rollout),
            updated_at=float(data.get("updated_at", 0.0)),
        )


def initial(kind: str, target: dict[str, str]) -> ResumeState:
    return ResumeState(kind, dict(target))


def _with_step(
    state: ResumeState,
    step_id: str,
    *,
    status: str,
    finished_at: float | None,
    message: str,
    started_at: float | None = None,
) -> ResumeState:
    steps = dict(state.steps)
    record = state.step(step_id)
    steps[step_id] = dataclasses.replace(
        record,
        status=status,
        started_at=record.started_at if started_at is None else started_at,
        finished_at=finished_at,
        message=message,
    )
    return dataclasses.replace(state, steps=steps)


def reduce(state: ResumeState, event: Event) -> ResumeState:
    """The state after `event`. Pure; returns `state` itself when the event changes nothing (log lines, progress)."""
    r = state.rollout
    if isinstance(event, RunStarted):
        return dataclasses.replace(state, kind=event.kind, target=dict(event.target), status="running", steps={})
    if isinstance(event, StepStarted):
        state = _with_step(state, event.step, status="running", started_at=event.at, finished_at=None, message="")
        if event.step.startswith("stage-"):
            return dataclasses.replace(state, rollout=dataclasses.replace(r, stage=_percent(event)))
        return state
    if isinstance(event, StepFinished):
        state = _with_step(state, event.step, status=event.status, finished_at=event.at, message=event.message)
        if event.step.startswith("stage-") and event.status == "done":
            return dataclasses.replace(state, rollout=dataclasses.replace(r, passed=max(r.passed, _percent(event))))
        if event.step == "mirror":
            return dataclasses.replace(state, rollout=dataclasses.replace(r, mirrored=True))
        if event.step == "retire-old":
            return dataclasses.replace(state, rollout=dataclasses.replace(r, retired=True))
        if event.step == "rollback":
            return dataclasses.replace(state, rollout=dataclasses.replace(r, rolled_back=True))
        return state
    if isinstance(event, StepFailed):
        status = "cancelled" if event.code == "Cancelled" else "failed"
        return _with_step(state, event.step, status=status, finished_at=event.at, message=event.what)
    if isinstance(event, PlanFinished):
        return dataclasses.replace(state, status=event.status)
    if isinstance(event, BuildRunStarted):
        return dataclasses.replace(state, build=BuildFacts(event.run_id, event.image))
    if isinstance(event, DeploymentRequested):
        return dataclasses.replace(
            state, deployment=dataclasses.replace(state.deployment, requested=event.fingerprint, ready=None)
        )
    if isinstance(event, DeploymentReady):
        return dataclasses.replace(
            state, deployment=DeploymentFacts(requested=event.fingerprint, ready=event.fingerprint)
        )
    if isinstance(event, RolloutPlanned):
        if event.resumed and (r.old, r.new) == (event.old, event.new):
            return state  # a resumed rollout keeps what the earlier runs learnt
        return dataclasses.replace(state, rollout=RolloutFacts(old=event.old, new=event.new))
    if isinstance(event, TrafficMoved):
        traffic = {k: v for k, v in event.traffic.items() if v}
        return dataclasses.replace(state, rollout=dataclasses.replace(r, traffic=traffic))
    if isinstance(event, MirrorSet):
        return dataclasses.replace(state, rollout=dataclasses.replace(r, mirror=event.percent))
    if isinstance(event, RollbackStarted):
        return dataclasses.replace(
            state, rollout=dataclasses.replace(r, rollback_reason=event.reason, rollback_stage=event.stage)
        )
    if isinstance(event, StageMeasured):
        measured = {k: v for k, v in asdict(event).items() if k != "at"}
        stages = (*(s for s in r.stages if s.get("step") != event.step), measured)
        return dataclasses.replace(state, rollout=dataclasses.replace(r, stages=stages))
    if isinstance(event, StageMonitored):
        stages = tuple({**s, "azure_monitor": event.figures} if s.get("step") == event.step else s for s in r.stages)
        return dataclasses.replace(state, rollout=dataclasses.replace(r, stages=stages))
    return state


def _percent(event: StepStarted | StepFinished) -> int:
    try:
        return int(event.step.removeprefix("stage-"))
    except ValueError:
        return 0


def fold(events: list[Event], state: ResumeState) -> ResumeState:
    for event in events:
        state = reduce(state, event)
    return state


# ----- on disk ----------------------------------------------------------------------------------------------------
def target_key(
    subscription_id: str, resource_group: str, workspace: str, endpoint: str, deployment: str
) -> dict[str, str]:
    return {
        "subscription_id": subscription_id,
        "resource_group": resource_group,
        "workspace": workspace,
        "endpoint": endpoint,
        "deployment": deployment,
    }


def endpoint_key(subscription_id: str, resource_group: str, workspace: str, endpoint: str) -> dict[str, str]:
    """A rollout's target: the endpoint (its deployments change during the rollout)."""
    return {
        "subscription_id": subscription_id,
        "resource_group": resource_group,
        "workspace": workspace,
        "endpoint": endpoint,
    }


class ResumeStore:
    """The resume files of one kind of run: deployments/ (deploys, the default) or rollouts/, under the state folder."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder else deployments_dir()
        self.notices: list[str] = []  # warnings for the user (a corrupt file moved aside)

    def path(self, target: dict[str, str]) -> Path:
        ident = "/".join(v.lower() for v in target.values())
        digest = hashlib.sha256(ident.encode()).hexdigest()[:10]
        name = "-".join(target[k] for k in ("endpoint", "deployment") if k in target)
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        return self.folder / f"{safe}-{digest}.json"

    def load(self, target: dict[str, str]) -> ResumeState | None:
        """The saved state for this target; None when there is none. A file that cannot be read as one is
        moved aside (kept for inspection) and said in `notices`: never silently ignored, never a crash."""
        path = self.path(target)
        if not path.exists() and not path.is_symlink():
            return None
        try:
            data = _read_json_object(path)
            if data.get("format") != FORMAT:
                return None  # another version's file: a fresh run, and the file is rewritten
            return ResumeState.from_json(data)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
            self._move_aside(path, reason)
            return None

    def _move_aside(self, path: Path, reason: str) -> None:
        kept = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        try:
            os.replace(path, kept)
        except OSError as exc:
            raise RdeployError(
                f"The resume file {path} cannot be read ({reason}) nor moved aside ({exc.strerror}).",
                "Move it away by hand, then run again.",
                code="StateFile",
            ) from None
        self.notices.append(
            f"the resume file {path} could not be read ({reason}); it was moved to {kept} "
            "and this run starts from the beginning (what exists in Azure is reused)"
        )

    def save(self, state: ResumeState) -> None:
        """Write the state atomically; RdeployError (code StateFile) naming the file when it cannot be written."""
        state = dataclasses.replace(state, updated_at=time.time())
        path = self.path(state.target)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        except OSError as exc:
            raise RdeployError(
                f"Cannot write the resume file in {path.parent} ({exc.strerror}).",
                f"Make {path.parent} a writable folder with free space (or set RDEPLOY_HOME to one), then run again.",
                code="StateFile",
            ) from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(state.to_json(), fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise RdeployError(
                f"Cannot write the resume file {path} ({exc.strerror}).",
                f"Free some disk space in {path.parent} (or move {path} away if it is not a file), then run again.",
                code="StateFile",
            ) from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def all(self) -> list[ResumeState]:
        found = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                data = _read_json_object(path)
                if data.get("format") == FORMAT:
                    found.append(ResumeState.from_json(data))
            except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
                continue
        return found


def _read_json_object(path: Path) -> dict[str, Any]:
    """A JSON object from a resume file, read bounded (a FIFO or a device refused at once, never waited on)."""
    try:
        data = bounded_read.read_json(path, bounded_read.RESUME_STATE)
    except bounded_read.FileRefused as exc:
        raise ValueError(exc.problem) from None
    if not isinstance(data, dict):
        raise ValueError(f"it holds a JSON {type(data).__name__}, not an object")
    return data
