"""Events a run emits (a deploy or a rollout). The wizard, the CLI (plain lines or JSON), the log file and the resume
state all consume this one stream; nothing here knows who listens.

Two kinds of events travel together:
- what people watch: StepStarted, StepProgress, LogLines, StepFinished, StepFailed, StageMeasured, PlanFinished;
- facts the next run needs to resume (a build run's id, what was sent to Azure, traffic moved, a rollback begun ...):
  RunStarted, BuildRunStarted, DeploymentRequested, DeploymentReady, RolloutPlanned, TrafficMoved, MirrorSet,
  RollbackStarted. They are events too, so the resume state is nothing but their fold (pipeline/state.py `reduce`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from rdeploy_tui.pipeline.failing_line import failing_line

StepStatus = Literal["pending", "running", "done", "skipped", "failed", "cancelled"]


# ----- what people watch ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepStarted:
    step: str  # stable id, e.g. "build-image"
    title: str  # what the user reads, e.g. "Build image r-forecast:1a2b in myacr"
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class StepProgress:
    step: str
    message: str  # one short status line, e.g. "endpoint is Creating (42 s)"
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class LogLines:
    step: str
    source: str  # "build", "inference-server", "storage-initializer", "sdk"
    lines: tuple[str, ...]  # batched: emitters flush every ~100 ms, not one event per line
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class StepFinished:
    step: str
    status: Literal["done", "skipped"] = "done"
    message: str = ""  # e.g. "image already in the registry: build skipped"
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class StepFailed:
    step: str
    what: str
    next_step: str | None = None
    details: str | None = None  # relevant log lines
    code: str | None = None
    at: float = field(default_factory=time.time)
    # The line of `details` that names the cause (pipeline/failing_line.py); derived from details when not given.
    failing_line: str | None = None

    def __post_init__(self) -> None:
        if self.failing_line is None and self.details:
            object.__setattr__(self, "failing_line", failing_line(self.details))


@dataclass(frozen=True)
class StageMeasured:
    """One comparison round of a rollout stage: the old and the new deployment on the same requests."""

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
            f"{self.new}: {self.new_errors}/{self.new_sent} errors, p50 {ms(self.new_p50)} ms, "
            f"p95 {ms(self.new_p95)} ms · {self.old}: {self.old_errors}/{self.old_sent} errors, "
            f"p50 {ms(self.old_p50)} ms, p95 {ms(self.old_p95)} ms · answers differ {self.mismatches}/{self.compared}"
        )


@dataclass(frozen=True)
class StageMonitored:
    """Azure Monitor's own figures for both deployments over a rollout stage (pipeline/stage_metrics.py), kept in the
    stage's record of the report beside the load test's."""

    step: str
    figures: dict[str, dict[str, Any]]  # deployment -> azure.monitor.DeploymentTraffic as a dict
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class PlanFinished:
    status: Literal["succeeded", "failed", "cancelled"]
    summary: str  # what exists now, what still bills, what to do next
    at: float = field(default_factory=time.time)


# ----- facts for the next run -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunStarted:
    """A run of `kind` began on `target` (its ids and names); the resume state starts from the previous run's."""

    kind: str  # "deploy" or "rollout"
    target: dict[str, str]
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class BuildRunStarted:
    """ACR accepted a build of `image` as run `run_id`: a later run re-attaches to it instead of building again."""

    step: str
    run_id: str
    image: str
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class DeploymentRequested:
    """The deployment was sent to Azure with settings `fingerprint` (runner.deployment_fingerprint)."""

    step: str
    deployment: str
    fingerprint: str
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class DeploymentReady:
    """Azure runs the deployment with settings `fingerprint`: a later run with the same ones has nothing to update."""

    step: str
    deployment: str
    fingerprint: str
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class RolloutPlanned:
    """The rollout replaces `old` (serving) with `new`; `resumed`: it goes on from where an earlier run stopped."""

    step: str
    old: str
    new: str
    resumed: bool = False
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class TrafficMoved:
    """Azure now splits the endpoint's live traffic as `traffic` (deployment -> percent)."""

    step: str
    traffic: dict[str, int]
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class MirrorSet:
    """Azure now copies `percent` of live traffic to `deployment` (0: mirroring stopped)."""

    step: str
    deployment: str
    percent: int
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class RollbackStarted:
    """The rollout began moving all traffic back to the old deployment, because of `reason` seen at `stage`."""

    step: str
    reason: str
    stage: str
    at: float = field(default_factory=time.time)


Event = (
    StepStarted
    | StepProgress
    | LogLines
    | StepFinished
    | StepFailed
    | StageMeasured
    | StageMonitored
    | PlanFinished
    | RunStarted
    | BuildRunStarted
    | DeploymentRequested
    | DeploymentReady
    | RolloutPlanned
    | TrafficMoved
    | MirrorSet
    | RollbackStarted
)
EventSink = Callable[[Event], None]


def to_json(event: Event) -> dict[str, Any]:
    """A plain dict with the event's kind, for `--json` output and the log file."""
    data = asdict(event)
    data["event"] = type(event).__name__
    if isinstance(event, LogLines):
        data["lines"] = list(event.lines)
    return data
