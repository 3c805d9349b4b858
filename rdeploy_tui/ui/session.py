"""What the wizard knows while it runs: the spec being built, where Azure is, and what discovery found.

Screens read and write the spec here; discovery results are kept so Back/Next does not ask Azure
again. The spec is saved to the state folder on every Next, so the next run starts from it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdeploy_tui.connection_options import ConnectionOptions

if TYPE_CHECKING:
    from rdeploy_tui.spec.deploy_spec import DeploySpec

# The first screen must paint in 0.4 s (issue 6): this module is on that path, so the spec module
# (pyyaml, its dataclasses) and platformdirs are imported only when the spec is first needed, which
# for the wizard is right after the first paint.


def last_run_path() -> Path:
    from rdeploy_tui import locations

    return locations.last_run_spec()


def load_last_run() -> DeploySpec | None:
    """The spec of the previous run, or None (missing or unreadable: the wizard starts from defaults)."""
    path = last_run_path()
    if not path.is_file():
        return None
    from rdeploy_tui.bounded_read import LAST_RUN
    from rdeploy_tui.spec.deploy_spec import load_spec

    spec, _problems = load_spec(path, LAST_RUN)  # problems show up at the fields once the forms load the values
    return spec


@dataclass(frozen=True)
class ChosenModel:
    """The model version picked at the model step (found["chosen_model"]): the packages step reads its crate."""

    workspace: tuple[str, str, str]  # subscription, resource group, workspace name
    name: str
    version: str  # the number "latest" stood for when chosen (still "latest" when that was not known)
    folder: Path | None = None  # the local folder it was registered from in this run: read there, not downloaded

    def __str__(self) -> str:
        return f"model {self.name} version {self.version}"


class Session:
    """`spec` is the spec being built. Session.start() takes it from the last run (or the defaults),
    read on first use of `spec` or `from_last_run`, not when the session is made (see above)."""

    def __init__(
        self,
        connection: ConnectionOptions | None = None,
        spec: DeploySpec | None = None,
        base_dir: Path | None = None,  # scoring-script paths are relative to it
        from_last_run: bool = False,
        found: dict[str, Any] | None = None,
    ) -> None:
        self.connection = connection or ConnectionOptions()
        self.base_dir = base_dir or Path.cwd()
        # Discovery results, filled by the Azure-backed screens.
        self.found: dict[str, Any] = {} if found is None else found
        self._spec = spec
        self._from_last_run = from_last_run
        self._last_run_pending = False  # Session.start(): read the last run on first use
        self._spec_lock = threading.Lock()
        self._azure: Any = None
        self._lock = threading.Lock()

    @classmethod
    def start(cls, connection: ConnectionOptions, base_dir: Path | None = None) -> Session:
        session = cls(connection=connection, base_dir=base_dir)
        session._last_run_pending = True
        return session

    def _ensure_spec(self) -> DeploySpec:
        with self._spec_lock:  # workers may ask too
            if self._spec is None:
                last = load_last_run() if self._last_run_pending else None
                if last is not None:
                    self._spec, self._from_last_run = last, True
                else:
                    from rdeploy_tui.spec.deploy_spec import default_spec

                    self._spec = default_spec()
                self._last_run_pending = False
            return self._spec

    @property
    def spec(self) -> DeploySpec:
        return self._spec if self._spec is not None else self._ensure_spec()

    @spec.setter
    def spec(self, value: DeploySpec) -> None:
        with self._spec_lock:
            self._spec, self._last_run_pending = value, False

    @property
    def from_last_run(self) -> bool:
        """Whether `spec` came from the previous run (reads it, when that is still to be done)."""
        self._ensure_spec()
        return self._from_last_run

    @from_last_run.setter
    def from_last_run(self, value: bool) -> None:
        self._from_last_run = value

    def save_last_run(self) -> None:
        """Best effort: a read-only state folder must not stop the wizard."""
        from rdeploy_tui.spec.deploy_spec import save_spec

        path = last_run_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_spec(self.spec, path)
        except OSError:
            pass

    # -- Azure (call only from worker threads: these block and import the SDKs) -------------------------
    def azure(self) -> Any:
        """The one AzureConnection of this run (connects, or starts the sandbox, on first use)."""
        with self._lock:
            if self._azure is None:
                from rdeploy_tui import launch  # SDK imports happen inside; never on the UI thread

                self._azure = launch.connect(self.connection)
            return self._azure

    def workspace(self) -> Any:
        """azure.Workspace for the spec's workspace, opened once per (subscription, group, name)."""
        from rdeploy_tui import azure

        ws = self.spec.workspace
        key = (ws.subscription_id, ws.resource_group, ws.name)
        cached = self.found.get("workspace")
        if cached is not None and (cached.subscription_id, cached.resource_group, cached.name) == key:
            return cached
        opened = azure.Workspace.open(self.azure(), *key)
        self.found["workspace"] = opened
        return opened

    def close(self) -> None:
        """Stop the in-process sandbox, if any."""
        with self._lock:
            session, self._azure = self._azure, None
        if session is not None:
            session.close()
