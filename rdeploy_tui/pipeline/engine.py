"""The one run engine under `deploy` and `rollout`: a run is a list of steps on an Engine.

    engine = Engine(kind="deploy", target=..., store=ResumeStore(), lock=TargetLock(...), log_name="deploy-ep",
                    title="Deploy", sink=print_event, cancel=threading.Event())
    outcome = engine.run(lambda: body(engine))   # body: engine.run_steps(STEPS, context) ... -> Outcome

What the engine does for every run, so deploy and rollout do it the same way:
- before anything else (and before any Azure call), checks that the state folder takes the resume state and the
  log (check_state_folder: a probe written, fsync'd and deleted), then takes the run's lock (one run per target);
- emits events thread-safely, one at a time: secrets redacted (azure/capture.redact), folded into the resume state
  (state.reduce), the state saved when it changed, a JSON line appended to the run's log, then the sink called;
- runs steps side by side where independent (Step.needs), in threads, with cancel (a threading.Event set by the
  caller, or Ctrl+C in the calling thread; a second Ctrl+C leaves at once) and per-step seconds;
- never reports success for a run whose resume state or log could not be saved: no step starts after such a
  failure (Engine.checkpoint raises it for the steps that move traffic), and the outcome says so.

No Textual, no Azure SDK here: steps do the work (runner.py, rollout.py) through the azure layer.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from rdeploy_tui.azure.capture import redact, sdk_lines, uncaptured
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.locations import log_dir, run_log
from rdeploy_tui.pipeline.events import (
    Event,
    EventSink,
    LogLines,
    PlanFinished,
    RunStarted,
    StepFailed,
    StepFinished,
    StepProgress,
    StepStarted,
    to_json,
)
from rdeploy_tui.pipeline.state import ResumeState, ResumeStore, initial, reduce

if TYPE_CHECKING:
    from rdeploy_tui.scoring.result import ScoreResult

PROBE_BYTES = 256 * 1024  # room a run needs at least: the resume state (KBs) and the start of its log
PREPARE = "prepare"  # the first step of every run; notes before any step is said under it

C = TypeVar("C")


class StepSkipped(Exception):
    """A step found nothing to do; its message says why (StepFinished status "skipped")."""


@dataclass(frozen=True)
class Step(Generic[C]):
    """One step of a run: `run(context)` does it and returns what to say when done (or raises StepSkipped)."""

    id: str
    title: str | Callable[[C], str]  # a function when it names what earlier steps found (the image, the registry)
    run: Callable[[C], str | None]
    needs: tuple[str, ...] = ()

    def title_for(self, context: C) -> str:
        return self.title if isinstance(self.title, str) else self.title(context)


@dataclass
class StepsResult:
    finished: set[str] = field(default_factory=set)  # done or skipped
    failures: list[tuple[str, RdeployError]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def error(self) -> RdeployError | None:
        return self.failures[0][1] if self.failures else None


@dataclass
class Outcome:
    """How a deploy or a rollout ended: the same type for both, with each one's own facts."""

    status: str  # succeeded | failed | cancelled | rolled-back (a rollout that moved all traffic back)
    summary: str  # what exists now, what still bills, what to do next
    endpoint: str
    deployment: str | None = None  # deploy: the deployment; rollout: the new one
    error: RdeployError | None = None
    log_file: Path | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0  # the whole run
    # the deploy's facts
    scoring_uri: str | None = None
    image: str | None = None
    model: str | None = None  # NAME:VERSION deployed
    score: ScoreResult | None = None  # the smoke test's answer
    tags: dict[str, str] = field(default_factory=dict)  # the endpoint's tags after the deploy (e.g. its expiry)
    # the rollout's facts
    old: str | None = None
    new: str | None = None
    reason: str | None = None  # why it rolled back
    stages: list[dict[str, Any]] = field(default_factory=list)  # what was seen, per stage (the report)
    report_file: Path | None = None


class RunLock(Protocol):
    def acquire(self) -> None:
        """Take the lock, or raise RdeployError saying who holds it."""

    def release(self) -> None: ...


class MachineLock:
    """A lock file on this machine (filelock: released by the kernel even on SIGKILL); `busy` when it is held."""

    def __init__(self, path: Path, busy: RdeployError) -> None:
        import filelock

        self._lock = filelock.FileLock(str(path), timeout=0, is_singleton=False)
        self._path, self._busy = path, busy

    def acquire(self) -> None:
        import filelock

        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except filelock.Timeout:
            raise self._busy from None
        except OSError as exc:
            raise _folder_error(self._path.parent, exc, "its lock") from None

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release()


