#!/usr/bin/env python3
"""Regenerate rdeploy_tui/spec/cran_names.txt: the CRAN package names rdeploy-tui can check offline.

Where CRAN answers, the list is complete: every name in CRAN's own index (`src/contrib/PACKAGES.gz`, what
`available.packages()` reads), written with `# complete: yes`, so a name missing from it is worth a warning.
Where it does not (this project's build machines reach only PyPI, Debian and npm), the list is an honest PARTIAL
one: the CRAN packages Debian packages as r-cran-*, each named as on CRAN (case and dots) from the Debian package's
Homepage field, read with `apt-cache show`. About 1,100 of CRAN's ~22,000 packages: enough to catch typos of
well-known names, never enough to say a name does not exist.

    apt-get update && python3 scripts/refresh_cran_names.py [--cran URL] [--debian-only]
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import re
import subprocess
import urllib.request
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "rdeploy_tui" / "spec" / "cran_names.txt"
CRAN = "https://cloud.r-project.org"
_HOMEPAGE = re.compile(
    r"^Homepage:\s*\S*?(?:package=|/web/packages/|/package/)([A-Za-z][A-Za-z0-9.]*[A-Za-z0-9])", re.M | re.I
)


def from_cran(base: str) -> tuple[list[str], str]:
    with urllib.request.urlopen(f"{base.rstrip('/')}/src/contrib/PACKAGES.gz", timeout=30) as response:
        text = gzip.decompress(response.read()).decode("utf-8", "replace")
    names = sorted(set(re.findall(r"^Package:\s*(\S+)", text, re.M)), key=str.lower)
    return names, f"CRAN's index at {base} ({len(names)} names)"


def from_debian() -> tuple[list[str], str]:
    names = subprocess.run(
        ["apt-cache", "pkgnames", "r-cran-"], capture_output=True, text=True, check=True
    ).stdout.split()
    shown = subprocess.run(["apt-cache", "show", *sorted(names)], capture_output=True, text=True, check=True).stdout
    found = sorted(set(_HOMEPAGE.findall(shown)), key=str.lower)
    release = Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").exists() else "unknown"
    return (
        found,
        f"Debian {release} r-cran-* packages ({len(names)}), CRAN names from their Homepage field; {len(found)} names",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cran", default=CRAN, help="a CRAN mirror")
    parser.add_argument("--debian-only", action="store_true", help="do not ask CRAN")
    args = parser.parse_args()
    complete = False
    if not args.debian_only:
        try:
            names, source = from_cran(args.cran)
            complete = True
        except OSError as exc:
            print(f"CRAN did not answer ({exc}); writing the partial list from Debian's packages")
    if not complete:
        names, source = from_debian()
    header = [
        "# CRAN package names shipped with rdeploy-tui for offline checks"
        + (": the complete index." if complete else ": a PARTIAL list (see scripts/refresh_cran_names.py)."),
        f"# source: {source}",
        f"# date: {datetime.date.today().isoformat()}",
        f"# complete: {'yes' if complete else 'no'}",
    ]
    OUT.write_text("\n".join(header + names) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(names)} names, {'complete' if complete else 'partial'})")


if __name__ == "__main__":
    main()
