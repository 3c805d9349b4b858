"""R models of every kind rdeploy-tui serves, built with this machine's R at test time (importable from every test
folder): a crate saved both ways, an lm on cars, a glm, a ranger forest (where r-cran-ranger is installed), and
vetiver-shaped pins board folders.

The vetiver package is not installable here (Debian has no r-cran-vetiver, CRAN is unreachable), so the pins board
folders are written the way vetiver_pin_write() writes them (vetiver-r R/pin-read-write.R: pins::pin_write of
list(model, prototype) as type "rds", metadata user$required_pkgs; pins-r R/meta.R: data.txt beside
<name>.rds in <board>/<name>/<version>/), with base R and yaml. The models are real fits either way.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

CRATE = r"""
# as carrier::crate builds one: a function whose environment (a child of base) holds its values
env <- new.env(parent = baseenv())
env$coef <- unname(coef(lm(dist ~ speed, data = cars)))
crate <- function(speed) {
  if (!is.numeric(speed)) stop("speed must be numbers, e.g. {\"speed\": [10]}")
  data.frame(speed = speed, dist = coef[[1]] + coef[[2]] * speed)
}
environment(crate) <- env
"""

BUILDERS = {
    # Microsoft's how-to's form
    "crate-serialize": CRATE + 'dir.create(file.path(out, "models"), recursive = TRUE)\n'
    'saveRDS(serialize(crate, NULL), file.path(out, "models", "crate.bin"))',
    "crate-saverds": CRATE + 'saveRDS(crate, file.path(out, "crate.bin"))',
    "lm": 'saveRDS(lm(dist ~ speed, data = cars), file.path(out, "model.rds"))',
    "glm": r"""
d <- mtcars
d$cyl <- factor(d$cyl)
saveRDS(glm(am ~ wt + cyl, data = d, family = binomial), file.path(out, "model.rds"))
""",
    "ranger": "forest <- ranger::ranger(dist ~ speed, data = cars, num.trees = 50, seed = 1)\n"
    'saveRDS(forest, file.path(out, "forest.rds"))',
    "vetiver-lm": r"""
pin <- function(board, name, version, x, required) {
  dir <- file.path(board, name, version)
  dir.create(dir, recursive = TRUE)
  rds <- file.path(dir, paste0(name, ".rds"))
  saveRDS(x, rds, version = 2)
  yaml::write_yaml(list(file = basename(rds), file_size = as.integer(file.size(rds)), pin_hash = "4b2c0e1f9d8a7b6c",
                        type = "rds", title = paste0(name, ": a pinned list"), description = "a model",
                        created = substr(version, 1, 16), api_version = 1L,
                        user = list(required_pkgs = as.list(required))), file.path(dir, "data.txt"))
}
fit <- lm(dist ~ speed, data = cars)
prototype <- cars[0, "speed", drop = FALSE]
# an older version first: the reader must take the newest
older <- list(model = lm(dist ~ 1, data = cars), prototype = cars[0, 0])
pin(out, "cars-lm", "20261120T090000Z-0f0f0", older, character())
pin(out, "cars-lm", "20261127T101500Z-1a2b3", list(model = fit, prototype = prototype), character())
""",
    "vetiver-ranger": r"""
dir <- file.path(out, "cars-rf", "20261127T101500Z-aaaaa")
dir.create(dir, recursive = TRUE)
rf <- ranger::ranger(dist ~ speed, data = cars, num.trees = 50, seed = 1)
saveRDS(list(model = rf, prototype = cars[0, "speed", drop = FALSE]), file.path(dir, "cars-rf.rds"), version = 2)
yaml::write_yaml(list(file = "cars-rf.rds", type = "rds", created = "20261127T101500Z", api_version = 1L,
                      user = list(required_pkgs = list("ranger"))), file.path(dir, "data.txt"))
""",
}

NEEDS = {"ranger": ["ranger"], "vetiver-lm": ["yaml"], "vetiver-ranger": ["ranger", "yaml"]}


def r_has(package: str) -> bool:
    done = subprocess.run(
        ["Rscript", "-e", f'cat(nzchar(system.file(package = "{package}")))'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip() == "TRUE"


def require_packages(kind: str) -> None:
    """Skip (outside CI) a model whose R package is not installed here; in CI dev.sh installs them, so fail."""
    missing = [p for p in NEEDS.get(kind, []) if not r_has(p)]
    if missing:
        reason = (
            f"the {kind} model needs the R package(s) {', '.join(missing)} (Debian: r-cran-*; dev.sh installs them)"
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)


def build(kind: str, out: Path) -> Path:
    """Write model `kind` into folder `out` with Rscript; returns `out`."""
    require_packages(kind)
    out.mkdir(parents=True, exist_ok=True)
    script = f"out <- commandArgs(trailingOnly = TRUE)[[1]]\n{BUILDERS[kind]}\n"
    done = subprocess.run(["Rscript", "--vanilla", "-e", script, str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return out
