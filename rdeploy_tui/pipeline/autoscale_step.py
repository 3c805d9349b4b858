"""The deploy's autoscale step: the spec's deployment.autoscale becomes the deployment's Azure Monitor autoscale
setting once the deployment exists (azure/autoscale.py writes it as Microsoft's how-to does). Only with the section:
a deploy of a spec without it leaves any setting made elsewhere (the portal, `endpoints autoscale`) alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.spec.deploy_spec import DeploySpec

if TYPE_CHECKING:
    from rdeploy_tui.azure.workspace import Workspace


def title(spec: DeploySpec) -> str:
    auto = spec.deployment.autoscale
    assert auto is not None
    return f"Autoscale {spec.deployment.name} between {auto.min} and {auto.max} instances"


def apply(spec: DeploySpec, ws: Workspace) -> str:
    """Create or update the setting, enabled; the step's closing line. Validation ran before the deploy started
    (spec.rules.autoscale_problems: errors never reach Azure)."""
    from rdeploy_tui.azure.autoscale import apply_autoscale
    from rdeploy_tui.azure.quota import autoscale_quota_warning
    from rdeploy_tui.spec.rules import autoscale_problems

    auto = spec.deployment.autoscale
    assert auto is not None
    errors = [p for p in autoscale_problems(spec.deployment) if p.level == "error"]
    if errors:  # a spec changed after validation (the wizard validates each field; the CLI runs validate first)
        raise RdeployError(f"{errors[0].field}: {errors[0].message}", "Fix deployment.autoscale in the spec.")
    info = apply_autoscale(ws, spec.endpoint.name, spec.deployment.name, auto)
    rules = "; ".join(r.text() for r in info.default_profile.rules) if info.default_profile else "no rules"
    d = spec.deployment
    quota = autoscale_quota_warning(ws, d.instance_type, auto.max, d.instance_count)
    return f"setting {info.name}: {rules}" + (f". Warning: {quota}" if quota else "")
