"""How long we wait for Azure, each limit taken from Azure's own, and what to tell the user when it passes.

Waiting longer than Azure itself would never helps: past these limits the operation is stuck or failed
server-side. When a wait ends this way the operation may still go on in Azure; the message says what,
what bills meanwhile, and how to check (issue 15: a resume once waited on a Creating endpoint until killed).
"""

from __future__ import annotations

from typing import Any

from rdeploy_tui.errors import RdeployError

# azure-ai-ml waits this long for an online endpoint/deployment operation before giving up
# (LROConfigurations.POLLING_TIMEOUT = 720 s, azure/ai/ml/constants/_common.py, used by polling_wait in
# azure/ai/ml/_utils/_endpoint_utils.py): the wait `az ml online-endpoint create` and `online-deployment create` do.
LRO_WAIT_S = 720.0
# A deployment's container must pass its readiness probe within initial_delay + period x failure_threshold, or
# Azure fails the deployment (probe settings: https://learn.microsoft.com/azure/machine-learning/reference-yaml-deployment-managed-online#probesettings).
# On top of the SDK's wait: VM allocation and image pull come first, then the probe budget.
# ACR Tasks end a run at its `timeout` (default 3600 s, at most 28800 s:
# https://learn.microsoft.com/azure/container-registry/container-registry-tasks-reference-yaml#task-properties);
# we add this much for the run to report its end.
BUILD_GRACE_S = 300.0
# The sandbox runs Azure's durations scaled down, but R's own start-up and a busy test machine are real time.
SANDBOX_FLOOR_S = 5.0


def deployment_wait_s(probe: dict[str, int] | None) -> float:
    p = probe or {}
    budget = p.get("initial_delay", 10) + p.get("period", 10) * p.get("failure_threshold", 30)
    return LRO_WAIT_S + budget


def scaled(session: Any, seconds: float, *, floor: float = SANDBOX_FLOOR_S) -> float:
    """The wait in this session's time: Azure's as it is; the sandbox's scaled like its durations, with a floor."""
    scale = session.poll_scale
    return seconds if scale >= 1.0 else max(seconds * scale, floor)


def still_going(what: str, waited_s: float, bills: str, check: str) -> RdeployError:
    """The error for a wait that reached its limit: what goes on in Azure, what bills, how to check."""
    return RdeployError(
        f"{what} did not finish within {_minutes(waited_s)} (the limit Azure's own tools wait); it may still go on in Azure. {bills}",
        f"Check it with `{check}`; run the same command again to keep waiting, or delete what you do not need.",
        code="StillRunning",
    )


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"