def _folder_error(folder: Path, exc: OSError, what: str) -> RdeployError:
    return RdeployError(
        f"Cannot write {what} in {folder} ({exc.strerror or exc}).",
        f"Make {folder} a writable folder with at least {PROBE_BYTES // 1024} KB free (or set RDEPLOY_HOME to one), "
        "then run again.",
        code="StateFolder",
    )


def check_state_folder(folders: Iterable[Path], need: int = PROBE_BYTES) -> None:
    """Each folder exists (made if missing), is writable and has `need` bytes of room: a probe file is written,
    fsync'd and deleted. Raises RdeployError (code StateFolder) naming the folder and what is needed."""
    seen: set[Path] = set()
    for folder in folders:
        folder = Path(folder)
        if folder in seen:
            continue
        seen.add(folder)
        probe = folder / f".rdeploy-probe-{os.getpid()}-{threading.get_ident()}"
        if folder.exists() and not folder.is_dir():
            raise RdeployError(
                f"{folder} is a file where rdeploy-tui keeps its resume state and logs: it needs a folder there.",
                f"Move {folder} away (or set RDEPLOY_HOME to another folder), then run again.",
                code="StateFolder",
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(probe, "wb") as fh:
                fh.write(b"\0" * need)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            what = "the resume state and the log" if exc.errno != 28 else f"{need // 1024} KB (it has less free)"
            raise _folder_error(folder, exc, what) from None
        finally:
            try:
                probe.unlink(missing_ok=True)
            except OSError:
                pass


class Engine:
    """One run: its lock, its log, its resume state (the fold of its events), its steps and its cancel."""

    def __init__(
        self,
        *,
        kind: str,
        title: str,
        target: dict[str, str],
        store: ResumeStore,
        lock: RunLock,
        log_name: str,
        sink: EventSink,
        cancel: threading.Event | None = None,
    ) -> None:
        self.kind, self.title, self.target = kind, title, dict(target)
        self.store, self.lock = store, lock
        self.cancel = cancel or threading.Event()
        self.stop = threading.Event()  # the running step list's: set on cancel or on its first failure
        self.previous: ResumeState | None = None  # the state the previous run left (read under the lock)
        self.state: ResumeState = initial(kind, target)
        self.persist_error: RdeployError | None = None  # the first failure to save the state or the log
        self.log_file: Path | None = run_log(kind, log_name)
        self._sink = sink
        self._log: IO[str] | None = None
        self._emit_lock = threading.RLock()
        self._running: list[str] = []  # steps running now, for the SDK's log lines

    # ----- events -----------------------------------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        """Redact, fold into the resume state (saved when changed), log, then tell the sink. From any thread."""
        with self._emit_lock:
            event = _redacted(event)
            state = reduce(self.state, event)
            if state is not self.state:
                self.state = state
                try:
                    self.store.save(state)
                except RdeployError as error:
                    self._persist_failed(error)
            self._write(event)
            self._tell(event)

    def forward(self, event: Event) -> None:
        """An event of a run nested in this one (the rollout's deploy of the new version): to the log and the sink,
        not into this run's state (the nested run folds it into its own)."""
        with self._emit_lock:
            event = _redacted(event)
            self._write(event)
            self._tell(event)

    def progress(self, step_id: str) -> Callable[[str], None]:
        """A progress sayer for one step: pollers repeat themselves, listeners get the changes only."""
        last = [""]

        def say(message: str) -> None:
            if message != last[0]:
                last[0] = message
                self.emit(StepProgress(step_id, message))

        return say

    def _write(self, event: Event) -> None:
        if self._log is None:
            return
        try:
            self._log.write(json.dumps(to_json(event), default=str) + "\n")
            self._log.flush()
        except OSError as exc:
            self._persist_failed(_folder_error(self.log_file.parent if self.log_file else log_dir(), exc, "the log"))

    def _tell(self, event: Event) -> None:
        try:
            with uncaptured():  # the sink may print (CLI); that is our output, not the SDK's
                self._sink(event)
        except Exception:  # a broken listener must not break the run
            pass

    def _persist_failed(self, error: RdeployError) -> None:
        if self.persist_error is not None:
            return
        self.persist_error = error  # no step starts from here; running ones finish what Azure already does
        step = self._running[-1] if self._running else PREPARE
        self._tell(StepProgress(step, f"warning: {error.what} Nothing more is started. {error.next_step}"))

    def checkpoint(self) -> None:
        """Before a step changes what serves users (a traffic move): raise the reason to stop, if there is one
        (the progress could not be saved, or the run was cancelled)."""
        if self.persist_error is not None:
            raise self.persist_error
        if self.cancel.is_set():
            raise RdeployError("Stopped as asked.", None, code="Cancelled")

    # ----- the run ----------------------------------------------------------------------------------------------
    def run(self, body: Callable[[], Outcome]) -> Outcome:
        """Check the state folder, take the lock, load the previous state, run `body`, then end the run: its final
        event and state saved (or the outcome says why not), its log closed. Never raises RdeployError."""
        started = time.monotonic()
        folders = [self.store.folder] + ([self.log_file.parent] if self.log_file else [])
        try:
            check_state_folder(folders)
            self.lock.acquire()
        except RdeployError as refused:
            return self.refuse(refused, started)
        try:
            try:
                self.previous = self.store.load(self.target)  # read under the lock: the holder may have changed it
                self._open_log()
            except RdeployError as refused:
                return self.refuse(refused, started)
            if self.previous is not None:
                self.state = self.previous
            self.emit(RunStarted(self.kind, self.target))
            for notice in self.store.notices:
                self.emit(StepProgress(PREPARE, f"warning: {notice}"))
            self.store.notices.clear()
            with sdk_lines(lambda line: self.emit(LogLines(self._current(), "sdk", (line,)))):
                outcome = body()
            return self._end(outcome, started)
        finally:
            self.lock.release()
            if self._log is not None:
                self._log.close()
                self._log = None

    def _current(self) -> str:
        return self._running[-1] if self._running else PREPARE

    def _open_log(self) -> None:
        if self.log_file is None:
            return
        try:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_file, "a", encoding="utf-8")  # noqa: SIM115 (open for the whole run)
        except OSError as exc:
            raise _folder_error(self.log_file.parent, exc, "the log") from None

    def refuse(self, error: RdeployError, started: float | None = None) -> Outcome:
        """The run cannot begin (a bad input, the state folder, another run holds the target): nothing was sent to
        Azure. The outcome, and a PlanFinished for the sink."""
        summary = f"{self.title} not started: {error.what}" + (f" Next: {error.next_step}" if error.next_step else "")
        self._tell(PlanFinished("failed", summary))
        self.log_file = None  # never point the user at a log that was not written
        return Outcome(
            "failed",
            summary,
            self.target.get("endpoint", ""),
            self.target.get("deployment"),
            error=error,
            seconds=0.0 if started is None else time.monotonic() - started,
        )

    def _end(self, outcome: Outcome, started: float) -> Outcome:
        """The final event; a run whose state or log could not be saved is not reported as succeeded."""
        if self._log is not None:
            try:
                self._log.flush()
                os.fsync(self._log.fileno())
            except OSError as exc:
                self._persist_failed(
                    _folder_error(self.log_file.parent if self.log_file else log_dir(), exc, "the log")
                )
        final = PlanFinished(_plan_status(outcome.status), outcome.summary)
        if self.persist_error is None:
            try:
                self.store.save(reduce(self.state, final))
            except RdeployError as error:
                self._persist_failed(error)
        if self.persist_error is not None:
            outcome = _unsaved(outcome, self.persist_error)
            final = PlanFinished(_plan_status(outcome.status), outcome.summary)
        self.emit(final)
        outcome.seconds = time.monotonic() - started
        outcome.log_file = self.log_file if self._log is not None else None
        return outcome

    # ----- steps ------------------------------------------------------------------------------------------------
    def run_steps(self, steps: Sequence[Step[C]], context: C, *, keep_going_after: Iterable[str] = ()) -> StepsResult:
        """Run `steps` in dependency order, side by side where independent; returns what happened. After the first
        failure no step starts and running ones are told to stop (self.stop), except beside a failure of a step in
        `keep_going_after` (a failed smoke score: the traffic update beside it finishes in seconds)."""
        by_id = {s.id: s for s in steps}
        self.stop = threading.Event()
        results: queue.Queue[tuple[str, str, RdeployError | None, float]] = queue.Queue()
        started: set[str] = set()
        outcome = StepsResult()
        interrupted = False
        lenient = set(keep_going_after)
        while True:
            if self.cancel.is_set():  # asked between two results too: no step starts after a cancel
                self.stop.set()
            if not self.stop.is_set() and not outcome.failures and self.persist_error is None:
                for step in steps:
                    if step.id not in started and all(n in outcome.finished for n in step.needs if n in by_id):
                        started.add(step.id)
                        self._launch(step, context, results)
            ended = len(outcome.finished) + len(outcome.failures) + len(outcome.cancelled)
            if ended == len(started):
                if self.cancel.is_set() and not outcome.failures:
                    # Steps a cancel kept from starting count as cancelled: the run stopped, it did not finish.
                    for step in steps:
                        if step.id not in started:
                            outcome.cancelled.append(step.id)
                            self.emit(StepFailed(step.id, "Stopped before it began, as asked.", code="Cancelled"))
                return outcome
            try:
                step_id, kind, error, seconds = results.get(timeout=0.2)
            except queue.Empty:
                if self.cancel.is_set():
                    self.stop.set()
                continue
            except KeyboardInterrupt:
                if interrupted:
                    raise  # a second Ctrl+C: leave now; the resume state lets the next run go on
                interrupted = True
                self.cancel.set()
                self.stop.set()
                continue
            outcome.seconds[step_id] = seconds
            if kind == "done":
                outcome.finished.add(step_id)
            elif kind == "cancelled":
                outcome.cancelled.append(step_id)
            else:
                assert error is not None
                outcome.failures.append((step_id, error))
                if step_id not in lenient:
                    self.stop.set()

    def _launch(
        self, step: Step[C], context: C, results: queue.Queue[tuple[str, str, RdeployError | None, float]]
    ) -> None:
        def work() -> None:
            began = time.monotonic()
            self._running.append(step.id)
            try:
                kind, error = self._do(step, context)
            finally:
                if step.id in self._running:
                    self._running.remove(step.id)
            results.put((step.id, kind, error, time.monotonic() - began))

        threading.Thread(target=work, name=f"rdeploy-{step.id}", daemon=True).start()

    def _do(self, step: Step[C], context: C) -> tuple[str, RdeployError | None]:
        """One step with its events: ("done", None), ("cancelled", error) or ("failed", error). Never raises."""
        title = step.id
        try:
            title = step.title_for(context)
            self.emit(StepStarted(step.id, title))
            message = step.run(context)
        except StepSkipped as skip:
            self.emit(StepFinished(step.id, "skipped", str(skip)))
            return "done", None
        except RdeployError as error:
            self.emit(StepFailed(step.id, error.what, error.next_step, error.details, error.code))
            return ("cancelled" if error.code == "Cancelled" else "failed"), error
        except Exception as exc:  # a bug or an SDK surprise: explained, never a traceback
            from rdeploy_tui.azure.errors import explain

            explained = explain(exc, title[:1].lower() + title[1:])
            self.emit(StepFailed(step.id, explained.what, explained.next_step, explained.details, explained.code))
            return "failed", explained
        self.emit(StepFinished(step.id, "done", message or ""))
        return "done", None


