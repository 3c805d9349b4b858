"""Run the plumber scoring API on this machine the way the Azure ML container runs it.

`Rscript start_plumber.R` with the container's variables (AML_APP_ROOT, AZUREML_ENTRY_SCRIPT,
AZUREML_MODEL_DIR) plus PLUMBER_HOST/PLUMBER_PORT so it serves on a free loopback port, never
0.0.0.0. The process gets its own process group so stop() takes R and anything it spawned with it,
and one reader thread drains its output so a full pipe can never block R.

Used by `rdeploy-tui local` (local_checks.py), the wizard's "test locally" step and the sandbox,
which hosts its deployments with it. The docker variant lives in local_docker.py.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import http.client
import io
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rdeploy_tui import bounded_read
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.local.package_advice import install_advice, missing_package
from rdeploy_tui.spec.model_files import SAVE_CRATE, SAVE_FITTED

LOOPBACK = "127.0.0.1"
R_INSTALL_COMMAND = (
    "sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
    "r-base-core r-cran-plumber r-cran-jsonlite"
)
_OUTPUT_CAP = 2 * 1024 * 1024  # bytes of process output kept; the oldest go first
# What plumber's pr_run() prints once the API is built (the scoring script sourced, its model loaded), just before it
# binds the port (../shared/r-facts.md).
PLUMBER_BANNER = b"Running plumber API at"
_STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL


class LocalRunError(RdeployError):
    """The local API could not start, answer or be reached. `what` carries R's own error text."""


def r_missing_error() -> LocalRunError:
    return LocalRunError(
        "R is not installed here (no Rscript on PATH)",
        f"install R and plumber: {R_INSTALL_COMMAND}",
        code="r_missing",
    )


def find_rscript() -> str | None:
    """Rscript's path, or None. RDEPLOY_RSCRIPT overrides PATH (tests use it to hide R)."""
    override = os.environ.get("RDEPLOY_RSCRIPT")
    if override is not None:
        return override if override and os.access(override, os.X_OK) else None
    return shutil.which("Rscript")


def free_port() -> int:
    """A loopback port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


def container_env(app_dir: Path, model_dir: Path, entry_script: str) -> dict[str, str]:
    """The variables Azure ML sets in a custom container."""
    return {
        "AML_APP_ROOT": str(app_dir),
        "AZUREML_ENTRY_SCRIPT": entry_script,
        "AZUREML_MODEL_DIR": str(model_dir),
    }


# --- R's error text ------------------------------------------------------------------------------

# plumber wraps a failing statement as "Error on line #N: '<the statement BEFORE the failing one>' - <error>":
# the line is misleading, the error is what R said.
_PLUMBER_LINE = re.compile(r"^Error on line #\d+: '.*?' - ", re.S)
_EVAL_PREFIX = re.compile(r"^Error in eval\(expr, envir\)\s*:\s*")
_BLOCK_END = re.compile(r"^(Calls:|Execution halted|In addition:|Warning message)")


def r_error_text(output: str) -> str | None:
    """The first error R reported in a process's output, without plumber's wrapping; None if none."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Error")), None)
    if start is None:
        return None
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if _BLOCK_END.match(line) or line.startswith("Error"):
            break
        block.append(line)
    head, _, rest = block[0].partition(" : ")
    # "Error in f(x) : \n  message" -> the message; wrappers name plumber internals, not the user's code.
    if head.startswith("Error in stopOnLine") or head.startswith("Error in parse("):
        text = "\n".join([rest.strip()] + [b.strip() if i == 0 else b for i, b in enumerate(block[1:])]).strip()
    else:
        text = "\n".join(block).strip()
    text = _PLUMBER_LINE.sub("", text)
    text = _EVAL_PREFIX.sub("", text)
    return text.strip() or None


