"""Text from the core (the pipeline, the local test, the spec's rules, Azure errors) as the wizard says it.

The core names a setting by its path in rdeploy.yaml (`image.r_packages`, `scoring.sample_request`): right for the CLI,
whose users edit that file, but jargon in the wizard, whose users never see it ("Fix the names in image.r_packages").
Here each path becomes the field as the wizard shows it and the step that holds it, in the current flow's words
("the R packages (Packages step)"). One table; every screen that shows such text passes it through in_wizard_terms().
A path with no field in the wizard keeps its name, said to be in rdeploy.yaml.
"""

from __future__ import annotations

import re

from rdeploy_tui.ui.flow import DEPLOY_FLOW, Flow

# spec path (or the start of one) -> (the field as the wizard shows it, the step that holds it)
FIELDS: dict[str, tuple[str, str]] = {
    "image.r_packages": ("the R packages", "packages"),
    "scoring.sample_request": ("the sample request", "script"),
    "scoring.script": ("the scoring script", "script"),
    "endpoint.name": ("the endpoint name", "endpoint"),
    "endpoint.auth_mode": ("the auth mode", "endpoint"),
    "deployment.name": ("the deployment name", "endpoint"),
    "deployment.instance_type": ("the instance type", "endpoint"),
    "deployment.instance_count": ("the instance count", "endpoint"),
    "deployment.traffic": ("the traffic share", "endpoint"),
    "deployment.expires_after": ("Expires after", "endpoint"),
    "deployment.autoscale": ("the autoscale settings", "endpoint"),
    "model.name": ("the model", "model"),
    "model.version": ("the model's version", "model"),
    "model.kind": ("the model's kind (read from its files)", "packages"),
    "model.file": ("the model's file (read from its files)", "packages"),
    # each of the workspace's own paths, never the bare word: Azure's messages say "workspace" and ".../workspaces/..."
    "workspace.name": ("the workspace", "workspace"),
    "workspace.resource_group": ("the workspace's resource group", "workspace"),
    "workspace.subscription_id": ("the subscription", "signin"),
}

# Longest paths first, so `deployment.autoscale.max` is the autoscale form and not a shorter path.
_PATHS = sorted(FIELDS, key=len, reverse=True)
_SPEC_PATH = re.compile(
    r"(?:the spec's |the spec file's )?"  # "the spec's image.r_packages"
    r"`?\b(?P<path>(?:" + "|".join(re.escape(p) for p in _PATHS) + r")(?:\.[a-z_]+)*)(?![\w/])(?:\[\d+\])?`?"
    r"(?: in the spec(?: file)?| in rdeploy\.yaml)?"  # "deployment.name in the spec"
)


def _field(path: str) -> tuple[str, str]:
    for known in _PATHS:
        if path == known or path.startswith(known + "."):
            return FIELDS[known]
    raise KeyError(path)


def in_wizard_terms(text: str | None, flow: Flow = DEPLOY_FLOW) -> str:
    """`text` with each spec path replaced by the wizard's field and step: "Fix the names in image.r_packages" ->
    "Fix the names in the R packages (Packages step)". A step the flow does not walk is named as the deploy flow
    does."""
    if not text:
        return text or ""

    def replace(match: re.Match[str]) -> str:
        name, step = _field(match.group("path"))
        owner = flow if step in flow else DEPLOY_FLOW
        return f"{name} ({owner.step(step).label} step)"

    return _SPEC_PATH.sub(replace, text)
