"""Never two rollouts on one endpoint at a time, across machines: a lease written as a tag on the endpoint itself.

The filelock in rollout.py only sees this machine (same-machine races are caught there, at once); the endpoint
is what every machine shares, so the lease lives in its tags:

    rdeploy-rollout-lock = "lease=<uuid>;host=<hostname>;pid=<pid>;since=<UTC>;renewed=<UTC>"

Taking it: read the tag; a live lease of someone else refuses, naming the holder; none, a stale one, or one left
by a dead process of this host is replaced by ours, and after SETTLE_S the tag is read back: only the writer
whose lease id is there goes on (write-then-read-back).

Why not ARM's optimistic concurrency (If-Match on an etag): Azure ML's online endpoint offers none. The client
azure-ai-ml generates from the REST spec (api-version 2025-12-01, azure/ai/ml/_restclient/arm_ml_service:
models.OnlineEndpoint has no `etag`; build_online_endpoints_create_or_update_request / _update_request send no
If-Match, and no operation of that client has one; REST reference: learn.microsoft.com/rest/api/azureml/
online-endpoints/create-or-update lists no such header) leaves nothing to compare, so a conditional write is
not available. Whether the service would honour an If-Match sent anyway is not documented, so none is sent. What is left: two machines that both read "free"
within SETTLE_S and both write; the read-back then shows one lease id, and the other machine stands back. A
writer slower than SETTLE_S between its read and its write can still overwrite a lease just taken; the holder
finds that at its next refresh (the tag no longer holds its id) and stops without touching the traffic.

Stale: a lease not renewed for LEASE_S is free to take (its holder crashed or lost its network). The holder
renews it at the rollout's safe points (between steps and between rounds of a stage: never while Azure is
updating the endpoint, as a tag write is an endpoint update) at most every RENEW_S. LEASE_S is longer than the
longest stretch without such a point: deploying the new version (an ACR build of at most 3600 s + grace, then the
deployment's wait, azure/deadlines.py), about 82 minutes.
"""

from __future__ import annotations

import calendar
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from rdeploy_tui.errors import RdeployError

TAG = "rdeploy-rollout-lock"
LEASE_S = 2 * 3600.0  # a lease not renewed for this long is stale (see above)
RENEW_S = 10 * 60.0  # the holder renews at most this often
SETTLE_S = 10.0  # between writing the tag and reading it back (Azure's pace; the sandbox's is scaled)
POLL_S = 5.0  # how often a busy endpoint is looked at again before a tag write
BUSY_WAIT_S = 720.0  # an endpoint update is over within azure-ai-ml's own LRO wait (azure/deadlines.py LRO_WAIT_S)
_BUSY = ("creating", "updating")  # a tag write is an endpoint update: Azure refuses it (409) while another runs
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Holder:
    lease: str
    host: str
    pid: int
    since: float
    renewed: float

    def tag(self) -> str:
        """The tag's value (Azure allows 256 characters per tag value)."""
        return f"lease={self.lease};host={self.host[:64]};pid={self.pid};since={_stamp(self.since)};renewed={_stamp(self.renewed)}"

    def who(self) -> str:
        return (
            f"process {self.pid} on {self.host}, since {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(self.since))}"
        )


def _stamp(epoch: float) -> str:
    return time.strftime(_FORMAT, time.gmtime(epoch))


def parse(value: str | None) -> Holder | None:
    """The holder a tag value names; None for no tag. An unreadable value (someone edited it) counts as stale."""
    if not value:
        return None
    fields = dict(part.split("=", 1) for part in value.split(";") if "=" in part)

    def when(key: str) -> float:
        try:
            return float(calendar.timegm(time.strptime(fields.get(key, ""), _FORMAT)))
        except ValueError:
            return 0.0

    try:
        pid = int(fields.get("pid", "0"))
    except ValueError:
        pid = 0
    return Holder(fields.get("lease", ""), fields.get("host", "?"), pid, when("since"), when("renewed"))


def is_stale(holder: Holder, now: float, lease_s: float = LEASE_S) -> bool:
    """Free to take: not renewed for lease_s, or held by a process of this host that no longer runs."""
    if now - holder.renewed >= lease_s:
        return True
    return holder.host == socket.gethostname() and holder.pid > 0 and not _running(holder.pid)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    return True


def busy_error(endpoint: str, holder: Holder, lease_s: float = LEASE_S) -> RdeployError:
    stale_at = time.strftime("%H:%M UTC", time.gmtime(holder.renewed + lease_s))
    return RdeployError(
        f"Another rollout on endpoint {endpoint} is running ({holder.who()}; endpoint tag {TAG}).",
        f"Wait for it to end, then run `rdeploy-tui rollout` again. If that rollout is gone (its machine crashed), the lock "
        f"goes stale at {stale_at} and is taken over then; to take it over now, run the rollout with --take-lock.",
        code="RolloutBusy",
    )


