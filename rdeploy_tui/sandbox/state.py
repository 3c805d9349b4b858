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
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

try:  # fcntl is POSIX-only; on Windows two sandboxes on one folder are not detected
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


class StateFolderBusy(RuntimeError):
    """Another sandbox process is already serving this state folder."""


class StateStore:
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
        self._data: dict[str, Any] = self._load()
        self._lock_file: Any = None

    def acquire_folder(self) -> None:
        """Hold an exclusive OS lock on the folder for the life of the sandbox."""
        if fcntl is None or self._lock_file is not None:
            return
        handle = open(self.folder / ".lock", "w")
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
        try:
            return json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise RuntimeError(
                f"The sandbox state file {self._path} cannot be read ({exc}). Move it away to start from a fresh sandbox."
            ) from None

    def _save(self) -> None:
        tmp = self._path.with_name(self.FILE + ".tmp")
        tmp.write_text(json.dumps(self._data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self._path)
