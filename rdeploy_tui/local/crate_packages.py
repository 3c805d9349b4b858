"""Which R packages a model's crate.bin uses, read with this machine's R (issue 13.4).

A crate is a serialized function whose environment holds its data. The R code below walks, with codetools, the
function's body and every function among its enclosed values (recursively), collecting `pkg::fn` and `pkg:::fn`,
`library(pkg)` / `require(pkg)` / `requireNamespace("pkg")`, functions that live in a package namespace (a
captured `forecast::ets`), and the package of S4 objects. Base R's own packages are left out. It never guesses:
without R (or codetools, or a readable crate) the answer says the list could not be read and why.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from rdeploy_tui.local.plumber import find_rscript

TIMEOUT_S = 60.0
BASE_PACKAGES = frozenset(
    ["base", "compiler", "datasets", "grDevices", "graphics", "grid", "methods", "parallel", "splines", "stats", "stats4", "tcltk", "tools", "utils"]
)

_R = r"""
if (!requireNamespace("codetools", quietly = TRUE)) {
  cat("ERROR codetools is not installed here (Debian: apt-get install r-cran-codetools)\n"); quit(status = 0)
}
crate <- tryCatch(unserialize(readRDS(commandArgs(trailingOnly = TRUE)[[1]])),
                  error = function(e) { cat("ERROR crate.bin could not be read:", conditionMessage(e), "\n"); quit(status = 0) })
found <- character()
seen <- list()
add <- function(p) if (is.character(p) && length(p) == 1 && nzchar(p)) found <<- c(found, p)
walker <- codetools::makeCodeWalker(
  call = function(e, w) {
    head <- e[[1]]
    if (is.symbol(head)) {
      name <- as.character(head)
      if (name %in% c("::", ":::") && length(e) >= 2) add(as.character(e[[2]]))
      if (name %in% c("library", "require", "requireNamespace", "loadNamespace") && length(e) >= 2) {
        arg <- e[[2]]
        if (is.symbol(arg) || is.character(arg)) add(as.character(arg))
      }
    }
    for (part in as.list(e)) if (!missing(part) && !is.null(part)) codetools::walkCode(part, w)
  },
  leaf = function(e, w) NULL
)
visit <- function(x, depth = 0) {
  if (depth > 8) return(invisible())
  if (is.function(x)) {
    env <- environment(x)
    if (!is.null(env) && isNamespace(env)) { add(getNamespaceName(env)); return(invisible()) }
    for (s in seen) if (identical(s, x)) return(invisible())
    seen[[length(seen) + 1]] <<- x
    if (!is.primitive(x)) codetools::walkCode(body(x), walker)
    if (!is.null(env) && !identical(env, globalenv()) && !identical(env, baseenv()) && !identical(env, emptyenv()))
      for (name in ls(env, all.names = TRUE)) visit(get(name, envir = env), depth + 1)
  } else if (isS4(x)) {
    add(attr(class(x), "package"))
  } else if (is.list(x) && !is.data.frame(x)) {
    for (item in x) visit(item, depth + 1)
  }
  invisible()
}
visit(crate)
for (p in sort(unique(found))) cat("PACKAGE", p, "\n")
"""


@dataclass(frozen=True)
class CratePackages:
    packages: list[str] = field(default_factory=list)
    error: str | None = None  # why the list could not be read (then `packages` is empty, never a guess)


NO_R = "R is not installed here (no Rscript)"  # callers say what could not be read


def without_r() -> CratePackages | None:
    """The answer when this machine has no R, else None (asked before fetching a model's files only to find that)."""
    return None if find_rscript() else CratePackages([], NO_R)


def read_crate_packages(crate: Path, *, rscript: str | None = None) -> CratePackages:
    rscript = rscript or find_rscript()
    if rscript is None:
        return CratePackages([], NO_R)
    if not Path(crate).is_file():
        return CratePackages([], f"{crate} does not exist")
    try:
        done = subprocess.run(
            [rscript, "--vanilla", "-e", _R, str(crate)], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CratePackages([], f"R could not read the crate: {exc}")
    errors = [line[6:].strip() for line in done.stdout.splitlines() if line.startswith("ERROR ")]
    if errors or done.returncode != 0:
        return CratePackages([], errors[0] if errors else f"R failed reading the crate: {done.stderr.strip()[-300:]}")
    found = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("PACKAGE ")]
    return CratePackages([p for p in found if p not in BASE_PACKAGES])


def find_crate(model_dir: Path) -> Path | None:
    """crate.bin in a model folder (models/crate.bin first, as the how-to registers it, else anywhere below)."""
    model_dir = Path(model_dir)
    for candidate in (model_dir / "models" / "crate.bin", model_dir / "crate.bin"):
        if candidate.is_file():
            return candidate
    found = sorted(model_dir.rglob("crate.bin"))
    return found[0] if found else None


def read_model_dir(model_dir: Path) -> CratePackages:
    """The packages the crate.bin in a model folder uses (see find_crate)."""
    crate = find_crate(model_dir)
    if crate is None:
        return CratePackages([], f"no crate.bin under {model_dir}")
    return read_crate_packages(crate)
