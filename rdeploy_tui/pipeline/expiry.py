"""Endpoints that delete themselves (almost): an expiry tag written at deploy time, read by `endpoints list`
and acted on by `endpoints sweep` (a cron job, or the user), so a forgotten test endpoint stops billing.

The tag holds an absolute UTC time (ISO 8601), so any tool can read it; every deploy with an expiry
sets it again from that moment (a re-deploy extends the life).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from rdeploy_tui.spec.durations import parse_duration

if TYPE_CHECKING:
    from rdeploy_tui.azure.online import Endpoints

TAG = "rdeploy-expires-at"


def expiry_tag(expires_after: str | None, now: float | None = None) -> dict[str, str]:
    """{TAG: "2026-11-26T18:00:00Z"} for a duration like "8h"; {} without one."""
    seconds = parse_duration(expires_after) if expires_after else None
    if not seconds:
        return {}
    at = datetime.fromtimestamp((time.time() if now is None else now) + seconds, tz=timezone.utc)
    return {TAG: at.strftime("%Y-%m-%dT%H:%M:%SZ")}


def expiry_note(expires_after: str | None, now: float | None = None) -> str | None:
    """What a deploy with this expiry will do, said before it runs (the wizard's review):
    "expires after 8h: at 2026-11-26 21:00 UTC if deployed now"; None without an expiry."""
    at = expiry_tag(expires_after, now).get(TAG)
    if at is None or expires_after is None:
        return None
    return f"expires after {expires_after.strip()}: at {_utc(at)} if deployed now"


def expiry_sentence(tags: dict[str, str] | None) -> str | None:
    """What a deployed endpoint's tag says, for the summaries after a deploy; None without an expiry."""
    value = (tags or {}).get(TAG)
    if value is None or expires_at(tags) is None:
        return None
    return f"It expires at {_utc(value)}: `rdeploy-tui endpoints sweep` deletes it after that"


def _utc(value: str) -> str:
    """ "2026-11-26T21:00:00Z" -> "2026-11-26 21:00 UTC"."""
    return value.replace("T", " ")[:16] + " UTC"


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
    span = _span(abs(delta))
    return f"{span} left" if delta > 0 else f"expired {span} ago"


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
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
