"""Which R packages a simulated image build can install.

A real build downloads from CRAN (or Posit's binary mirror); the sandbox has no internet, so it
treats a package as installable when it is in this machine's R library or in a list of well-known
CRAN names. Anything else fails the way `install.packages()` fails for a name CRAN does not have.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rdeploy_tui.sandbox.sysreqs import SYSREQS

# Packages a model-serving image commonly installs. Not exhaustive: it only has to make the
# sandbox accept what real users ask for while still rejecting typos.
WELL_KNOWN_CRAN = frozenset(
    [
        "carrier",
        "plumber",
        "jsonlite",
        "httpuv",
        "vetiver",
        "pins",
        "renv",
        "remotes",
        "pak",
        "tidyverse",
        "dplyr",
        "tidyr",
        "purrr",
        "readr",
        "tibble",
        "stringr",
        "forcats",
        "lubridate",
        "ggplot2",
        "magrittr",
        "rlang",
        "glue",
        "data.table",
        "Matrix",
        "MASS",
        "nnet",
        "rpart",
        "survival",
        "mgcv",
        "lme4",
        "nlme",
        "boot",
        "class",
        "cluster",
        "caret",
        "tidymodels",
        "parsnip",
        "recipes",
        "workflows",
        "rsample",
        "yardstick",
        "tune",
        "hardhat",
        "butcher",
        "bundle",
        "randomForest",
        "ranger",
        "xgboost",
        "lightgbm",
        "glmnet",
        "gbm",
        "e1071",
        "kernlab",
        "earth",
        "naivebayes",
        "C50",
        "party",
        "partykit",
        "forecast",
        "fable",
        "tsibble",
        "zoo",
        "xts",
        "tseries",
        "prophet",
        "stringi",
        "R6",
        "Rcpp",
        "cli",
        "crayon",
        "curl",
        "httr",
        "httr2",
        "mime",
        "sodium",
        "later",
        "promises",
        "swagger",
        "webutils",
        "lobstr",
        "digest",
        "yaml",
        "arrow",
        "DBI",
        "odbc",
        "AzureStor",
        "AzureAuth",
    ]
) | (frozenset(SYSREQS) - {"rgdal", "rgeos"})  # rgdal and rgeos were retired to CRAN's archive in 2023

# R's base and recommended-by-default packages ship with R itself.
BASE_R = frozenset(
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


def _library_dirs() -> list[Path]:
    """Where this machine's R keeps packages, without starting R (that costs ~0.2 s)."""
    dirs = [Path(p) for p in os.environ.get("R_LIBS", "").split(os.pathsep) if p]
    dirs += [Path(p) for p in os.environ.get("R_LIBS_SITE", "").split(os.pathsep) if p]
    dirs += [Path("/usr/local/lib/R/site-library"), Path("/usr/lib/R/site-library"), Path("/usr/lib/R/library")]
    dirs += [Path("/Library/Frameworks/R.framework/Resources/library")]
    return [d for d in dirs if d.is_dir()]


_VERSION = re.compile(r"^Version:\s*(\S+)", re.MULTILINE)


@lru_cache(maxsize=1)
def local_library() -> dict[str, str]:
    """Package name -> version for every package installed in this machine's R library."""
    found: dict[str, str] = {}
    for folder in _library_dirs():
        for description in folder.glob("*/DESCRIPTION"):
            try:
                match = _VERSION.search(description.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                continue
            found.setdefault(description.parent.name, match.group(1) if match else "0.0.0")
    return found


@dataclass(frozen=True)
class Cran:
    """The simulated package repository a build installs from.

    `extra` adds names (a test or the command line can make a private package installable);
    `unavailable` removes names, so a test can make even a well-known package fail.
    """

    extra: frozenset[str] = frozenset()
    unavailable: frozenset[str] = frozenset()

    def has(self, package: str) -> bool:
        if package in self.unavailable:
            return False
        return package in BASE_R or package in WELL_KNOWN_CRAN or package in self.extra or package in local_library()

    def names(self) -> list[str]:
        """Every package a build can install (base R's own are not in a repository)."""
        return sorted((WELL_KNOWN_CRAN | self.extra | set(local_library())) - self.unavailable - BASE_R, key=str.lower)

    def version(self, package: str) -> str:
        """The version a build would get: the local one when installed here, else a stable made-up one."""
        local = local_library().get(package)
        if local:
            return local
        digest = hashlib.sha256(package.encode()).digest()
        return f"{digest[0] % 3}.{digest[1] % 10}.{digest[2] % 20}"

    def size_kb(self, package: str) -> int:
        return 40 + hashlib.sha256(package.encode()).digest()[3] * 12
