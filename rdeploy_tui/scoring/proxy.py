"""Which proxy a scoring request goes through: HTTPS_PROXY / NO_PROXY as the Azure SDKs (requests) read them.

The scoring request carries the endpoint key. Through a proxy it is only ever sent inside a CONNECT tunnel (an
https:// target: TLS runs end to end, the proxy sees host and port only); a plain http:// target (a local
plumber) never goes through a proxy, where the key would cross it in clear. Loopback never goes through one:
a proxy cannot reach this machine's 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import urllib.request
from urllib.parse import urlsplit


def proxy_for(uri: str) -> str | None:
    """The proxy URL for a scoring URI, or None to connect directly."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if parts.scheme != "https" or not host or _loopback(host):
        return None
    proxies = urllib.request.getproxies_environment()  # the *_PROXY variables, either case, as requests reads them
    proxy = proxies.get("https") or proxies.get("all")
    if not proxy:
        return None
    netloc = f"{host}:{parts.port}" if parts.port else host
    # proxy_bypass_environment is CPython's NO_PROXY matcher (requests uses it too); typeshed leaves it out.
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if bypass(netloc, proxies) or bypass(host, proxies):
        return None  # NO_PROXY names it (suffixes, `*`, host:port) the way urllib and requests match
    return proxy if "://" in proxy else f"http://{proxy}"


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
