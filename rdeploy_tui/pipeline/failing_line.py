"""The line of a failure's log that names its cause, for StepFailed.failing_line (the wizard and the CLI show it).

A failed step's details are the tail of a log: an ACR build's, or a deployment's containers'. Their LAST lines are
the generic wrappers ACR and Docker add to every failure ("Run ID: cw2 failed after 5s ...", "The command ...
returned a non-zero code: 1", "Execution halted"), so the line that says what went wrong is found by what it says,
in tiers, most telling first:

1. our own lines: the generated install_packages.R and start_plumber.R print `rdeploy: ...` when they stop a build
   or a start-up (docker-context-template/);
2. R's, pak's and Docker's own statements of a cause (R CMD INSTALL's "ERROR: compilation failed for package",
   "there is no package called ...", "unable to load shared object", pak's "Failed to build source package ...",
   a registry's "toomanyrequests" ...) and R's `Error in f() : message` / `Error: message`;
3. any other line that says error, failed or cannot, except the wrappers above;
4. the failed command itself ("The command '...' returned a non-zero code: 137"): it names what ran, and its code.

Within a tier the FIRST such line wins: later lines of a failure are its consequences ("installation of package
had non-zero exit status" after the compiler error). A cause that ends in ':' continues on the next, indented,
line (R wraps "unable to load shared object '...':" before the missing library): both are joined. Timestamps of
container logs and pak's bullets (✖ !) are left out.
"""

from __future__ import annotations

import re

_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z? ")
_BULLET = re.compile(r"^[✖✔ℹ!→+*>]\s+")

_OWN = re.compile(r"^rdeploy: ")
_CAUSE = re.compile(
    r"there is no package called"
    r"|package or namespace load failed"
    r"|unable to load shared object"
    r"|^ERROR: "  # R CMD INSTALL: ERROR: compilation failed / configuration failed / dependency ... not available
    r"|Failed to build source package"
    r"|Can't find package called"
    r"|Could not solve package dependencies"
    r"|is not available for (?:this version of R|R version)"
    r"|installation of package .+ had non-zero exit status"
    r"|toomanyrequests"
    r"|manifest unknown"
    r"|pull access denied"
    r"|no space left on device"
    r"|^Error in .+ :(?: \S|$)"  # R: "Error in loadNamespace(x) : there is no ..." (or the message on the next line)
    r"|^Error: \S",  # R's top-level stop(); pak's bare "Error: " is followed by its own lines
    re.IGNORECASE,
)
_GENERIC = re.compile(r"^(?:error|fatal)\b|\b(?:failed|cannot|no such)\b", re.IGNORECASE)
_COMMAND = re.compile(r"^The command .+ returned a non-zero code")
# What ACR, Docker and R print around EVERY failure: never the cause.
_WRAPPER = re.compile(
    r"^Run ID: \S+ failed after"
    r"|^failed to run step ID"
    r"|Container failed during run"
    r"|^Execution halted$"
    r"|^Calls: "
    r"|^The command .+ returned a non-zero code",
    re.IGNORECASE,
)


def _unstamped(line: str) -> str:
    return _TIMESTAMP.sub("", line.rstrip())


def _clean(line: str) -> str:
    return _BULLET.sub("", _unstamped(line).strip()).strip()


def failing_line(details: str | None) -> str | None:
    """The line of a failure's log tail that says what went wrong, or None when no line does."""
    raw = [_unstamped(line) for line in (details or "").splitlines()]
    lines = [_clean(line) for line in raw]
    tiers = (
        lambda s: bool(_OWN.search(s)),
        lambda s: bool(_CAUSE.search(s)) and not _WRAPPER.search(s),
        lambda s: bool(_GENERIC.search(s)) and not _WRAPPER.search(s),
        lambda s: bool(_COMMAND.search(s)),
    )
    for matches in tiers:
        for index, line in enumerate(lines):
            if not line or not matches(line):
                continue
            following = raw[index + 1] if index + 1 < len(raw) else ""
            if line.endswith(":") and following[:1].isspace() and following.strip():
                return f"{line} {following.strip()}"  # R wraps a cause: "...sf.so':" then "  libgdal.so.34: ..."
            return line
    return None
