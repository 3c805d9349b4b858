"""Sandbox state: one JSON document in the state folder, changed under a lock, written atomically.

Everything a restarted sandbox needs (subscriptions, workspaces, models, endpoints,
deployments, operations, images, ACR runs) lives in this document, in named
collections. Files (blobs, image contents) live beside it in their own folders.
Secrets do not: keys and tokens are derived from the folder's secret (see auth.py).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:  # fcntl is POSIX-only; on Windows two sandboxes on one folder are not detected
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]  # the module's absence, said as None


MAX_STATE_BYTES = (
    256 * 1024 * 1024
)  # far above any real sandbox (a few hundred KiB); stops a runaway file filling memory


class StateFolderBusy(RuntimeError):
    """Another sandbox process is already serving this state folder."""


class SandboxStateFile:
    """A dict of collections persisted to `folder/state.json`.

    Read with `with store.view() as data:` and change with `with store.edit() as data:`;
    an edit is written (tmp file + os.replace) when the block exits without an exception.
    The lock is re-entrant, so a handler may nest views inside an edit.
    """

    FILE = "state.json"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._path = folder / self.FILE
        self.notices: list[str] = []  # warnings for the user (a corrupt file moved aside), printed by the commands
        self._data: dict[str, Any] = self._load()
        self._lock_file: Any = None

    def acquire_folder(self) -> None:
        """Hold an exclusive OS lock on the folder for the life of the sandbox."""
        if fcntl is None or self._lock_file is not None:
            return
        handle = open(self.folder / ".lock", "w")  # noqa: SIM115 -- held open for the sandbox's life (the flock)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise StateFolderBusy(
                f"Another sandbox is already using {self.folder}. Stop it, or choose another folder with --state-dir."
            ) from None
        self._lock_file = handle

    def release_folder(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing the descriptor drops the flock
            self._lock_file = None

    @property
    def is_new(self) -> bool:
        return not self._data

    @contextmanager
    def view(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            yield self._data

    @contextmanager
    def edit(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            yield self._data
            self._save()

    def collection(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        """The named collection inside `data` (from view/edit), created empty when missing."""
        return data.setdefault(name, {})

    def _load(self) -> dict[str, Any]:
        """The saved document; an unreadable one (bad JSON, wrong shape, not a file) is moved aside, never used:
        a half-understood state would fail later, far from its cause (issue 15: `[]` hung the start-up)."""
        try:
            if self._path.exists() and not self._path.is_file():
                raise ValueError("it is not a regular file")
            if self._path.exists() and self._path.stat().st_size > MAX_STATE_BYTES:
                raise ValueError(f"it is larger than {MAX_STATE_BYTES // (1024 * 1024)} MiB")
            data = json.loads(self._path.read_text(encoding="utf-8"))
            _check_shape(data)
            return data
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError) as exc:
            reason = str(exc) if not isinstance(exc, RecursionError) else "it is nested too deeply"
            return self._move_aside(reason)

    def move_aside(self, reason: str) -> None:
        """Keep the current file for inspection and continue from an empty state."""
        with self._lock:
            self._data = self._move_aside(reason)

    def _move_aside(self, reason: str) -> dict[str, Any]:
        kept = aside_name(self._path, "corrupt")
        try:
            os.replace(self._path, kept)
        except OSError as exc:
            raise RuntimeError(
                f"The sandbox state file {self._path} cannot be used ({reason}) nor moved aside ({exc.strerror}). "
                "Move it away by hand to start from a fresh sandbox."
            ) from None
        self.notices.append(
            f"The sandbox state file {self._path} could not be used ({reason}); it was moved to {kept} "
            "and the sandbox starts fresh (its endpoints and models are gone; the old file is kept for inspection)."
        )
        return {}

    def _save(self) -> None:
        tmp = self._path.with_name(self.FILE + ".tmp")
        tmp.write_text(json.dumps(self._data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self._path)


# Keys every document of these collections has from the moment it is written (the ones lookups and listings use).
_REQUIRED = {
    "endpoints": ("id", "name", "state", "workspace"),
    "deployments": ("id", "name", "state", "endpoint"),
    "operations": ("id", "action", "status", "resource"),
    "workspaces": ("id", "name"),
    "registries": ("id", "login_server"),
}


def _check_shape(data: Any) -> None:
    """Top level: named collections (each a dict of documents) and a few scalar flags (`seeded`)."""
    if not isinstance(data, dict):
        raise ValueError(f"it holds a JSON {type(data).__name__}, not an object of collections")
    for name, value in data.items():
        if isinstance(value, dict):
            bad = next((key for key, doc in value.items() if not isinstance(doc, dict)), None)
            if bad is not None:
                raise ValueError(f"{name}[{bad!r}] is not an object")
            for key, doc in value.items():
                missing = [field for field in _REQUIRED.get(name, ()) if field not in doc]
                if missing:
                    raise ValueError(f"{name}[{key!r}] lacks {', '.join(missing)}")
        elif not isinstance(value, (bool, int, float, str)):
            raise ValueError(f"{name!r} is a JSON {type(value).__name__}")


def aside_name(path: Path, label: str) -> Path:
    """A new name beside `path` for a file kept for inspection: name.label-YYYYmmddTHHMMSS[-N]."""
    stem = f"{path.name}.{label}-{time.strftime('%Y%m%dT%H%M%S')}"
    candidate, n = path.with_name(stem), 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{stem}-{n}")
    return candidate
