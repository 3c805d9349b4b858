"""Keep everything the Azure SDKs print off the terminal and in our own log stream.

The SDKs write to the terminal in three ways: `import azure.ai.ml` attaches a StreamHandler(stderr)
to the "azure.ai.ml" logger; its pollers print a '.' to stdout on every poll; code upload draws a
tqdm bar. Under the full-screen TUI each of those corrupts the screen, and in the CLI they garble
our own line-by-line output. `quiet_sdk()` (idempotent, called by every client factory) routes the
"azure" logger tree to `sdk_log` listeners and the log file, removes the poll dots and tqdm bars
are turned off with MLClient(show_progress=False).

Records pass a redaction filter first: bearer tokens, keys and SAS signatures never reach a sink.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from rdeploy_tui.locations import sdk_log

SdkListener = Callable[[str], None]

_lock = threading.Lock()
_listeners: list[SdkListener] = []
_installed = False
_ml_patched = False

_SECRETS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1***"),
    (re.compile(r"(?i)((?:sig|se|skoid|sktid|skt|ske|sks|skv|saoid|suoid)=)[^&\s\"']+"), r"\1***"),
    (
        re.compile(
            r"(?i)(\"?(?:primaryKey|secondaryKey|accessToken|access_token|refresh_token|key|token|password|secret)\"?\s*[:=]\s*\"?)[^\"\s,}&]+"
        ),
        r"\1***",
    ),
]


def redact(text: str) -> str:
    """Text with tokens, keys and SAS signatures replaced by ***."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed SDK log call must not break the operation that logged it
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        return True


class _ToListeners(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        with _lock:
            listeners = list(_listeners)
        if not listeners:
            return
        line = f"{record.levelname.lower()}: {record.getMessage()}".rstrip()
        for listener in listeners:
            try:
                listener(line)
            except Exception:  # a broken listener must not fail an Azure call
                pass


def sdk_log_path() -> Path:
    return sdk_log()


def quiet_sdk() -> None:
    """Route the SDKs' logging away from the terminal. Safe to call often, from any thread."""
    global _installed
    with _lock:
        if not _installed:
            _installed = True
            root = logging.getLogger("azure")
            root.setLevel(logging.INFO)
            root.propagate = False  # never Python's last-resort stderr handler, never the app's root handlers
            redact_filter = _Redact()
            to_listeners = _ToListeners(logging.WARNING)
            to_listeners.addFilter(redact_filter)
            root.addHandler(to_listeners)
            try:
                path = sdk_log_path()
                path.parent.mkdir(parents=True, exist_ok=True)
                to_file = logging.FileHandler(path, encoding="utf-8", delay=True)
                to_file.setLevel(logging.INFO)
                to_file.addFilter(redact_filter)
                to_file.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
                root.addHandler(to_file)
            except OSError:
                pass  # no writable state folder: listeners still get warnings
            # azure-core's HTTP logging policy dumps every request at INFO: keep it out even of the file.
            logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
            logging.getLogger("azure.identity").setLevel(logging.WARNING)
    _quiet_ml_if_imported()


def quiet_ml() -> None:
    """Call right after importing azure.ai.ml: its logger and its pollers print to the terminal."""
    quiet_sdk()
    _quiet_ml_if_imported(force=True)


def _quiet_ml_if_imported(force: bool = False) -> None:
    global _ml_patched
    import sys

    if _ml_patched or (not force and "azure.ai.ml" not in sys.modules):
        return
    with _lock:
        if _ml_patched:
            return
        ml_logger = logging.getLogger("azure.ai.ml")
        for handler in list(ml_logger.handlers):
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                ml_logger.removeHandler(handler)
        ml_logger.propagate = True  # to our "azure" handlers
        from azure.ai.ml._utils import _azureml_polling  # the poller class that prints '.' per poll
        from azure.mgmt.core.polling.arm_polling import ARMPolling

        # Polling state is what we want; the dot on stdout is not. Progress is reported by our own status polls.
        # A deliberate patch of the SDK's class (mypy refuses assigning to a method): the same method minus its print.
        _azureml_polling.AzureMLPolling.update_status = ARMPolling.update_status  # type: ignore[method-assign]
        _ml_patched = True


class sdk_lines:
    """Context manager: while open, SDK warnings (redacted) are passed to `listener` as text lines."""

    def __init__(self, listener: SdkListener) -> None:
        self.listener = listener

    def __enter__(self) -> sdk_lines:
        quiet_sdk()
        with _lock:
            _listeners.append(self.listener)
        return self

    def __exit__(self, *exc: object) -> None:
        with _lock:
            if self.listener in _listeners:
                _listeners.remove(self.listener)


# ----- print() calls inside SDK code ----------------------------------------------------------------
# A few SDK paths print straight to sys.stdout/sys.stderr (e.g. a colour reset after every code upload).
# While a thread is inside `thread_output()`, what it prints goes to the listeners instead of the
# terminal; other threads (the TUI, the CLI's own output) are untouched.

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_captured: dict[int, list[str]] = {}
_router_users = 0


class _ThreadRouter:
    def __init__(self, original: TextIO) -> None:
        self._original = original

    def write(self, text: str) -> int:
        buffer = _captured.get(threading.get_ident())
        if buffer is None:
            return self._original.write(text)
        buffer.append(text)
        return len(text)

    def flush(self) -> None:
        if threading.get_ident() not in _captured:
            self._original.flush()

    def __getattr__(self, name: str) -> Any:  # the rest of the stream's interface, passed through
        return getattr(self._original, name)


class thread_output:
    """Context manager: what this thread prints is captured (as SDK lines), not written to the terminal."""

    def __enter__(self) -> thread_output:
        global _router_users
        import sys

        with _lock:
            _router_users += 1
            if not isinstance(sys.stdout, _ThreadRouter):
                sys.stdout = _ThreadRouter(sys.stdout)
            if not isinstance(sys.stderr, _ThreadRouter):
                sys.stderr = _ThreadRouter(sys.stderr)
        self._nested = threading.get_ident() in _captured
        if not self._nested:
            _captured[threading.get_ident()] = []
        return self

    def __exit__(self, *exc: object) -> None:
        global _router_users
        text = "" if self._nested else "".join(_captured.pop(threading.get_ident(), []))
        with _lock:
            _router_users -= 1
            # The routers stay installed (they pass other threads' output straight through). Swapping
            # sys.stdout back while another thread is inside print() crashes CPython 3.11: print() holds a
            # borrowed reference to sys.stdout, so the router freed by the swap is used after free (SIGSEGV
            # seen when the smoke score's events printed while the traffic update's SDK calls ended).
            listeners = list(_listeners)
        for line in _ANSI.sub("", text).splitlines():
            if line.strip(" .\t"):
                for listener in listeners:
                    try:
                        listener("sdk: " + redact(line.rstrip()))
                    except Exception:
                        pass


class uncaptured:
    """Context manager: this thread's own output goes to the terminal again (our event sinks print
    from inside SDK calls, e.g. when a progress callback fires; that output is ours, not the SDK's)."""

    def __enter__(self) -> uncaptured:
        self._saved = _captured.pop(threading.get_ident(), None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            _captured[threading.get_ident()] = self._saved
