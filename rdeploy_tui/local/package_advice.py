"""How to install R packages on this machine, advising only what exists (issue 23.9).

Debian's r-cran-NAME where rdeploy-tui's list of CRAN names says Debian packages it (spec/cran_names.txt is
made from Debian's r-cran-* packages when CRAN itself cannot be read); `install.packages()` for names on CRAN (that
list, plus the CRAN packages Debian lacks that rdeploy-tui's model kinds use, spec/package_names.py). A name neither
knows is named as unknown with its likely spellings, never advised for installing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rdeploy_tui.spec import package_names

_NO_PACKAGE = re.compile(r"there is no package called [‘'\"`]?([A-Za-z][A-Za-z0-9.]*)")


def missing_package(text: str) -> str | None:
    """The package R said is missing ("there is no package called 'x'"), or None."""
    match = _NO_PACKAGE.search(text)
    return match.group(1) if match else None


def install_advice(packages: Sequence[str]) -> str:
    """One or more sentences saying how to install `packages` here; every command names only existing packages."""
    names = package_names.shipped()
    debian_list = names.source.startswith("Debian")
    on_cran = [p for p in packages if p in names.names or p in package_names.CRAN_NOT_IN_DEBIAN]
    debian = [p for p in on_cran if debian_list and p in names.names]
    unknown = [p for p in packages if p not in on_cran]
    parts = []
    if debian:
        apt = " ".join(f"r-cran-{p.lower()}" for p in debian)
        parts.append(f"on Debian or Ubuntu: sudo apt-get install -y --no-install-recommends {apt}")
    if on_cran:
        listed = ", ".join(f'"{p}"' for p in on_cran)
        lacking = [p for p in on_cran if p not in debian]
        note = f" (Debian has no r-cran-{lacking[0].lower()})" if debian_list and len(lacking) == 1 else ""
        parts.append(f"in R, from CRAN: install.packages(c({listed})){note}")
    advice = "install " + ("it" if len(on_cran) == 1 else "them") + " here " + "; or ".join(parts) if parts else ""
    for name in unknown:
        near = package_names.close_matches(name, names.names | package_names.CRAN_NOT_IN_DEBIAN)
        said = (
            f"{name!r} is not a CRAN package rdeploy-tui knows (its list of CRAN names, {names.date}, "
            f"{'is complete' if names.complete else 'is partial'}): check the name"
            + (f"; did you mean {', '.join(near)}?" if near else "")
        )
        advice = f"{advice}. {said[:1].upper()}{said[1:]}" if advice else said
    return advice
