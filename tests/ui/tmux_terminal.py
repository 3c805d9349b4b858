"""A real terminal for journey tests: tmux at 80x24 running plain `rdeploy-tui` in a shell that looks like an Azure ML
compute instance's terminal, driven by the bytes tmux sends for each key and judged by `capture-pane` text.

Pane is one such terminal; `terminals` opens them with the environment a test gives; `deployed` puts endpoints in a
sandbox with the real pipeline, as an earlier session of the wizard would have left them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from rdeploy_tui.sandbox import Sandbox

SCRIPT = Path(sys.executable).parent / "rdeploy-tui"
# Every Azure-related variable of the tmux server's environment, unset first: the shell has only what it is given.
UNSET_AZURE = "unset $(compgen -e | grep -E '^(AZURE_|ARM_|MSI_|IDENTITY_|CI_|AZUREML_|MLFLOW_|DEFAULT_IDENTITY_)')"


def require_tmux() -> None:
    """tmux terminal tests run in CI (dev.sh installs tmux): missing there is a failure; elsewhere a skip that says
    why where people look."""
    if shutil.which("tmux") is not None:
        return
    reason = "tmux is not installed (apt-get install tmux)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"tmux tests must run in CI: {reason}")
    print(f"\nSKIP: {reason}")
    pytest.skip(reason)


class Pane:
    """A tmux session at 80x24 running `script`; the shell prints APP-EXITED (and keeps the pane) when the app ends."""

    def __init__(self, script: Path, exit_file: Path) -> None:
        self.name = f"rdeploy-ci-{uuid.uuid4().hex[:8]}"
        self.exit_file = exit_file
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, "-x", "80", "-y", "24", f"bash {script}"], check=True
        )

    def keys(self, *keys: str) -> None:
        """Named keys (Enter, Escape, F2, BTab, C-s, M-j ...), one at a time, as typed (see test_tmux.py)."""
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
            time.sleep(0.05)

    def type(self, text: str) -> None:
        """Text, character by character, sent literally (never read as a key name)."""
        for char in text:
            subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", char], check=True)
            time.sleep(0.03)

    def text(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-t", self.name, "-p"], check=True, capture_output=True, text=True
        ).stdout

    def wait_for(self, *needles: str, gone: tuple[str, ...] = (), timeout: float = 60.0) -> str:
        """The screen once it shows every needle and none of `gone`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.text()
            if all(needle in screen for needle in needles) and not any(word in screen for word in gone):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{needles!r} (without {gone!r}) did not appear; the screen shows:\n{self.text()}")

    def press_until(self, key: str, *needles: str, still: str, timeout: float = 60.0) -> str:
        """Press `key` until `needles` show; pressed again only while the screen still shows `still` (the key was
        lost, e.g. a lone Escape read while the app was busy), so a key that did act is never sent twice."""
        deadline = time.monotonic() + timeout
        while True:
            self.keys(key)
            try:
                return self.wait_for(*needles, timeout=min(10.0, max(0.1, deadline - time.monotonic())))
            except AssertionError:
                if time.monotonic() >= deadline or still not in self.text():
                    raise

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@contextmanager
def terminals(folder: Path, exports: list[str], path: list[Path]) -> Iterator[Callable[..., Pane]]:
    """`open_terminal(where=folder)`: a new 80x24 terminal whose shell has only `exports` and PATH, with
    RDEPLOY_HOME=where/home, then starts plain rdeploy-tui in `where`. Every terminal is closed on leaving."""
    panes: list[Pane] = []

    search = ":".join(map(str, [SCRIPT.parent, *path, "/usr/bin", "/bin"]))

    def open_terminal(where: Path = folder) -> Pane:
        script = folder / f"terminal-{len(panes)}.sh"
        exit_file = folder / f"exit-code-{len(panes)}"
        script.write_text(
            "\n".join(
                [
                    UNSET_AZURE,
                    *exports,
                    f"export RDEPLOY_HOME={where / 'home'} PATH={search}",
                    f"cd {where} && {SCRIPT}; echo $? > {exit_file}; echo APP-EXITED; sleep 120",
                ]
            )
            + "\n"
        )
        panes.append(Pane(script, exit_file))
        return panes[-1]

    try:
        yield open_terminal
    finally:
        for pane in panes:
            pane.close()


def deployed(sandbox: Sandbox, home: Path, endpoint: str, traffic: dict[str, int]) -> None:
    """Deployments of the default spec on `endpoint` with the real pipeline (the first gets the spec's 100 %, the
    others 0), then `traffic` set; and the last run's spec in `home` naming the workspace, so the wizard opens on the
    workspace's endpoints as it does after a deploy."""
    from sandbox_specs import connection_on, spec_on_sandbox

    from rdeploy_tui.azure import Endpoints, Workspace
    from rdeploy_tui.pipeline.runner import run_deploy
    from rdeploy_tui.spec.deploy_spec import save_spec

    spec = spec_on_sandbox(sandbox, endpoint)
    with connection_on(sandbox) as session:  # closed: the variables it set for the SDK (CA, proxy) are restored
        for i, name in enumerate(traffic):
            side = spec.copy()
            side.deployment.name = name
            side.deployment.traffic = side.deployment.traffic if i == 0 else 0
            assert run_deploy(side, session=session, sink=lambda e: None).status == "succeeded"
        ws = Workspace.open(session, sandbox.subscription_id, sandbox.resource_group, sandbox.workspace_name)
        Endpoints(ws).set_traffic(endpoint, traffic)
    home.mkdir(parents=True, exist_ok=True)
    save_spec(spec, home / "last-run.yaml")
