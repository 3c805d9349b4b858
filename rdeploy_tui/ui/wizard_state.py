"""What the wizard knows while it runs: the spec being built, where Azure is, and what the steps found there.

One typed object, shared by the screens (app.state). Screens read and write the spec here; what the Azure-backed
steps found is kept so Back/Next does not ask Azure again. The spec is saved to the state folder on every Next, so
the next run starts from it. Fields a view follows (the workspace's endpoints, prices) are Textual reactives: a
screen watches them (`self.watch(state, "endpoints", ...)`) instead of being told. Screens never signal each other
through this object: moving between steps and flows is the app's (ui/app.py, ui/flow.py).

Set the reactive fields on the UI thread only (from a message handler): watchers run where the value is set.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.dom import DOMNode
from textual.reactive import var

from rdeploy_tui.connection_options import ConnectionOptions

if TYPE_CHECKING:
    from rdeploy_tui.azure.clients import AzureConnection
    from rdeploy_tui.azure.online import EndpointInfo
    from rdeploy_tui.azure.prices import Price
    from rdeploy_tui.azure.workspace import Workspace
    from rdeploy_tui.pipeline.engine import Outcome
    from rdeploy_tui.spec.deploy_spec import DeploySpec

# The first screen must paint in 0.4 s (issue 6): this module is on that path, so the spec module
# (pyyaml, its dataclasses) and platformdirs are imported only when the spec is first needed, which
# for the wizard is right after the first paint.

WorkspaceKey = tuple[str, str, str]  # subscription, resource group, workspace name


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
    """The model version picked at the model step: the packages step reads its crate."""

    workspace: WorkspaceKey
    name: str
    version: str  # the number "latest" stood for when chosen (still "latest" when that was not known)
    folder: Path | None = None  # the local folder it was registered from in this run: read there, not downloaded

    def __str__(self) -> str:
        return f"model {self.name} version {self.version}"


@dataclass(frozen=True)
class UpdateTarget:
    """The endpoint a new version is rolled out on (the update flow), and what the wizard held before it started."""

    endpoint: str
    serving: str  # the deployment taking the traffic now: the rollout's "old" side
    new: str  # the deployment the new version goes to
    spec_before: DeploySpec  # the deploy flow's spec, given back when the update ends
    step_before: str  # the step the wizard was on
    chosen_model_before: ChosenModel | None  # the deploy flow's chosen model, given back too
    source: Any = None  # what the endpoints list it came from read (manage_source.py): the list it returns to
    deployments: tuple[str, ...] = ()  # the endpoint's deployments when the update started


class WizardState(DOMNode):
    """A DOMNode only so that its fields can be Textual reactives; it is never mounted.

    `spec` is read from the last run (or the defaults) on first use, not when the state is made (see above)."""

    # -- what the Azure-backed steps found (the view follows these) --------------------------------------
    endpoints: var[dict[str, EndpointInfo] | None] = var(None, init=False)
    """The workspace's online endpoints by name, as listed last; None: not known (list them before relying on it).
    Reset whenever something may have changed them (a deploy, even a failed one, another workspace)."""
    prices: var[dict[str, Price]] = var(dict, init=False)
    """Hourly list prices by instance type, in the workspace's region (azure/prices.py); absent: unknown."""
    registry: var[str | None] = var(None, init=False)
    """Login server of the workspace's container registry, once the workspace step found it."""

    def __init__(
        self,
        connection: ConnectionOptions | None = None,
        spec: DeploySpec | None = None,
        base_dir: Path | None = None,  # scoring-script and model paths are relative to it
        *,
        from_last_run: bool = False,
        azure: AzureConnection | None = None,  # an Azure session to use instead of connecting (tests share one)
    ) -> None:
        super().__init__()
        self.connection = connection or ConnectionOptions()
        self.base_dir = base_dir or Path.cwd()
        self.model_versions: dict[str, list[str]] = {}
        """Versions of each registered model, newest first, as the model step read them (the review's "latest (N)")."""
        self.model_folders: dict[tuple[WorkspaceKey, str, str], Path] = {}
        """(workspace, model, version) -> the folder it was registered from in this run (read there, not downloaded)."""
        self.chosen_model: ChosenModel | None = None
        """The model version the model step committed to."""
        self.last_outcome: Outcome | None = None
        """The outcome of this run's last deploy: the closing summary prints what is live and what bills."""
        self.traffic_after: str | None = None
        """The traffic split the last deploy's traffic step reported ("traffic: blue=100%"), for the closing summary."""
        self.update: UpdateTarget | None = None
        """Set while the update flow runs (app.start_update ... app.end_update)."""
        self.billing_seen: dict[str, str | None] = {}
        """The endpoints of the spec's workspace that bill, as the endpoints list last read them, each with what it
        bills per hour when known: the closing summary says them (quitting never hides a bill)."""
        self._spec = spec
        self._from_last_run = from_last_run
        self._last_run_pending = False  # start(): read the last run on first use
        self._spec_lock = threading.Lock()
        self._azure = azure
        self._workspace: Workspace | None = None  # opened by workers: a plain attribute, under the lock
        self._lock = threading.Lock()

    @classmethod
    def start(cls, connection: ConnectionOptions, base_dir: Path | None = None) -> WizardState:
        """The state of a wizard launched by the user: the spec comes from the last run, when there is one."""
        state = cls(connection=connection, base_dir=base_dir)
        state._last_run_pending = True
        return state

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

    @property
    def workspace_key(self) -> WorkspaceKey:
        ws = self.spec.workspace
        return (ws.subscription_id, ws.resource_group, ws.name)

    def save_last_run(self) -> None:
        """Best effort: a read-only state folder must not stop the wizard."""
        from rdeploy_tui.spec.deploy_spec import save_spec

        path = last_run_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_spec(self.spec, path)
        except OSError:
            pass

    def save_last_update(self, spec: DeploySpec) -> None:
        """The spec a rollout runs with, kept so an interrupted rollout can be offered again (best effort)."""
        from rdeploy_tui import locations
        from rdeploy_tui.spec.deploy_spec import save_spec

        try:
            locations.last_update_spec().parent.mkdir(parents=True, exist_ok=True)
            save_spec(spec, locations.last_update_spec())
        except OSError:
            pass

    def last_update(self) -> DeploySpec | None:
        """The spec of the last rollout the wizard ran (None: none, or unreadable)."""
        from rdeploy_tui import locations
        from rdeploy_tui.bounded_read import LAST_RUN
        from rdeploy_tui.spec.deploy_spec import load_spec

        path = locations.last_update_spec()
        if not path.is_file():
            return None
        spec, problems = load_spec(path, LAST_RUN)
        return spec if spec is not None and not any(p.level == "error" for p in problems) else None

    def forget_workspace_findings(self) -> None:
        """Another workspace was chosen: what was found in the previous one no longer applies."""
        self.endpoints = None
        self.prices = {}
        self.model_versions = {}

    # -- Azure (call only from worker threads: these block and import the SDKs) -------------------------
    def azure(self) -> AzureConnection:
        """The one Azure session of this run (connects, or starts the sandbox, on first use)."""
        with self._lock:
            if self._azure is None:
                from rdeploy_tui import launch  # SDK imports happen inside; never on the UI thread

                self._azure = launch.connect(self.connection)
            return self._azure

    def workspace(self) -> Workspace:
        """azure.Workspace for the spec's workspace, opened once per (subscription, group, name)."""
        from rdeploy_tui import azure

        key = self.workspace_key
        with self._lock:
            cached = self._workspace
        if cached is not None and (cached.subscription_id, cached.resource_group, cached.name) == key:
            return cached
        opened = azure.Workspace.open(self.azure(), *key)
        self.use_workspace(opened)
        return opened

    def use_workspace(self, workspace: Workspace) -> None:
        """Keep a workspace the workspace step opened (any thread)."""
        with self._lock:
            self._workspace = workspace

    @property
    def opened_workspace(self) -> Workspace | None:
        """The workspace opened so far, if any (its region prices the instance types)."""
        with self._lock:
            return self._workspace

    def close(self) -> None:
        """Stop the in-process sandbox, if any."""
        with self._lock:
            session, self._azure = self._azure, None
        if session is not None:
            session.close()
