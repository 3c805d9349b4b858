"""Where a scoring request goes and with which key or token."""

from __future__ import annotations

from dataclasses import dataclass, field

DEPLOYMENT_HEADER = "azureml-model-deployment"


MASK = "********"


# Azure's request timeout is at most 180 s (request_settings.request_timeout_ms); wait a little longer.
DEFAULT_TIMEOUT_S = 190.0


@dataclass(frozen=True)
class ScoringTarget:
    """Where to score and with what. `deployment` None: the endpoint's traffic split decides."""

    uri: str
    credential: str | None = field(default=None, repr=False)  # endpoint key or token: never shown unless revealed
    deployment: str | None = None
    verify: bool | str = True  # True, or a CA bundle path (custom ARM endpoints, the sandbox)
    timeout: float = DEFAULT_TIMEOUT_S

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.credential:
            headers["Authorization"] = f"Bearer {self.credential}"
        if self.deployment:
            headers[DEPLOYMENT_HEADER] = self.deployment
        return headers

    def describe(self) -> str:
        return f"{self.uri} (deployment {self.deployment})" if self.deployment else self.uri