class EndpointLease:
    """The lease on one endpoint. `endpoints`: rdeploy_tui.azure.Endpoints (show, set_tags)."""

    def __init__(
        self,
        endpoints: Any,
        endpoint: str,
        *,
        settle_s: float = SETTLE_S,
        lease_s: float = LEASE_S,
        renew_s: float = RENEW_S,
        poll_s: float = POLL_S,
        busy_wait_s: float = BUSY_WAIT_S,
        clock: Any = time.time,
    ) -> None:
        self.endpoints, self.endpoint = endpoints, endpoint
        self.settle_s, self.lease_s, self.renew_s, self.clock = settle_s, lease_s, renew_s, clock
        self.poll_s, self.busy_wait_s = poll_s, busy_wait_s
        self.lease = uuid.uuid4().hex
        self.held: Holder | None = None

    def acquire(self, cancel: threading.Event | None = None, *, take: bool = False) -> Holder | None:
        """Take the lease or raise RdeployError (code RolloutBusy) naming the holder. Returns the stale (or, with
        `take`, live) holder it replaced, if any. `take`: the user said the holder is gone (rollout --take-lock)."""
        found = parse(self._free(cancel).tags.get(TAG))
        now = self.clock()
        replaced = None
        if found is not None and found.lease != self.lease:
            if not take and not is_stale(found, now, self.lease_s):
                raise busy_error(self.endpoint, found, self.lease_s)
            replaced = found
        mine = Holder(self.lease, socket.gethostname(), os.getpid(), now, now)
        self.endpoints.set_tags(self.endpoint, {TAG: mine.tag()}, cancel=cancel)
        if (cancel or threading.Event()).wait(self.settle_s):
            self._release_if_mine()
            raise RdeployError("Stopped while taking the rollout lock.", None, code="Cancelled")
        after = parse(self.endpoints.show(self.endpoint).tags.get(TAG))
        if after is None or after.lease != self.lease:  # another machine wrote after us: it goes on, we stand back
            raise busy_error(self.endpoint, after or mine, self.lease_s)
        self.held = mine
        return replaced

    def renew(self, *, force: bool = False) -> None:
        """At a safe point: renew the lease when RENEW_S has passed. Raises RdeployError (RolloutLockLost) when
        the tag no longer holds this lease (someone took it over as stale, or cleared it)."""
        if self.held is None:
            return
        now = self.clock()
        if not force and now - self.held.renewed < self.renew_s:
            return
        found = parse(self._free().tags.get(TAG))
        if found is None or found.lease != self.lease:
            self.held = None
            who = f" ({found.who()} holds it now)" if found else " (the tag was removed)"
            raise RdeployError(
                f"This rollout lost its lock on endpoint {self.endpoint}{who}.",
                "Nothing more is changed from here: check the endpoint's traffic (`rdeploy-tui endpoints show "
                f"{self.endpoint}`) and run `rdeploy-tui rollout` again when the other one is over.",
                code="RolloutLockLost",
            )
        renewed = Holder(self.lease, self.held.host, self.held.pid, self.held.since, now)
        self.endpoints.set_tags(self.endpoint, {TAG: renewed.tag()})
        self.held = renewed

    def release(self) -> str | None:
        """Remove the tag if it is still ours; never raises. Returns why it could not be removed, if so."""
        if self.held is None:
            return None
        self.held = None
        return self._release_if_mine()

    def _free(self, cancel: threading.Event | None = None) -> Any:
        """The endpoint once no operation runs on it (e.g. a deployment Azure goes on creating after a cancelled
        rollout), or as it is after busy_wait_s: the write that follows then says why it was refused."""
        deadline = time.monotonic() + self.busy_wait_s
        pause = cancel or threading.Event()
        while True:
            info = self.endpoints.show(self.endpoint)
            if info.state.lower() not in _BUSY or time.monotonic() >= deadline or pause.wait(self.poll_s):
                return info

    def _release_if_mine(self) -> str | None:
        try:
            found = parse(self._free().tags.get(TAG))
            if found is not None and found.lease == self.lease:
                self.endpoints.set_tags(self.endpoint, {TAG: None})
        except RdeployError as error:
            return f"could not remove the rollout lock tag {TAG} of endpoint {self.endpoint}: {error.what} (it goes stale by itself)"
        return None
