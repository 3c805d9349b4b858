"""Fault knobs: make the sandbox answer the way Azure does when things go wrong.

A fault is armed with a name, an optional count (only the next N matching uses;
None = until cleared) and an optional regex matched against "METHOD /path" so a
test can target one call and show retry-then-succeed:

    sandbox.faults.arm("throttle", count=2, match=r"PUT .*/onlineEndpoints/")
    sandbox.faults.arm("slow-scoring", seconds=2.5)
    sandbox.faults.clear()

Who reads which knob:
- server (every control-plane request, i.e. paths under /subscriptions, unless `match` says otherwise):
  throttle (429 + Retry-After), transient-500, transient-503, drop-connection, expired-token (401),
  authorization-failed (403 AuthorizationFailed; params action, scope).
- deployments (at create/update time): out-of-quota, image-pull-failure, resource-not-ready, bad-argument.
- scoring: slow-scoring (param `seconds`, default 3); deployment-slow and deployment-errors make ONE deployment
  (match: a regex searched in "ENDPOINT/DEPLOYMENT") slow or failing after `after` requests (default 0), so a rollout
  can be seen rolling back: deployment-slow takes `factor` (its answer time multiplied, default 5) and/or `seconds`
  (added); deployment-errors answers as a model error with `status` (default 500, i.e. 424 to the caller).
- ACR builds (acr.py): build-fail (param `package`: only that package fails to build, in each build installing it
  while armed; without it the first package of the next build fails); tasks-not-allowed (scheduleRun refused as for
  free-credit subscriptions);
  dockerhub-rate-limit (a pull from Docker Hub fails with toomanyrequests: a build's FROM, matched as "FROM docker.io",
  and importImage, matched as "POST /subscriptions/.../importImage"; `match=r"^FROM "` limits it to builds).
- registry data plane (registry.py): registry-push-denied -- /oauth2/token grants pull only (AcrPull without AcrPush),
  so a docker push ends in DENIED.
- ARM (arm.py): no-subscriptions -- the signed-in identity sees no subscription: GET /subscriptions lists none and any
  request under /subscriptions/{id} gets 404 SubscriptionNotFound, as ARM answers for a subscription the caller has no
  access to. With `match` (e.g. a subscription id) only the subscriptions whose "GET /subscriptions/{id}" matches are
  hidden; `count` counts requests answered that way.
- compute instance (compute_instance.py): no-identity -- the compute instance has no managed identity: its MSI
  endpoint answers 400 "Identity not found"; slow-identity -- the MSI endpoint answers after `seconds` (default 10).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

REQUEST_FAULTS = (
    "throttle",
    "transient-500",
    "transient-503",
    "drop-connection",
    "expired-token",
    "authorization-failed",
)
DEPLOYMENT_FAULTS = ("out-of-quota", "image-pull-failure", "resource-not-ready", "bad-argument")
SCORING_FAULTS = ("slow-scoring", "deployment-slow", "deployment-errors")
FAULT_NAMES = (
    REQUEST_FAULTS
    + DEPLOYMENT_FAULTS
    + SCORING_FAULTS
    + (
        "build-fail",
        "tasks-not-allowed",
        "no-subscriptions",
        "no-identity",
        "slow-identity",
        "dockerhub-rate-limit",
        "registry-push-denied",
    )
)


@dataclass
class Fault:
    name: str
    count: int | None = None  # remaining uses; None = unlimited
    match: str | None = None  # regex searched in "METHOD /path"
    params: dict[str, Any] = field(default_factory=dict)
    hits: int = 0

    def matches(self, target: str) -> bool:
        return self.match is None or re.search(self.match, target, re.IGNORECASE) is not None


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[str, Fault] = {}

    def arm(self, name: str, *, count: int | None = None, match: str | None = None, **params: Any) -> Fault:
        if name not in FAULT_NAMES:
            raise ValueError(f"Unknown fault {name!r}. Known faults: {', '.join(FAULT_NAMES)}.")
        if match is not None:
            re.compile(match)
        fault = Fault(name, count, match, params)
        with self._lock:
            self._armed[name] = fault
        return fault

    def clear(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._armed.clear()
            else:
                self._armed.pop(name, None)

    def armed(self) -> list[Fault]:
        with self._lock:
            return list(self._armed.values())

    def peek(self, name: str) -> Fault | None:
        """The armed fault of this name, without using it."""
        with self._lock:
            return self._armed.get(name)

    def take(self, name: str, target: str = "") -> Fault | None:
        """Use the fault once if it is armed and matches `target`; None otherwise."""
        with self._lock:
            fault = self._armed.get(name)
            if fault is None or not fault.matches(target):
                return None
            fault.hits += 1
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    del self._armed[name]
            return fault

    def take_request_fault(self, method: str, path: str) -> Fault | None:
        """The first armed request-level fault for this request (control plane only unless targeted)."""
        target = f"{method} {path}"
        for name in REQUEST_FAULTS:
            fault = self._armed.get(name)
            if fault is None:
                continue
            if fault.match is None and not path.lower().startswith("/subscriptions"):
                continue
            taken = self.take(name, target)
            if taken is not None:
                return taken
        return None

    @classmethod
    def from_specs(cls, specs: list[str] | None) -> Faults:
        """Build from command-line specs: NAME[:COUNT][@MATCH][,KEY=VALUE...], e.g. throttle:2 or
        deployment-slow@/green$,factor=5,after=10 (green 5x slower after 10 requests)."""
        faults = cls()
        for spec in specs or []:
            head, *pairs = spec.split(",")
            head, _, match = head.partition("@")
            name, _, count = head.partition(":")
            if count and not count.isdigit():
                raise ValueError(f"Fault {spec!r}: the count after ':' must be a whole number.")
            params: dict[str, Any] = {}
            for pair in pairs:
                key, eq, value = pair.partition("=")
                if not eq or not key.strip():
                    raise ValueError(f"Fault {spec!r}: {pair!r} is not KEY=VALUE.")
                params[key.strip()] = _number(value.strip())
            try:
                faults.arm(name.strip(), count=int(count) if count else None, match=match or None, **params)
            except re.error as exc:
                raise ValueError(
                    f"Fault {spec!r}: the pattern after '@' is not a regular expression ({exc})."
                ) from None
        return faults


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