def _plan_status(status: str) -> Literal["succeeded", "failed", "cancelled"]:
    """A rollout's "rolled-back" is a run that failed (its summary says it moved the traffic back)."""
    return "succeeded" if status == "succeeded" else "cancelled" if status == "cancelled" else "failed"


def _unsaved(outcome: Outcome, error: RdeployError) -> Outcome:
    """The outcome of a run whose resume state or log could not be saved: never "succeeded"."""
    note = f"Its progress could not be saved: {error.what} {error.next_step or ''}".strip()
    status = "failed" if outcome.status == "succeeded" else outcome.status
    return dataclasses.replace(
        outcome, status=status, summary=f"{outcome.summary} {note}", error=outcome.error or error
    )


def _redacted(event: Event) -> Event:
    """Keys, tokens and SAS signatures out of everything a log or a tail may carry."""
    if isinstance(event, LogLines):
        return dataclasses.replace(event, lines=tuple(redact(line) for line in event.lines))
    if isinstance(event, StepProgress):
        return dataclasses.replace(event, message=redact(event.message))
    if isinstance(event, StepFailed):
        return dataclasses.replace(
            event,
            what=redact(event.what),
            details=redact(event.details) if event.details else event.details,
            failing_line=redact(event.failing_line) if event.failing_line else event.failing_line,
        )
    return event
