"""Durations as the spec and the CLI write them ("30m", "8h", "2d", "1w"): a module of its own so the day-2
commands that read expiry tags do not import the whole rule book (and its YAML loader) to parse one."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.I)
_DURATION_S = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> int | None:
    """Seconds of a duration like "30m", "8h", "2d", "1w"; None when it is not one."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    return int(match.group(1)) * _DURATION_S[match.group(2).lower()] if match else None
