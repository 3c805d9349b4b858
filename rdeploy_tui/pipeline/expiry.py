"""Endpoints that delete themselves (almost): an expiry tag written at deploy time, read by `endpoints list`
and acted on by `endpoints sweep` (a cron job, or the user), so a forgotten test endpoint stops billing.

The tag holds an absolute UTC time (ISO 8601), so any tool can read it; every deploy with an expiry
sets it again from that moment (a re-deploy extends the life).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from rdeploy_tui.spec.durations import parse_duration

if TYPE_CHECKING:
    from rdeploy_tui.azure.online import Endpoints

TAG = "rdeploy-expires-at"


def expiry_tag(expires_after: str | None, now: float | None = None) -> dict[str, str | None]:
    """{TAG: "2026-11-26T18:01:00Z"} for a duration like "8h", rounded up to the whole minute (the endpoint lives at
    least that long, and the minute every summary prints is the exact time); {TAG: None} for a zero duration ("0h":
    no expiry, and one set by an earlier deploy is removed); {} without one (an existing tag is left as it is)."""
    seconds = parse_duration(expires_after) if expires_after else None
    if seconds is None:
        return {}
    if seconds == 0:
        return {TAG: None}
    at = math.ceil(((time.time() if now is None else now) + seconds) / 60) * 60
    return {TAG: datetime.fromtimestamp(at, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def expiry_note(expires_after: str | None, now: float | None = None) -> str | None:
    """What a deploy with this expiry will do, said before it runs (the wizard's review):
    "expires after 8h: at 2026-11-26 21:00 UTC if deployed now"; None without an expiry."""
    tag = expiry_tag(expires_after, now)
    if TAG not in tag or expires_after is None:
        return None
    at = tag[TAG]
    if at is None:
        return f"no expiry ({expires_after.strip()}): an expiry set by an earlier deploy is removed"
    return f"expires after {expires_after.strip()}: at {_utc(at)} if deployed now"


def expires_text(tags: dict[str, str] | None) -> str | None:
    """When the endpoint expires, as every summary prints it ("2026-11-26 21:00 UTC"); None without a readable tag."""
    value = (tags or {}).get(TAG)
    return _utc(value) if value is not None and expires_at(tags) is not None else None


def expiry_sentence(tags: dict[str, str] | None, sweep_command: str = "rdeploy-tui endpoints sweep") -> str | None:
    """What a deployed endpoint's tag says, for the summaries after a deploy; None without an expiry. `sweep_command`:
    the sweep with the flags that reach the endpoint's Azure."""
    at = expires_text(tags)
    return f"It expires at {at}: `{sweep_command}` deletes it after that" if at is not None else None


def _utc(value: str) -> str:
    """ "2026-11-26T21:00:00Z" -> "2026-11-26 21:00 UTC"; the seconds too when a tag (written by another tool) has
    some: a time shown is never earlier than the one the tag holds."""
    text = value.replace("T", " ").rstrip("Z")
    return (text[:16] if text[16:19] in ("", ":00") else text[:19]) + " UTC"


def expires_at(tags: dict[str, str] | None) -> float | None:
    """The expiry (epoch seconds) from an endpoint's tags; None without a readable tag."""
    value = (tags or {}).get(TAG)
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def time_left(tags: dict[str, str] | None, now: float | None = None) -> str:
    """ "3h 12m left", "expired 2h ago", or "-" without an expiry."""
    at = expires_at(tags)
    if at is None:
        return "-"
    delta = at - (time.time() if now is None else now)
    # What is left is rounded up (a fresh 8h expiry is "8h 0m left", not "7h 59m"), what is past down.
    span = _span(math.ceil(delta / 60) if delta > 0 else int(-delta // 60))
    return f"{span} left" if delta > 0 else f"expired {span} ago"


def _span(minutes: int) -> str:
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m"


def is_expired(tags: dict[str, str] | None, now: float | None = None) -> bool:
    at = expires_at(tags)
    return at is not None and at <= (time.time() if now is None else now)


def sweep(
    endpoints: Endpoints, *, now: float | None = None, on_deleting: Callable[[str], None] = lambda name: None
) -> tuple[list[str], list[tuple[str, str]]]:
    """Delete every expired endpoint of `endpoints` (rdeploy_tui.azure.Endpoints).
    Returns (deleted, [(name, why not)])."""
    from rdeploy_tui.errors import RdeployError

    deleted: list[str] = []
    failed: list[tuple[str, str]] = []
    for info in endpoints.list():
        if not is_expired(info.tags, now):
            continue
        on_deleting(info.name)
        try:
            endpoints.delete(info.name)
            deleted.append(info.name)
        except RdeployError as exc:
            failed.append((info.name, exc.what))
    return deleted, failed
