"""A sandbox start-up failure is reported at once (never a hang), corrupt state and a weak secret are moved aside with
a warning (issue 15 items 1, 7, 9)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rdeploy_tui.sandbox import Sandbox

pytestmark = pytest.mark.sandbox

CLI = [sys.executable, "-m", "rdeploy_tui"]


def _cli(args: list[str], home: Path, timeout: float = 90) -> subprocess.CompletedProcess:
    env = {**os.environ, "RDEPLOY_HOME": str(home)}
    # The deadline is the test: a hang fails it with TimeoutExpired instead of blocking the suite.
    return subprocess.run(
        CLI + args, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize("content", ["[]", '{"seeded": true, "deployments": {"d": {"x": 1}}}', "{not json"])
def test_corrupt_state_is_moved_aside_and_the_command_answers(tmp_path, content):
    folder = tmp_path / "home" / "sandbox"
    folder.mkdir(parents=True)
    (folder / "state.json").write_text(content)
    result = _cli(["endpoints", "list", "--sandbox"], tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert "No online endpoints" in result.stdout
    assert "Traceback" not in result.stderr
    kept = list(folder.glob("state.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text() == content
    assert f"moved to {kept[0]}" in result.stderr


def test_a_start_up_failure_after_the_socket_exists_is_raised_at_once(tmp_path, monkeypatch):
    from rdeploy_tui.sandbox import server as server_module

    def broken_seed(sandbox):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(server_module, "seed", broken_seed)
    sandbox = Sandbox(tmp_path / "state", time_scale=0.003)
    outcome: list[BaseException] = []
    thread = threading.Thread(target=lambda: outcome.append(_raises(sandbox.start)), daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "Sandbox.start() hung after a start-up failure"
    assert isinstance(outcome[0], OSError)
    assert not sandbox.running
    with socket.socket() as probe:  # the listener is closed, the folder lock released: a new start works
        assert probe.connect_ex(("127.0.0.1", sandbox.port)) != 0
    monkeypatch.undo()
    with Sandbox(tmp_path / "state", time_scale=0.003) as again:
        assert again.running


def _raises(fn) -> BaseException | None:
    try:
        fn()
    except BaseException as exc:
        return exc
    return None


@pytest.mark.parametrize("content", [b"", b"short", b"x" * 31])
def test_a_weak_secret_is_replaced_with_a_warning(tmp_path, content):
    folder = tmp_path / "state"
    folder.mkdir()
    (folder / "secret").write_bytes(content)
    sandbox = Sandbox(folder, time_scale=0.003)
    secret = (folder / "secret").read_bytes()
    assert len(secret) >= 32 and secret != content
    assert (folder / "secret").stat().st_mode & 0o077 == 0
    assert any("too short" in notice for notice in sandbox.notices)
    assert [p.read_bytes() for p in folder.glob("secret.weak-*")] == [content]
    # Keys derived from it are not the ones the empty secret gives.
    from rdeploy_tui.sandbox.auth import Signer

    assert sandbox.signer.mac("endpoint", "e") != Signer(content, sandbox.signer.signing_key).mac("endpoint", "e")


def test_a_strong_secret_is_kept(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    (folder / "secret").write_bytes(b"k" * 32)
    sandbox = Sandbox(folder, time_scale=0.003)
    assert (folder / "secret").read_bytes() == b"k" * 32 and sandbox.notices == []