def explain_start_failure(output: str, exit_code: int | None, port: int) -> LocalRunError:
    """Why the API stopped during start-up, in R's words, with a next step."""
    if "address already in use" in output or "Failed to create server" in output:
        return LocalRunError(
            f"port {port} on {LOOPBACK} is already in use, so plumber could not listen on it",
            "stop the program using it, or let rdeploy-tui pick a free port (leave the port unset)",
            details=output,
            code="port_in_use",
        )
    text = r_error_text(output) or f"no error text (exit code {exit_code})"
    if "unexpected" in text and re.search(r"\.R:\d+:\d+:", text):
        next_step = "fix the syntax error at the file:line:column shown above in your scoring script"
        code = "syntax_error"
    elif "not found under AZUREML_MODEL_DIR" in text or "AZUREML_MODEL_DIR is not set" in text:
        next_step = "point --model-dir at the folder holding the registered model's files (the spec's model.file)"
        code = "model_missing"
    elif "readRDS" in text or "unserialize" in text or "input format" in text or "magic number" in text:
        next_step = f"the model file is not an R object saved with saveRDS: {SAVE_CRATE}; or {SAVE_FITTED}"
        code = "model_unreadable"
    elif package := missing_package(text):
        next_step = (
            f"the R package {package} is not installed here: {install_advice([package])}. "
            "List it in the spec's image.r_packages too, so the image has it"
        )
        code = "package_missing"
    elif "read the model's folder again" in text:
        next_step = "run rdeploy-tui init --model-dir FOLDER to record what the model's folder holds"
        code = "model_kind"
    else:
        next_step = "fix the error above in the scoring script or the model; the full server output is in the details"
        code = "load_error"
    return LocalRunError(f"the plumber API stopped while starting: {text}", next_step, details=output, code=code)


