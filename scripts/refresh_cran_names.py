#!/usr/bin/env python3
"""Regenerate rdeploy_tui/spec/cran_names.txt: the CRAN package names rdeploy-tui can check offline.

CRAN's own index is not reachable from every machine, and a full copy of it is not shipped. What this writes is an
honest PARTIAL list: the CRAN packages Debian packages as r-cran-*, each named as on CRAN (case and dots) from the
Debian package's Homepage field (https://cran.r-project.org/package=NAME), read with `apt-cache show`. About 1,100 of
CRAN's ~22,000 packages: enough to catch typos of well-known names, never enough to say a name does not exist.

    apt-get update && python3 scripts/refresh_cran_names.py
"""
from __future__ import annotations

import datetime
import re
import subprocess
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "rdeploy_tui" / "spec" / "cran_names.txt"
_HOMEPAGE = re.compile(r"^Homepage:\s*\S*?(?:package=|/web/packages/|/package/)([A-Za-z][A-Za-z0-9.]*[A-Za-z0-9])", re.M | re.I)


def main() -> None:
    names = subprocess.run(["apt-cache", "pkgnames", "r-cran-"], capture_output=True, text=True, check=True).stdout.split()
    shown = subprocess.run(["apt-cache", "show", *sorted(names)], capture_output=True, text=True, check=True).stdout
    found = sorted(set(_HOMEPAGE.findall(shown)), key=str.lower)
    release = Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").exists() else "unknown"
    header = [
        "# CRAN package names shipped with rdeploy-tui for offline checks: a PARTIAL list (see scripts/refresh_cran_names.py).",
        f"# source: Debian {release} r-cran-* packages ({len(names)}), CRAN names from their Homepage field; {len(found)} names",
        f"# date: {datetime.date.today().isoformat()}",
    ]
    OUT.write_text("\n".join(header + found) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(found)} names)")


if __name__ == "__main__":
    main()
