"""R package names checked against a list of CRAN names, offline: typos of well-known names are caught before a build.

The shipped list (cran_names.txt, made by scripts/refresh_cran_names.py) is PARTIAL: the ~1,100 CRAN packages Debian
packages, named as on CRAN. So it can say "did you mean forecast?" for `forcast`, or that CRAN spells it `Rcpp`, but a
name it lacks may well exist: then it says nothing (the pipeline checks the repository's own index before building).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_FILE = Path(__file__).with_name("cran_names.txt")


@dataclass(frozen=True)
class NameList:
    names: frozenset[str]
    source: str  # e.g. "Debian 12.11 r-cran-* packages ..."
    date: str

    @property
    def by_lower(self) -> dict[str, str]:
        return {name.lower(): name for name in self.names}


@lru_cache(maxsize=1)
def shipped() -> NameList:
    try:
        text = _FILE.read_text(encoding="utf-8")
    except OSError:
        return NameList(frozenset(), "missing", "unknown")
    meta = dict(re.findall(r"^# (source|date): (.*)$", text, re.M))
    names = frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return NameList(names, meta.get("source", "unknown"), meta.get("date", "unknown"))


def close_matches(name: str, names: frozenset[str] | set[str], limit: int = 3) -> list[str]:
    lower = {n.lower(): n for n in names}
    return [lower[m] for m in difflib.get_close_matches(name.lower(), list(lower), n=limit, cutoff=0.8)]


def offline_warning(name: str) -> str | None:
    """A warning when the shipped list suggests a typo or another spelling; None when it has nothing to say."""
    names = shipped()
    if name in names.names:
        return None
    spelled = names.by_lower.get(name.lower())
    if spelled is not None:
        return f"R package {name!r} is spelled {spelled!r} on CRAN (names are case-sensitive when installing)"
    near = close_matches(name, names.names)
    if not near:
        return None
    return (f"R package {name!r} is not in rdeploy-tui's list of CRAN names (partial, {names.date}); "
            f"did you mean {', '.join(near)}?")
