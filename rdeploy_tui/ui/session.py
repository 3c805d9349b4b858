"""What the wizard knows while it runs: the spec being built, where Azure is, and what discovery found.

Screens read and write the spec here; discovery results are kept so Back/Next does not ask Azure
again. The spec is saved to the state folder on every Next, so the next run starts from it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdeploy_tui import logfile
from rdeploy_tui.spec import DeploySpec, default_spec, load_spec, save_spec

LAST_RUN_FILENAME = "last-run.yaml"


@dataclass(frozen=True)
class Connection:
    """Where Azure is, as given on the command line (cli.add_connection_options).

    Same attributes as azure.ConnectionOptions, which is built from it inside a worker: importing the
    azure package here would cost the first paint ~0.1 s.
    """

    sandbox: bool = False
    cloud: str | None = None
    arm_endpoint: str | None = None
    ca_bundle: str | None = None

    @classmethod
    def from_args(cls, args: Any) -> "Connection":
        return cls(
            sandbox=bool(getattr(args, "sandbox", False)),
            cloud=getattr(args, "cloud", None),
            arm_endpoint=getattr(args, "arm_endpoint", None),
            ca_bundle=getattr(args, "ca_bundle", None),
        )


def last_run_path() -> Path:
    return logfile.state_dir() / LAST_RUN_FILENAME


def load_last_run() -> DeploySpec | None:
    """The spec of the previous run, or None (missing or unreadable: the wizard starts from defaults)."""
    path = last_run_path()
    if not path.is_file():
        return None
    spec, _problems = load_spec(path)  # problems show up at the fields once the forms load the values
    return spec


@dataclass
class Session:
    connection: Connection = field(default_factory=Connection)
    spec: DeploySpec = field(default_factory=default_spec)
    base_dir: Path = field(default_factory=Path.cwd)  # scoring-script paths are relative to it
    from_last_run: bool = False
    # Discovery results, filled by the Azure-backed screens.
    found: dict[str, Any] = field(default_factory=dict)
    _azure: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def start(cls, connection: Connection, base_dir: Path | None = None) -> "Session":
        last = load_last_run()
        return cls(
            connection=connection,
            spec=last or default_spec(),
            base_dir=base_dir or Path.cwd(),
            from_last_run=last is not None,
        )

    def save_last_run(self) -> None:
        """Best effort: a read-only state folder must not stop the wizard."""
        path = last_run_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_spec(self.spec, path)
        except OSError:
            pass

    # -- Azure (call only from worker threads: these block and import the SDKs) -------------------------
    def azure(self) -> Any:
        """The one azure.Session of this run (connects, or starts the sandbox, on first use)."""
        with self._lock:
            if self._azure is None:
                from rdeploy_tui import azure  # SDK imports happen inside; never on the UI thread

                self._azure = azure.connect(azure.ConnectionOptions.from_args(self.connection))
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
