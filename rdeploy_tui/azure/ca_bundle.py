"""Trusting a private CA (--ca-bundle, the sandbox) in every client of this process, including the blob
client azure-ai-ml builds internally, which ignores connection_verify and reads only REQUESTS_CA_BUNDLE."""

from __future__ import annotations

import os
from pathlib import Path

from rdeploy_tui import bounded_read
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.locations import tls_dir


def combined_ca_bundle(extra: str) -> str:
    """What this process already trusts plus `extra`: the user's REQUESTS_CA_BUNDLE when it names a file
    (a TLS-inspecting proxy's CA must keep working), else certifi's public roots. The result is set
    as REQUESTS_CA_BUNDLE by the callers, so a bundle that already holds `extra` is used as it is."""
    import hashlib

    import certifi

    extra_pem = bounded_read.read_bytes(extra, bounded_read.CA_BUNDLE)
    current = os.environ.get("REQUESTS_CA_BUNDLE") or ""
    base = Path(current) if current and Path(current).is_file() else Path(certifi.where())
    base_pem = bounded_read.read_bytes(base, bounded_read.CA_BUNDLE)
    if extra_pem.strip() and extra_pem.strip() in base_pem:
        return str(base)  # connecting again in the same process: do not nest bundles
    folder = tls_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"ca-bundle-{hashlib.sha256(base_pem + b'|' + extra_pem).hexdigest()[:12]}.pem"
    if not target.exists():
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(base_pem + b"\n" + extra_pem)
        os.replace(tmp, target)
    return str(target)


def trust_ca_bundle(extra: str) -> str:
    """certifi + `extra`, trusted by every client of this process: the blob client azure-ai-ml builds internally
    ignores connection_verify and only reads REQUESTS_CA_BUNDLE. Raises RdeployError when `extra` holds no CA."""
    import ssl

    try:
        # Read here, bounded (a FIFO or a huge file is refused at once), then given to OpenSSL as text.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cadata=bounded_read.read_text(extra, bounded_read.CA_BUNDLE))
        if not context.cert_store_stats()["x509"]:
            raise ValueError("no certificate in it")
    except bounded_read.FileRefused as exc:
        raise RdeployError(f"--ca-bundle {exc.what}.", exc.next_step, code="Usage") from None
    except (ssl.SSLError, ValueError, TypeError, OSError) as exc:
        raise RdeployError(
            f"--ca-bundle {extra} holds no usable PEM certificates ({getattr(exc, 'reason', None) or exc}).",
            "Give a PEM file (-----BEGIN CERTIFICATE-----) with the CA that signed the ARM endpoint's certificate.",
            code="Usage",
        ) from None
    bundle = combined_ca_bundle(extra)
    os.environ["REQUESTS_CA_BUNDLE"] = bundle
    return bundle
