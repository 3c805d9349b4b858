"""Before a build: are the requested R packages in the repository the image installs from?

Reads the repository's index as `available.packages()` does (`{repo}/src/contrib/PACKAGES`): Posit Package Manager's
dated snapshot for a real deploy, the sandbox's own CRAN catalogue for `--sandbox`. A name missing from the live
index fails the deploy before minutes of building, with close matches; an index that cannot be read (no network,
a base image whose repository is unknown) only says the names were not checked.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass

import httpx

from rdeploy_tui.spec.package_names import close_matches
from rdeploy_tui.tls import tls_context

TIMEOUT_S = 15.0
# What a base R installation and the image's own packages provide: never in a CRAN index, always installable.
_BASE_R = frozenset(
    [
        "base",
        "compiler",
        "datasets",
        "grDevices",
        "graphics",
        "grid",
        "methods",
        "parallel",
        "splines",
        "stats",
        "stats4",
        "tcltk",
        "tools",
        "utils",
    ]
)


@dataclass(frozen=True)
class IndexCheck:
    url: str
    read: bool  # False: the index could not be read; `reason` says why
    unknown: dict[str, list[str]]  # package -> close matches in the index
    reason: str = ""


def read_index(repo_url: str, *, verify: bool | str = True) -> set[str]:
    """Package names in `{repo_url}/src/contrib/PACKAGES.gz` (or PACKAGES, as R falls back); raises httpx.HTTPError."""
    base = repo_url.rstrip("/") + "/src/contrib/"
    tls = tls_context(verify)
    with httpx.Client(timeout=httpx.Timeout(TIMEOUT_S, connect=5.0), verify=tls, follow_redirects=True) as client:
        response = client.get(base + "PACKAGES.gz")
        if response.status_code == 200:
            text = (
                gzip.decompress(response.content).decode("utf-8", "replace")
                if response.content[:2] == b"\x1f\x8b"
                else response.text
            )
        else:
            response = client.get(base + "PACKAGES")
            response.raise_for_status()
            text = response.text
    return set(re.findall(r"^Package:\s*(\S+)", text, re.M))


def check_packages(packages: list[str], repo_url: str, *, verify: bool | str = True) -> IndexCheck:
    try:
        index = read_index(repo_url, verify=verify)
    except (httpx.HTTPError, OSError) as exc:
        return IndexCheck(repo_url, False, {}, f"{type(exc).__name__}: {exc}")
    unknown = {p: close_matches(p, index) for p in packages if p not in index and p not in _BASE_R}
    return IndexCheck(repo_url, True, unknown)
