"""Deployment progress on disk, so a deploy that crashed or was interrupted resumes where it stopped.

One JSON file per target (subscription, resource group, workspace, endpoint, deployment) under
locations.deployments_dir(), rewritten atomically (temp file + os.replace) after every step
change, so a reader never sees half a file and a SIGKILL loses at most the step in flight. It holds
ids and names only (build run id, image, model version): never keys or tokens.
"""

from __future__ import annotations

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

FORMAT = 1


@dataclass
class StepRecord:
    status: str = "pending"  # pending | running | done | skipped | failed | cancelled
    started_at: float | None = None
    finished_at: float | None = None
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # e.g. {"run_id": "ca12"} for the build


@dataclass
class DeployState:
    target: dict[str, str]  # subscription_id, resource_group, workspace, endpoint, deployment
    steps: dict[str, StepRecord] = field(default_factory=dict)
    status: str = "running"  # running | succeeded | failed | cancelled
    updated_at: float = field(default_factory=time.time)
    format: int = FORMAT

    def step(self, step_id: str) -> StepRecord:
        return self.steps.setdefault(step_id, StepRecord())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeployState:
        steps = {k: StepRecord(**v) for k, v in (data.get("steps") or {}).items()}
        return cls(
            target=dict(data["target"]),
            steps=steps,
            status=data.get("status", "running"),
            updated_at=data.get("updated_at", 0.0),
        )


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


class StateStore:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder else deployments_dir()
        self.notices: list[str] = []  # warnings for the user (a corrupt file moved aside)

    def path(self, target: dict[str, str]) -> Path:
        ident = "/".join(
            target[k].lower() for k in ("subscription_id", "resource_group", "workspace", "endpoint", "deployment")
        )
        digest = hashlib.sha256(ident.encode()).hexdigest()[:10]
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{target['endpoint']}-{target['deployment']}")
        return self.folder / f"{safe}-{digest}.json"

    def load(self, target: dict[str, str]) -> DeployState | None:
        """The saved state for this target; None when there is none. A file that cannot be read as one is
        moved aside (kept for inspection) and said in `notices`: never silently ignored, never a crash."""
        path = self.path(target)
        if not path.exists() and not path.is_symlink():
            return None
        try:
            data = bounded_read.read_json(path, bounded_read.RESUME_STATE)  # a FIFO or a huge file: refused at once
            if not isinstance(data, dict):
                raise ValueError(f"it holds a JSON {type(data).__name__}, not an object")
            if data.get("format") != FORMAT:
                return None  # another version's file: a fresh run, and the file is rewritten
            return DeployState.from_json(data)
        except bounded_read.FileRefused as exc:
            self._move_aside(path, exc.problem)
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
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
                "Move it away by hand, then run the deploy again.",
                code="StateFile",
            ) from None
        self.notices.append(
            f"the resume file {path} could not be read ({reason}); it was moved to {kept} "
            "and this deploy starts from the beginning (what exists in Azure is reused)"
        )

    def save(self, state: DeployState) -> None:
        state.updated_at = time.time()
        path = self.path(state.target)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        except OSError as exc:
            raise RdeployError(
                f"Cannot write the resume file in {path.parent} ({exc.strerror}).",
                f"Make {path.parent} a writable folder (or set RDEPLOY_HOME to one), then run again.",
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
                f"Move {path} away if it is not a file, free some disk space, then run the deploy again.",
                code="StateFile",
            ) from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def all(self) -> list[DeployState]:
        found = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                found.append(DeployState.from_json(bounded_read.read_json(path, bounded_read.RESUME_STATE)))
            except (OSError, bounded_read.FileRefused, ValueError, KeyError, TypeError, AttributeError):
                continue  # load() of that target says what is wrong with it, and moves it aside
        return found
