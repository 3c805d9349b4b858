"""How long we wait for Azure, each limit Azure's own, and what to tell the user when it passes.

Waiting longer than Azure itself would never helps: past these limits the operation is stuck or failed
server-side. The limit of an operation is the timeout the service announced for it (`x-ms-async-operation-timeout`
on the request that started it, recorded by azure/pace.py); where it announced none, the documented limits below.
When a wait ends this way the operation may still go on in Azure; the message says what, what bills meanwhile,
and how to check (a resume once waited on a Creating endpoint until killed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    from rdeploy_tui.azure.clients import AzureConnection

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
# Azure ML's poll interval for its own operations (LROConfigurations.POLL_INTERVAL): where nothing says otherwise,
# our own polls of a resource's state and logs go at this pace (a Retry-After makes them faster: azure/pace.py).
POLL_S = 5.0


def deployment_wait_s(probe: dict[str, int] | None) -> float:
    p = probe or {}
    budget = p.get("initial_delay", 10) + p.get("period", 10) * p.get("failure_threshold", 30)
    return LRO_WAIT_S + budget


def operation_limit(connection: AzureConnection, resource_suffix: str, documented_s: float) -> float:
    """How long to wait for the operation last started on the resource whose path ends with `resource_suffix`:
    the timeout the service announced for it, plus one poll to read the end it reports then; else `documented_s`."""
    announced = connection.pace.operation_timeout(resource_suffix)
    if announced is None:
        return documented_s
    return announced + connection.pace.poll_interval(POLL_S)


def still_going(what: str, waited_s: float, bills: str, check: str) -> RdeployError:
    """The error for a wait that reached its limit: what goes on in Azure, what bills, how to check."""
    return RdeployError(
        f"{what} did not finish within {_minutes(waited_s)} (the limit Azure itself sets); it may still go on in "
        f"Azure. {bills}",
        f"Check it with `{check}`; run the same command again to keep waiting, or delete what you do not need.",
        code="StillRunning",
    )


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"