# --- tying R's life to ours ------------------------------------------------------------------------
# SIGKILL of rdeploy-tui runs no atexit handler: R would keep serving (and billing memory) forever. On Linux the
# child asks the kernel for SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG) in a tiny launcher that then
# execs Rscript; the signal survives exec. The kernel fires it when the parent THREAD exits, so every child is
# forked from one launcher thread that lives as long as the process. Elsewhere (and as a second line) each
# sandbox deployment keeps a pid file that the next sandbox start reaps (reap_pid_files).
NO_PDEATHSIG_ENV = "RDEPLOY_NO_PDEATHSIG"  # tests set it to prove the pid-file reaping on its own
_PR_SET_PDEATHSIG = 1
_LAUNCHER = (
    "import ctypes, os, signal, sys\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    f"if libc.prctl({_PR_SET_PDEATHSIG}, signal.SIGKILL, 0, 0, 0) != 0: sys.exit('prctl failed')\n"
    "if os.getppid() != int(sys.argv[1]): sys.exit(0)  # the parent died before prctl: nothing to serve\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def _with_launcher(argv: list[str]) -> list[str]:
    if not sys.platform.startswith("linux") or os.environ.get(NO_PDEATHSIG_ENV):
        return argv
    executable = shutil.which(argv[0]) or argv[0]
    return [sys.executable, "-c", _LAUNCHER, str(os.getpid()), executable, *argv[1:]]


_Job = tuple[Callable[[], "subprocess.Popen[bytes]"], "concurrent.futures.Future[subprocess.Popen[bytes]]"]


class _Launcher:
    """One long-lived daemon thread that does every Popen (see above: PDEATHSIG follows the forking thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.Queue[_Job] = queue.Queue()
        self._thread: threading.Thread | None = None

    def run(self, fn: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="process-launcher", daemon=True)
                self._thread.start()
        future: concurrent.futures.Future[subprocess.Popen[bytes]] = concurrent.futures.Future()
        self._jobs.put((fn, future))
        return future.result(timeout=60)  # a fork+exec takes milliseconds; never wait without a bound

    def _loop(self) -> None:
        while True:
            fn, future = self._jobs.get()
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)


_launcher = _Launcher()


def _proc_start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22): a pid plus this names one
    process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def write_pid_file(path: Path, pid: int) -> None:
    start = _proc_start_time(pid)
    if start is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": pid, "start_time": start}))


def reap_pid_files(folder: Path, name: str = "plumber.pid") -> list[int]:
    """Kill the process groups named by `folder/*/name` that still run (a previous sandbox killed with SIGKILL
    left them); the pid's start time must match, so a reused pid is never hit. Returns the pids killed."""
    killed = []
    for pid_file in sorted(Path(folder).glob(f"*/{name}")):
        pid: object = 0
        start = ""
        try:
            record = bounded_read.read_json(pid_file, bounded_read.PID_FILE)  # written by us, but in a shared folder
        except (OSError, bounded_read.FileRefused):
            record = None
        if isinstance(record, dict) and "pid" in record and "start_time" in record:
            pid, start = record["pid"], str(record["start_time"])
        if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid < 2**31:
            pid = 0  # not a process id this machine can have (os.killpg would raise OverflowError)
        if pid > 0 and _proc_start_time(pid) == start:
            _signal_group(pid, signal.SIGKILL)
            killed.append(pid)
        pid_file.unlink(missing_ok=True)
    return killed


# --- the process -----------------------------------------------------------------------------------

_live: set[PlumberProcess] = set()  # started and not yet stopped


@atexit.register
def _stop_all() -> None:
    """Never leave an R server behind when Python exits without stopping it."""
    for proc in list(_live):
        proc.stop()


class PlumberProcess:
    """A running plumber API (an Rscript or a `docker run`) and everything it printed."""

    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        url: str,
        *,
        cwd: Path | None = None,
        cleanup: Sequence[str] | None = None,
        pid_file: Path | None = None,
    ):
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self._cleanup = list(cleanup) if cleanup else None  # a command that removes what stop() cannot signal
        # One buffer, not a list of chunks: R writes a line per request, and a deployment serving for hours would
        # keep tens of thousands of small bytes objects (their overhead beside the text, and a heap that fragments).
        self._output = bytearray()
        self._lock = threading.Lock()
        self._stopped = False
        self._stop_lock = threading.Lock()  # the wizard may cancel while a run finishes
        self.started = time.monotonic()
        self._pid_file = pid_file
        try:
            self._proc = _launcher.run(
                lambda: subprocess.Popen(
                    _with_launcher(list(argv)),
                    env=env,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,  # one pipe keeps R's lines in order
                    start_new_session=True,  # own process group: stop() reaches every child
                )
            )
        except OSError as exc:
            raise LocalRunError(f"cannot run {argv[0]}: {exc}", "check the installation", code="spawn_failed") from exc
        self.pid = self._proc.pid
        if pid_file is not None:
            write_pid_file(pid_file, self.pid)
        self._reader = threading.Thread(target=self._read, name=f"plumber-output-{self.pid}", daemon=True)
        self._reader.start()
        _live.add(self)

    def _read(self) -> None:
        stream = self._proc.stdout
        assert isinstance(stream, io.BufferedReader)  # stdout=PIPE with the default buffering: read1() is there
        while chunk := stream.read1(65536):
            with self._lock:
                self._output += chunk
                if len(self._output) > _OUTPUT_CAP + _OUTPUT_CAP // 4:  # trimmed in batches: amortised O(1)
                    del self._output[: len(self._output) - _OUTPUT_CAP]
        stream.close()

    def _printed(self, text: bytes) -> bool:
        with self._lock:
            return text in self._output

    def output(self) -> str:
        with self._lock:
            data = bytes(self._output)
        return data.decode("utf-8", errors="replace")

    @property
    def returncode(self) -> int | None:
        return self._proc.poll()

    def _settled_output(self) -> str:
        """Output after the process exited: wait for the reader to reach EOF so nothing is missing."""
        self._reader.join(timeout=2.0)
        return self.output()

    def wait_ready(self, route: str = "/ready", timeout: float = 30.0, *, after_banner: float | None = None) -> float:
        """Poll GET route until it answers 200; seconds from start to that answer (timeout counts from the start too).

        The banner "Running plumber API at ..." is printed before the port is bound (even when the
        port is taken), so only an HTTP 200 counts. Raises LocalRunError when the process exits or
        the timeout passes, with the process output as details. `after_banner`: at most this many seconds
        once the banner is out (the model is loaded by then; only binding the port is left), so an API that
        can never answer (bound to an address the probe cannot reach) fails without waiting out `timeout`.
        """
        deadline = self.started + timeout
        waited = f"within {timeout:g} s"
        banner_seen = after_banner is None
        last = "no answer"
        while True:
            code = self._proc.poll()
            if code is not None:
                raise explain_start_failure(self._settled_output(), code, self.port)
            now = time.monotonic()
            if not banner_seen and self._printed(PLUMBER_BANNER):
                banner_seen = True
                if after_banner is not None and now + after_banner < deadline:
                    deadline, waited = now + after_banner, f"{after_banner:g} s after it said it was running"
            if now >= deadline:
                raise LocalRunError(
                    f"the plumber API was not ready {waited} (GET {route}: {last})",
                    "make start-up faster (load less at start) or raise the readiness probe's limits",
                    details=self.output(),
                    code="not_ready",
                )
            status = _probe(self.url, route, min(1.0, deadline - now))
            if status == 200:
                return time.monotonic() - self.started
            if status is not None:
                last = f"HTTP {status}"
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL after a grace period; safe to call twice."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
            self._terminate()

    def _terminate(self) -> None:
        _live.discard(self)
        _signal_group(self._proc.pid, signal.SIGTERM)
        try:
            self._proc.wait(timeout=_STOP_GRACE)
        except subprocess.TimeoutExpired:
            _signal_group(self._proc.pid, signal.SIGKILL)
            try:
                self._proc.wait(timeout=_STOP_GRACE)  # SIGKILL is not refused; a bound all the same
            except subprocess.TimeoutExpired:
                pass
        # Children that ignored SIGTERM while their parent exited would still hold the group.
        _signal_group(self._proc.pid, signal.SIGKILL)
        if self._pid_file is not None:
            self._pid_file.unlink(missing_ok=True)
        if self._cleanup:
            try:
                subprocess.run(self._cleanup, capture_output=True, timeout=30, check=False)
            except (OSError, subprocess.TimeoutExpired):
                pass  # best effort: the container was started with --rm
        self._reader.join(timeout=2.0)

    def __enter__(self) -> PlumberProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _probe(url: str, route: str, timeout: float) -> int | None:
    """Status of GET url+route on a new connection, or None when nothing answered."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=max(timeout, 0.05))
    try:
        conn.request("GET", route)
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def start_plumber(
    app_dir: Path,
    model_dir: Path,
    *,
    start_script: Path,
    entry_script: str = "plumber.R",
    port: int | None = None,
    extra_env: dict[str, str] | None = None,
    pid_file: Path | None = None,
) -> PlumberProcess:
    """Start `Rscript start_script` as the container would, serving on 127.0.0.1:port (a free one by default).

    Paths are made absolute: plumb() changes into the script's folder, so a relative model dir would break.
    """
    rscript = find_rscript()
    if rscript is None:
        raise r_missing_error()
    if port is None:
        port = free_port()
    elif port_in_use(port):
        # Checked here because plumber prints its banner even when the bind fails, and another server
        # answering on this port could look like ours.
        raise LocalRunError(
            f"port {port} on {LOOPBACK} is already in use",
            "stop the program using it, or let rdeploy-tui pick a free port (leave the port unset)",
            code="port_in_use",
        )
    env = dict(os.environ)
    env.update(container_env(Path(app_dir).resolve(), Path(model_dir).resolve(), entry_script))
    env.update({"PLUMBER_HOST": LOOPBACK, "PLUMBER_PORT": str(port)})
    env.update(extra_env or {})
    start_script = Path(start_script).resolve()
    return PlumberProcess(
        [rscript, str(start_script)], env, f"http://{LOOPBACK}:{port}", cwd=Path(app_dir).resolve(), pid_file=pid_file
    )
