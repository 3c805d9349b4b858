"""Azure's own numbers beside a rollout stage's load-test figures: each deployment's requests per minute, error
share and p50/p95 latency as Azure Monitor counted them over the stage (azure/monitor.py traffic_by_deployment).

The rollout's judgement stays on its own load test (its requests, compared answer by answer); Azure's figures are
shown beside it and kept in the report. Azure Monitor publishes a minute or more late, so a short stage may have
none yet; reading them never fails a rollout.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from typing import Any

from rdeploy_tui.errors import RdeployError

# Azure Monitor counts per minute and publishes a minute or more late: a shorter span than this holds no points, so a
# stage is read over at least the last 5 minutes (for a short stage that includes the minutes before it).
MIN_SPAN = timedelta(minutes=5)


def report(ws: Any, endpoint: str, old: str, new: str, since: datetime, stages: list[dict[str, Any]], step: str) -> str:
    """Add Azure Monitor's figures for both deployments to the stage's record (key "azure_monitor") and return the
    text to append to the stage's closing line ("" when there are none for both)."""
    from rdeploy_tui.azure.monitor import traffic_by_deployment

    now = datetime.now(timezone.utc)
    try:
        figures = traffic_by_deployment(ws, endpoint, [new, old], min(since, now - MIN_SPAN), now)
    except RdeployError as exc:
        return f" · Azure Monitor: not read ({exc.what})"
    record = next((s for s in reversed(stages) if s.get("step") == step), None)
    if record is not None:
        record["azure_monitor"] = {name: asdict(f) for name, f in figures.items()}
    if new not in figures or old not in figures:
        return " · Azure Monitor: no figures for both deployments yet (it publishes a minute or more late)"
    return f" · Azure Monitor: {figures[new].text()}; {figures[old].text()}"
