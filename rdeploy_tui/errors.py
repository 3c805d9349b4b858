"""The one exception type users see: what happened, and what to do next."""

from __future__ import annotations


class RdeployError(Exception):
    """A failure explained for the user. `what` says what happened; `next_step` what to do about it."""

    def __init__(self, what: str, next_step: str | None = None, *, details: str | None = None, code: str | None = None):
        self.what = what
        self.next_step = next_step
        self.details = details  # extra text for a log panel (container log lines, build log tail ...)
        self.code = code  # machine-readable cause, e.g. the Azure error code
        super().__init__(what)

    def __str__(self) -> str:
        return self.what if not self.next_step else f"{self.what}\nNext: {self.next_step}"
