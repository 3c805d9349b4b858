"""Azure's own numbers beside a rollout stage's load-test figures: each deployment's requests per minute, error
share and p50/p95 latency as Azure Monitor counted them over the stage (azure/monitor.py traffic_by_deployment).

The rollout's judgement stays on its own load test (its requests, compared answer by answer); Azure's figures are
shown beside it and kept in the report. Azure Monitor publishes a minute or more late, so a short stage may have
none yet; reading them never fails a rollout.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    from rdeploy_tui.azure.workspace import Workspace

# Azure Monitor counts per minute and publishes a minute or more late: a shorter span than this holds no points, so a
# stage is read over at least the last 5 minutes (for a short stage that includes the minutes before it).
MIN_SPAN = timedelta(minutes=5)


def read(ws: Workspace, endpoint: str, old: str, new: str, since: datetime) -> tuple[str, dict[str, dict[str, Any]]]:
    """Azure Monitor's figures for both deployments since `since` (at least the last MIN_SPAN): the text to append to
    the stage's closing line and the figures per deployment for the report ({} when none could be read)."""
    from rdeploy_tui.azure.monitor import traffic_by_deployment

    now = datetime.now(timezone.utc)
    try:
        figures = traffic_by_deployment(ws, endpoint, [new, old], min(since, now - MIN_SPAN), now)
    except RdeployError as exc:
        return f" · Azure Monitor: not read ({exc.what})", {}
    kept = {name: asdict(f) for name, f in figures.items()}
    if new not in figures or old not in figures:
        return " · Azure Monitor: no figures for both deployments yet (it publishes a minute or more late)", kept
    return f" · Azure Monitor: {figures[new].text()}; {figures[old].text()}", kept
