"""Real processes for the reliability tests: run the CLI, find its R children in /proc, wait with deadlines."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

CLI = [sys.executable, "-m", "rdeploy_tui"]


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "RDEPLOY_HOME": str(home), "RDEPLOY_SANDBOX_TIME_SCALE": "0.003", **extra}
    env.pop("REQUESTS_CA_BUNDLE", None)
    return env


def run_cli(args: list[str], home: Path, timeout: float = 180, **extra: str) -> subprocess.CompletedProcess:
    """The CLI as a user runs it; the timeout is the test's deadline (a hang fails with TimeoutExpired)."""
    return subprocess.run(
        CLI + args,
        env=cli_env(home, **extra),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def start_cli(args: list[str], home: Path, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        CLI + args,
        env=cli_env(home, **extra),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def plumber_pids(marker: str) -> list[int]:
    """Running R processes serving a start_plumber.R whose path contains `marker` (the test's own folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if (
            "start_plumber.R" in cmdline
            and marker in cmdline
            and "-c" not in cmdline.split()[:2]
            and alive(int(entry.name))
        ):
            found.append(int(entry.name))
    return sorted(found)


def listening_ports(pid: int) -> set[int]:
    """TCP ports the process listens on (from its own network namespace's /proc/PID/net/tcp and its socket inodes:
    the sandbox gives a deployment's container its own namespace where the machine allows it)."""
    try:
        inodes = {
            os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1]
            for fd in os.listdir(f"/proc/{pid}/fd")
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:[")
        }
    except OSError:
        return set()
    ports = set()
    try:
        table = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return set()
    for line in table:
        parts = line.split()
        if parts[3] == "0A" and parts[9] in inodes:  # 0A: LISTEN
            ports.add(int(parts[1].split(":")[1], 16))
    return ports


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def port_listened(port: int) -> bool:
    """Whether any process listens on 127.0.0.1/0.0.0.0:port (read from /proc/net/tcp: connecting to check
    could itself be answered by a TCP self-connect on an ephemeral port)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[3] == "0A" and int(parts[1].split(":")[1], 16) == port:
            return True
    return False


# The CLI with its own peak RSS said at exit. VmHWM is the high-water mark of this process's memory since its exec;
# wait4's ru_maxrss is not usable here: Linux carries the spawning process's peak (pytest's) over the exec.
_PEAK_LAUNCHER = (
    "import atexit, sys\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            print('rdeploy-peak-kib', line.split()[1], file=sys.stderr)\n"
    "atexit.register(peak)\n"
    "from rdeploy_tui.cli import main\n"
    "raise SystemExit(main(sys.argv[1:]))\n"
)


def run_cli_peak(args: list[str], home: Path, timeout: float = 60) -> tuple[subprocess.CompletedProcess, int]:
    """run_cli, and the CLI process's own peak resident memory in MiB (0 when it died before saying it)."""
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_LAUNCHER, *args],
        env=cli_env(home),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    peak = 0
    for line in result.stderr.splitlines():
        if line.startswith("rdeploy-peak-kib "):
            peak = int(line.split()[1]) // 1024
    result.stderr = "\n".join(line for line in result.stderr.splitlines() if not line.startswith("rdeploy-peak-kib"))
    return result, peak
