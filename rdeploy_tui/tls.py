"""One TLS context per trust setting for every httpx client of the process (ARM metadata, prices, the package
index, scoring). Building a context reads the whole CA bundle (~30 ms for certifi's on this VM, measured with
cProfile on `endpoints list`): a day-2 command made three of them for one sign-in (issue 17). SSLContext is safe to
share between threads; the per-connection state lives in the sockets it wraps."""

from __future__ import annotations

import os
import ssl
from functools import lru_cache


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """What httpx would build for `verify` (True: SSL_CERT_FILE / SSL_CERT_DIR, else certifi; a path: that CA
    bundle; False: no verification), built once per setting."""
    if verify is True:
        return _context(True, os.environ.get("SSL_CERT_FILE") or "", os.environ.get("SSL_CERT_DIR") or "")
    if isinstance(verify, str):
        try:
            stat = os.stat(verify)
        except OSError:
            stat = None  # let ssl report the missing file the way it always did
        # A bundle rewritten in place (a new sandbox CA at the same path) must not keep its old context.
        return _context(verify, str(stat and stat.st_mtime_ns), str(stat and stat.st_size))
    return _context(verify, "", "")


@lru_cache(maxsize=16)
def _context(verify: bool | str, _key1: str, _key2: str) -> ssl.SSLContext:
    import httpx

    if isinstance(verify, str):
        return (
            ssl.create_default_context(capath=verify)
            if os.path.isdir(verify)
            else ssl.create_default_context(cafile=verify)
        )
    return httpx.create_ssl_context(verify=verify)
