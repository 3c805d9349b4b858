"""Events a running plan emits. The TUI, the CLI (plain lines or JSON) and the state file all
consume this one stream; nothing here knows who listens.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Union

StepStatus = Literal["pending", "running", "done", "skipped", "failed", "cancelled"]


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


@dataclass(frozen=True)
class PlanFinished:
    status: Literal["succeeded", "failed", "cancelled"]
    summary: str  # what exists now, what still bills, what to do next
    at: float = field(default_factory=time.time)


Event = Union[StepStarted, StepProgress, LogLines, StepFinished, StepFailed, PlanFinished]
EventSink = Callable[[Event], None]


def to_json(event: Event) -> dict[str, Any]:
    """A plain dict with the event's kind, for `--json` output."""
    data = asdict(event)
    data["event"] = type(event).__name__
    if isinstance(event, LogLines):
        data["lines"] = list(event.lines)
    return data
