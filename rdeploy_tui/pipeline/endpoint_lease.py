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
not available. Whether the service would honour an If-Match sent anyway is not documented, so none is sent.
What is left: two machines that both read "free" within SETTLE_S and both write; the read-back then shows one
lease id, and the other machine stands back. A writer slower than SETTLE_S between its read and its write can
still overwrite a lease just taken, and `--take-lock` overwrites a live one on purpose: the holder reads the tag
again immediately before every traffic move (EndpointLease.verify) and, finding another lease id there, stops
without touching the traffic.

The tag is input like any other: a value that is not a lease as Holder.tag() writes it (a huge process id, a
time that is not one, a host name with control characters) is refused with a message naming the tag, and
replaced only with --take-lock.

Stale: a lease not renewed for LEASE_S is free to take (its holder crashed or lost its network). The holder
renews it at the rollout's safe points (between steps and between rounds of a stage: never while Azure is
updating the endpoint, as a tag write is an endpoint update) at most every RENEW_S. LEASE_S is longer than the
longest stretch without such a point: deploying the new version (an ACR build of at most 3600 s + grace, then the
deployment's wait, azure/deadlines.py), about 82 minutes.
"""

from __future__ import annotations

import calendar
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    from rdeploy_tui.azure.online import EndpointInfo, Endpoints

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
        return (
            f"lease={self.lease};host={self.host[:64]};pid={self.pid};"
            f"since={_stamp(self.since)};renewed={_stamp(self.renewed)}"
        )

    def who(self) -> str:
        return (
            f"process {self.pid} on {self.host}, since {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(self.since))}"
        )


def _stamp(epoch: float) -> str:
    return time.strftime(_FORMAT, time.gmtime(epoch))


class LeaseTagError(ValueError):
    """The tag does not hold a lease as rdeploy-tui writes it (someone edited it, or another tool wrote it)."""


_LEASE = re.compile(r"[0-9a-f]{32}")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # what Holder.tag() writes (host names, sanitised)
PID_MAX = 2**22  # Linux's PID_MAX_LIMIT on 64-bit systems: no process id is larger
_FIELDS = ("lease", "host", "pid", "since", "renewed")


def safe_host(name: str) -> str:
    """This machine's name as a tag holds it: host-name characters only, at most 64."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", name).lstrip("._-")[:64]
    return cleaned or "unknown-host"


def parse(value: str | None, now: float | None = None) -> Holder | None:
    """The holder a tag value names; None for no tag. A value that is not a lease as Holder.tag() writes it raises
    LeaseTagError saying which field is wrong: the tag is input like any other, checked before it is used."""
    if not value:
        return None
    if len(value) > 256:  # Azure's limit for a tag value
        raise LeaseTagError(f"it is {len(value)} characters long")
    parts = [part.split("=", 1) for part in value.split(";")]
    if any(len(part) != 2 for part in parts):
        raise LeaseTagError("it is not a list of name=value fields")
    fields = dict(parts)
    missing = [f for f in _FIELDS if f not in fields]
    if missing or len(fields) != len(parts):
        raise LeaseTagError(f"it lacks {', '.join(missing)}" if missing else "it repeats a field")
    if not _LEASE.fullmatch(fields["lease"]):
        raise LeaseTagError("its lease is not 32 hexadecimal digits")
    if not _HOST.fullmatch(fields["host"]):
        raise LeaseTagError("its host is not a host name")
    if not re.fullmatch(r"[1-9][0-9]{0,6}", fields["pid"]) or int(fields["pid"]) > PID_MAX:
        raise LeaseTagError(f"its pid is not a process id (1 to {PID_MAX})")

    def when(key: str) -> float:
        try:
            return float(calendar.timegm(time.strptime(fields[key], _FORMAT)))
        except ValueError:
            raise LeaseTagError(f"its {key} time is not a UTC time like 2026-01-31T12:00:00Z") from None

    since, renewed = when("since"), when("renewed")
    if renewed < since:
        raise LeaseTagError("it was renewed before it was taken")
    if renewed > (time.time() if now is None else now) + LEASE_S:
        raise LeaseTagError("its renewed time is in the future")  # such a lease would never go stale
    return Holder(fields["lease"], fields["host"], int(fields["pid"]), since, renewed)


def unreadable_tag(endpoint: str, value: str, problem: str) -> RdeployError:
    shown = "".join(c if c.isprintable() else "?" for c in value[:80]) + ("..." if len(value) > 80 else "")
    return RdeployError(
        f"The rollout lock of endpoint {endpoint} (its tag {TAG} = {shown!r}) is not one rdeploy-tui wrote: {problem}.",
        "If no rollout runs on this endpoint now, run the rollout with --take-lock to replace the tag "
        f"(or remove the tag {TAG} from the endpoint).",
        code="RolloutLockTag",
    )


def is_stale(holder: Holder, now: float, lease_s: float = LEASE_S) -> bool:
    """Free to take: not renewed for lease_s, or held by a process of this host that no longer runs."""
    if now - holder.renewed >= lease_s:
        return True
    return holder.host == safe_host(socket.gethostname()) and not _running(holder.pid)


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
        "Wait for it to end, then run `rdeploy-tui rollout` again. If that rollout is gone (its machine crashed), "
        f"the lock goes stale at {stale_at} and is taken over then; to take it over now, run the rollout with "
        "--take-lock.",
        code="RolloutBusy",
    )


