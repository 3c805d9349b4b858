"""What the management screens read and change, in one object: the workspace's endpoints through the
Azure layer (rdeploy_tui.azure). Every method blocks on the network: call them from thread workers.
The screens take any object with these methods, so snapshot tests can show fixed data."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from rdeploy_tui.scoring.target import ScoringTarget

if TYPE_CHECKING:
    from rdeploy_tui.ui.wizard_state import WizardState

_READERS = 8  # endpoints read in parallel when listing (each needs its own GET for its deployments)


def delete_deployment_problem(info: Any, deployment: str) -> str | None:
    """Why a deployment may not be deleted now, or None: never one that still takes traffic."""
    share = (info.traffic or {}).get(deployment, 0)
    if share > 0:
        return (
            f"deployment {deployment} still takes {share} % of the traffic of {info.name}: "
            "move its traffic to another deployment first (Traffic), or delete the whole endpoint"
        )
    return None


class AzureSource:
    """The real source: the wizard's workspace (spec.workspace) through rdeploy_tui.azure."""

    def __init__(self, state: WizardState) -> None:
        self.state = state

    @property
    def label(self) -> str:
        ws = self.state.spec.workspace
        return f"workspace {ws.name} ({ws.resource_group})"

    def _endpoints(self) -> Any:
        from rdeploy_tui import azure  # the Azure layer; it imports the SDK when a call needs it

        return azure.Endpoints(self.state.workspace())

    def endpoints(self) -> list[Any]:
        """Every endpoint with its deployments, sorted by name."""
        endpoints = self._endpoints()
        names = [e.name for e in endpoints.list()]
        with ThreadPoolExecutor(max_workers=min(_READERS, max(1, len(names)))) as pool:
            found = list(pool.map(lambda name: endpoints.find(name, images=True), names))
        return [info for info in found if info is not None]

    def bills(self, infos: list[Any]) -> dict[str, Any]:
        """What each endpoint bills per hour at list price (azure/prices.py: cached a day; unknown offline)."""
        from rdeploy_tui.azure.prices import bill
        from rdeploy_tui.billing import billing_deployments

        connection = self.state.azure()
        with ThreadPoolExecutor(max_workers=min(_READERS, max(1, len(infos)))) as pool:
            found = pool.map(lambda info: bill(connection, info.location, billing_deployments(info)), infos)
            return {info.name: cost for info, cost in zip(infos, found, strict=True)}

    def endpoint(self, name: str) -> Any:
        return self._endpoints().show(name)

    def logs(self, endpoint: str, deployment: str, container: str, lines: int) -> list[str]:
        return self._endpoints().logs(endpoint, deployment, container, lines)

    def set_traffic(self, endpoint: str, traffic: dict[str, int]) -> Any:
        return self._endpoints().set_traffic(endpoint, traffic)

    def delete_deployment(self, endpoint: str, deployment: str) -> None:
        # The Azure layer reads the traffic again and refuses a deployment that still takes some.
        self._endpoints().delete_deployment(endpoint, deployment)

    def delete_endpoint(self, endpoint: str) -> None:
        self._endpoints().delete(endpoint)

    def target(self, endpoint: str) -> ScoringTarget:
        from rdeploy_tui.azure.scoring import endpoint_target  # the SDK loads only when a call needs it

        return endpoint_target(self.state.workspace(), endpoint)

    def sample_for(self, endpoint: str) -> Any:
        """The last run's sample request when it was for this endpoint; None: build one from the API."""
        spec = self.state.spec
        return spec.scoring.sample_request if spec.endpoint.name == endpoint else None

    def score_route(self, endpoint: str) -> str:
        spec = self.state.spec
        return spec.scoring.routes.score if spec.endpoint.name == endpoint else "/score"
