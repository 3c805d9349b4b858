"""R package names checked against a list of CRAN names, offline: typos of well-known names are caught before a build.

The shipped list (cran_names.txt, made by scripts/refresh_cran_names.py) is CRAN's whole index when the script could
read it (`# complete: yes`), else PARTIAL: the ~1,100 CRAN packages Debian packages, named as on CRAN (what this
project's build machines can reach). A partial list can say "did you mean forecast?" for `forcast`, or that CRAN spells
it `Rcpp`, but a name it lacks may well exist: then it says nothing. A complete one also warns about a name it lacks,
naming its date (a package newer than the list is possible). Either way only a warning: the pipeline checks the
repository's own index before building.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_FILE = Path(__file__).with_name("cran_names.txt")

# CRAN packages that rdeploy-tui's model kinds use and Debian 12 does not package, so the shipped list (made from
# Debian's r-cran-* when CRAN cannot be read) lacks them: carrier (crates), vetiver and pins (vetiver models), bundle
# and butcher (what vetiver_model() applies), and the tidymodels packages a workflow needs
# (each at cran.r-project.org/package=NAME).
CRAN_NOT_IN_DEBIAN = frozenset(
    ["bundle", "butcher", "carrier", "parsnip", "pins", "tidymodels", "vetiver", "workflows"]
)


@dataclass(frozen=True)
class NameList:
    names: frozenset[str]
    source: str  # e.g. "Debian 12.11 r-cran-* packages ..."
    date: str
    complete: bool = False  # CRAN's whole index on that date, not a sample of it

    @property
    def by_lower(self) -> dict[str, str]:
        return {name.lower(): name for name in self.names}


@lru_cache(maxsize=1)
def shipped() -> NameList:
    try:
        text = _FILE.read_text(encoding="utf-8")
    except OSError:
        return NameList(frozenset(), "missing", "unknown")
    return parse(text)


def parse(text: str) -> NameList:
    meta = dict(re.findall(r"^# (source|date|complete): (.*)$", text, re.M))
    names = frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return NameList(
        names, meta.get("source", "unknown"), meta.get("date", "unknown"), meta.get("complete", "no").strip() == "yes"
    )


def close_matches(name: str, names: frozenset[str] | set[str], limit: int = 3) -> list[str]:
    lower = {n.lower(): n for n in names}
    return [lower[m] for m in difflib.get_close_matches(name.lower(), list(lower), n=limit, cutoff=0.8)]


def offline_warning(name: str, names: NameList | None = None) -> str | None:
    """A warning when the shipped list suggests a typo or another spelling, or (complete list) lacks the name; None
    when it has nothing to say."""
    names = names or shipped()
    if name in names.names or name in CRAN_NOT_IN_DEBIAN:
        return None
    spelled = names.by_lower.get(name.lower())
    if spelled is not None:
        return f"R package {name!r} is spelled {spelled!r} on CRAN (names are case-sensitive when installing)"
    near = close_matches(name, names.names)
    guess = f"; did you mean {', '.join(near)}?" if near else ""
    if names.complete:
        return (
            f"R package {name!r} was not on CRAN on {names.date} (rdeploy-tui's copy of CRAN's index)"
            f"{guess or '; check the name'}"
        )
    if not near:
        return None
    return f"R package {name!r} is not in rdeploy-tui's list of CRAN names (partial, {names.date}){guess}"