def lost_error(endpoint: str, found: Holder | None, why: str | None = None) -> RdeployError:
    who = f" ({found.who()} holds it now)" if found else f" ({why or 'the tag was removed'})"
    return RdeployError(
        f"This rollout lost its lock on endpoint {endpoint}{who}.",
        "Nothing more is changed from here: check the endpoint's traffic (`rdeploy-tui endpoints show "
        f"{endpoint}`) and run `rdeploy-tui rollout` again when the other one is over.",
        code="RolloutLockLost",
    )


class EndpointLease:
    """The lease on one endpoint. `endpoints`: rdeploy_tui.azure.Endpoints (show, set_tags)."""

    def __init__(
        self,
        endpoints: Endpoints,
        endpoint: str,
        *,
        settle_s: float = SETTLE_S,
        lease_s: float = LEASE_S,
        renew_s: float = RENEW_S,
        poll_s: float = POLL_S,
        busy_wait_s: float = BUSY_WAIT_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoints, self.endpoint = endpoints, endpoint
        self.settle_s, self.lease_s, self.renew_s, self.clock = settle_s, lease_s, renew_s, clock
        self.poll_s, self.busy_wait_s = poll_s, busy_wait_s
        self.lease = uuid.uuid4().hex
        self.held: Holder | None = None

    def acquire(self, cancel: threading.Event | None = None, *, take: bool = False) -> Holder | str | None:
        """Take the lease or raise RdeployError (code RolloutBusy) naming the holder. Returns what it replaced, if
        anything: the stale (or, with `take`, live) holder, or the text of a tag that held no readable lease.
        `take`: the user said the holder is gone (rollout --take-lock). An unreadable tag is replaced only with
        `take`; without, RdeployError (code RolloutLockTag) names the tag and what is wrong with it."""
        value = self._free(cancel).tags.get(TAG)
        now = self.clock()
        replaced: Holder | str | None = None
        try:
            found = parse(value, now)
        except LeaseTagError as problem:
            if not take:
                raise unreadable_tag(self.endpoint, value or "", str(problem)) from None
            found, replaced = None, value
        if found is not None and found.lease != self.lease:
            if not take and not is_stale(found, now, self.lease_s):
                raise busy_error(self.endpoint, found, self.lease_s)
            replaced = found
        mine = Holder(self.lease, safe_host(socket.gethostname()), os.getpid(), now, now)
        self.endpoints.set_tags(self.endpoint, {TAG: mine.tag()}, cancel=cancel)
        if (cancel or threading.Event()).wait(self.settle_s):
            self._release_if_mine()
            raise RdeployError("Stopped while taking the rollout lock.", None, code="Cancelled")
        after = self._holder(self.endpoints.show(self.endpoint).tags.get(TAG))
        if after is None or after.lease != self.lease:  # another machine wrote after us: it goes on, we stand back
            raise busy_error(self.endpoint, after or mine, self.lease_s)
        self.held = mine
        return replaced

    def renew(self, *, force: bool = False) -> None:
        """At a safe point: renew the lease when RENEW_S has passed. Raises RdeployError (RolloutLockLost) when
        the tag no longer holds this lease (someone took it over as stale or with --take-lock, or cleared it)."""
        if self.held is None:
            return
        now = self.clock()
        if not force and now - self.held.renewed < self.renew_s:
            return
        self._check(now, write=True)

    def verify(self) -> EndpointInfo:
        """Immediately before a traffic move: read the tag and raise RolloutLockLost unless it still holds this
        lease (a holder stopped with SIGSTOP while another took over finds out here, before it moves anything);
        renewed too when RENEW_S has passed. Returns the endpoint as it was read (the move starts from it)."""
        if self.held is None:
            raise lost_error(self.endpoint, None, "this rollout holds no lock")
        now = self.clock()
        return self._check(now, write=now - self.held.renewed >= self.renew_s)

    def _check(self, now: float, *, write: bool) -> EndpointInfo:
        assert self.held is not None
        info = self._free()
        value = info.tags.get(TAG)
        try:
            found = parse(value, now)
        except LeaseTagError as problem:
            self.held = None
            raise lost_error(self.endpoint, None, f"its tag {TAG} now holds something else: {problem}") from None
        if found is None or found.lease != self.lease:
            self.held = None
            raise lost_error(self.endpoint, found)
        if write:
            renewed = Holder(self.lease, self.held.host, self.held.pid, self.held.since, now)
            info = self.endpoints.set_tags(self.endpoint, {TAG: renewed.tag()})
            self.held = renewed
        return info

    def release(self) -> str | None:
        """Remove the tag if it is still ours; never raises. Returns why it could not be removed, if so."""
        if self.held is None:
            return None
        self.held = None
        return self._release_if_mine()

    def _holder(self, value: str | None) -> Holder | None:
        try:
            return parse(value, self.clock())
        except LeaseTagError:
            return None

    def _free(self, cancel: threading.Event | None = None) -> EndpointInfo:
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
            found = self._holder(self._free().tags.get(TAG))
            if found is not None and found.lease == self.lease:
                self.endpoints.set_tags(self.endpoint, {TAG: None})
        except RdeployError as error:
            return (
                f"could not remove the rollout lock tag {TAG} of endpoint {self.endpoint}: {error.what} "
                "(it goes stale by itself)"
            )
        return None
