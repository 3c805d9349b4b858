"""The answer to one scoring request: status, latency, body, and what it means."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from rdeploy_tui.bounded_read import parse_json
from rdeploy_tui.scoring.explain import Explanation, explain_status
from rdeploy_tui.scoring.judge import DOUBLE_ENCODING_FIX, double_encoded
from rdeploy_tui.scoring.target import DEPLOYMENT_HEADER

# Answers worth another try: throttled, or the front end found no container ready (yet).
RETRY_STATUSES = frozenset({429, 502, 503, 504})


MAX_RETRY_WAIT_S = 30.0  # a Retry-After header is followed up to this many seconds


@dataclass(frozen=True)
class ScoreResult:
    status: int | None  # None: no HTTP answer at all (see `error`)
    latency_ms: float  # from sending the request to the last byte of the answer
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    content: bytes = b""  # the body as received
    error: str | None = None  # transport failure: refused, timed out, TLS ...
    deployment: str | None = None  # the deployment asked for (None: traffic split)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def body(self) -> object:
        """The parsed JSON body, or the text when it is not JSON (what the CLI prints with --json)."""
        return self.value if self.is_json else self.text

    @property
    def is_json(self) -> bool:
        return self._parsed()[0]

    @property
    def value(self) -> object:
        """The parsed JSON body (None when the body is not JSON)."""
        return self._parsed()[1]

    def _parsed(self) -> tuple[bool, object]:
        cached = self.__dict__.get("_parsed_cache")
        if cached is None:
            try:
                cached = (True, parse_json(self.content.decode("utf-8"))) if self.content else (False, None)
            except (ValueError, UnicodeDecodeError):  # ContentError too: nested too deep, a number too long
                cached = (False, None)
            object.__setattr__(self, "_parsed_cache", cached)  # frozen dataclass: cache by hand
        return cached

    @property
    def served_by(self) -> str | None:
        """The deployment that answered, as Azure reports it."""
        return self.headers.get(DEPLOYMENT_HEADER)

    @property
    def double_encoded(self) -> object:
        """The real result when the response is JSON inside a string (the script returned toJSON() text)."""
        return double_encoded(self.value) if self.ok and self.is_json else None

    def pretty(self) -> str:
        """The body for reading: indented JSON when it is JSON, else the text as received."""
        if self.is_json:
            return json.dumps(self.value, indent=2, ensure_ascii=False)
        return self.text

    def explain(self) -> Explanation | None:
        """None for a 200; otherwise what went wrong, in the user's terms."""
        if self.ok:
            return None
        if self.status is None:
            return Explanation(
                f"no answer from {self.deployment_note()}the endpoint: {self.error}",
                "check the scoring URI and the network; on a compute instance the endpoint must be reachable "
                "from its virtual network",
                "NoAnswer",
            )
        return explain_status(self.status, self.headers, self.content)

    def deployment_note(self) -> str:
        return f"deployment {self.deployment} of " if self.deployment else ""

    def summary(self) -> str:
        """One line: status, latency and who answered."""
        if self.status is None:
            return f"no answer after {self.latency_ms:.0f} ms"
        by = f" from {self.served_by}" if self.served_by else ""
        return f"HTTP {self.status}{by} in {self.latency_ms:.0f} ms"

    @property
    def transient(self) -> bool:
        """No answer, or an answer that may be different a moment later (busy, not ready yet)."""
        return self.status is None or self.status in RETRY_STATUSES

    def retry_wait(self, default: float) -> float:
        """Seconds to wait before trying again: the answer's Retry-After (at most 30 s), else `default`."""
        try:
            return min(MAX_RETRY_WAIT_S, float(self.headers.get("retry-after", default)))
        except ValueError:
            return default


def double_encoding_message(result: ScoreResult) -> str | None:
    """The warning shown when the response is JSON inside a string, with the fix."""
    if result.double_encoded is None:
        return None
    return f"the response is JSON inside a string. Fix the R script: {DOUBLE_ENCODING_FIX}"
