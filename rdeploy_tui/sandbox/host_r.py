"""This machine's R, which runs every deployment's container: which packages it has, and how to get the others.

An image the sandbox builds is a record, not a file system: its container runs with this machine's R and packages
(a sandbox limit). So a build names, in its log, the packages the image installs that this R lacks, with the Debian
package that provides each where Debian has one (`r-cran-` + the name in lower case, Debian's R policy), and the
deployment's log names them again when the container starts: never a silent failure at scoring time.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from functools import lru_cache

_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def installed_packages() -> frozenset[str] | None:
    """The packages this machine's R loads (installed.packages()); None when there is no Rscript."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    try:
        done = subprocess.run(
            [rscript, "--vanilla", "-e", "cat(rownames(installed.packages()), sep = '\\n')"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return frozenset(line.strip() for line in done.stdout.splitlines() if line.strip())


def debian_package(package: str) -> str:
    return "r-cran-" + package.lower()


@lru_cache(maxsize=256)
def debian_has(name: str) -> bool | None:
    """Whether apt knows the package (from this machine's package lists); None when that cannot be told."""
    apt_cache = shutil.which("apt-cache")
    if apt_cache is None:
        return None
    try:
        done = subprocess.run([apt_cache, "show", "--no-all-versions", name], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.returncode == 0 and b"Package:" in done.stdout


def missing(packages: list[str]) -> list[str] | None:
    """The packages of `packages` this machine's R lacks (None: no R here to ask)."""
    with _LOCK:
        have = installed_packages()
    if have is None:
        return None
    return sorted({p for p in packages if p not in have})


def how_to_get(packages: list[str]) -> list[str]:
    """Lines saying how to install `packages` here: one apt-get line for those Debian has, the rest named."""
    debian = [debian_package(p) for p in packages if debian_has(debian_package(p))]
    others = [p for p in packages if not debian_has(debian_package(p))]
    lines = []
    if debian:
        lines.append(f"  sudo apt-get install -y {' '.join(debian)}")
    if others:
        lines.append(
            f"  not packaged by Debian (or apt's lists are not here): {', '.join(others)}; "
            "install them into this machine's R from a repository it can reach"
        )
    return lines
