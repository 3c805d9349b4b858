"""An exception nothing handles ends the app with one line, never Textual's traceback with locals."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "rdeploy-tui"


def run_in_terminal(env: dict[str, str], timeout: float = 30) -> tuple[int, str]:
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(SCRIPT)], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=10), out.decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def test_unhandled_exception_is_one_line_and_a_crash_log(tmp_path):
    # The first-paint hook writes to this file; a folder that does not exist makes it raise inside a handler.
    env = dict(os.environ, RDEPLOY_HOME=str(tmp_path / "home"), TERM="xterm-256color",
               RDEPLOY_TUI_PAINTED_FILE=str(tmp_path / "missing-folder" / "painted"))
    code, output = run_in_terminal(env)
    assert code == 1
    assert "Traceback" not in output and "locals" not in output
    assert "rdeploy-tui: unexpected error: FileNotFoundError" in output
    crash = (tmp_path / "home" / "logs" / "crash.log").read_text()
    assert "Traceback" in crash and "FileNotFoundError" in crash
