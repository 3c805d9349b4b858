"""What still bills, decided once for the CLI, the wizard and the pipeline's summaries.

A managed online deployment bills per instance-hour for as long as it exists, whatever its traffic or state (a failed
deployment too: Azure allocated its instances): https://learn.microsoft.com/azure/machine-learning/how-to-manage-costs
("managed online endpoints ... billed for the compute resources" of their deployments) and the pricing page
(https://azure.microsoft.com/pricing/details/machine-learning/: the VM's rate, no surcharge). An endpoint without
deployments bills nothing. Read from any object with `.deployments` (each with `.name`) and `.traffic`: the Azure
layer's EndpointInfo, or the fixed data of the wizard's snapshot tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar


class Named(Protocol):
    @property
    def name(self) -> str: ...


_Deployment = TypeVar("_Deployment", bound=Named, covariant=True)


class Billable(Protocol[_Deployment]):
    """An endpoint as billing reads it (the Azure layer's EndpointInfo has these fields)."""

    @property
    def deployments(self) -> Sequence[_Deployment]: ...

    @property
    def traffic(self) -> Mapping[str, int]: ...


def billing_deployments(endpoint: Billable[_Deployment]) -> list[_Deployment]:
    """The endpoint's deployments that bill now: all of them."""
    return list(getattr(endpoint, "deployments", ()) or ())


def still_bills(endpoint: Billable[Named]) -> bool:
    """Whether the endpoint bills now (it has a deployment); deleting the endpoint stops it."""
    return bool(billing_deployments(endpoint))


def idle_deployments(endpoint: Billable[Named]) -> list[str]:
    """Deployments that bill while taking no live traffic (a deploy left at 0 %, a rollout's old deployment): route
    traffic to them or delete them."""
    traffic = getattr(endpoint, "traffic", None) or {}
    return [d.name for d in billing_deployments(endpoint) if traffic.get(d.name, 0) <= 0]


def deleted_sentence(names: list[str]) -> str:
    """ "Deleted a; it no longer bills." / "Deleted a, b; they no longer bill." (what deleting stopped)."""
    return f"Deleted {', '.join(names)}; " + ("it no longer bills." if len(names) == 1 else "they no longer bill.")
