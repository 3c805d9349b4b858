"""The wizard's flows: the only place the steps' order, names and titles live.

A flow is the list of steps a journey walks. The deploy flow is the wizard from sign-in to a scored request; the
update flow (`u` on the endpoints list) walks a new version of an endpoint through the model, packages, script, size
and review steps to a live rollout. The step indicator, Next and Back and the app read these tables; a screen knows
only its step's name (its `STEP`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class FlowStep:
    name: str  # what screens, the app and tests call the step
    label: str  # short, for the step indicator
    title: str  # the indicator shows it beside the numbers when the labels do not fit
    screen: str  # "module:Class" under rdeploy_tui.ui.screens, imported on first visit (first paint stays light)
    next_label: str = "Next"  # what the Next button says on this step
    kept: bool = True  # the screen (and its form) survives Back/Next; False: a fresh one on every arrival


@dataclass(frozen=True)
class Flow:
    name: str
    steps: tuple[FlowStep, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def step(self, name: str) -> FlowStep:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(f"no step {name!r} in the {self.name} flow")

    def index(self, name: str) -> int:
        return self.names.index(name)

    def after(self, name: str) -> FlowStep | None:
        """The step Next leads to; None after the last one (the journey is over)."""
        i = self.index(name) + 1
        return self.steps[i] if i < len(self.steps) else None

    def before(self, name: str) -> FlowStep | None:
        """The step Back leads to; None on the first one."""
        i = self.index(name)
        return self.steps[i - 1] if i > 0 else None


SIGNIN = FlowStep("signin", "Sign-in", "Sign-in and subscription", "signin:SignInScreen")
WORKSPACE = FlowStep("workspace", "Workspace", "Workspace and registry", "workspace:WorkspaceScreen")
MODEL = FlowStep("model", "Model", "Model and version", "model:ModelScreen")
PACKAGES = FlowStep("packages", "Packages", "R packages", "packages:PackagesScreen")
SCRIPT = FlowStep("script", "Script", "Scoring script", "script:ScriptScreen")
ENDPOINT = FlowStep("endpoint", "Endpoint", "Endpoint and deployment", "endpoint:EndpointScreen")
REVIEW = FlowStep("review", "Review", "Review", "review:ReviewScreen", next_label="Deploy")
DEPLOY = FlowStep("deploy", "Deploy", "Build and deploy", "deploy:DeployScreen", next_label="Score")
SCORE = FlowStep("score", "Score", "Score", "scoring:ScoringScreen", next_label="Finish")
# A rollout is started on arrival with the spec as reviewed, so each arrival gets a fresh screen.
ROLLOUT = FlowStep("rollout", "Rollout", "Rollout beside the serving deployment", "rollout:RolloutScreen", kept=False)

DEPLOY_FLOW = Flow("deploy", (SIGNIN, WORKSPACE, MODEL, PACKAGES, SCRIPT, ENDPOINT, REVIEW, DEPLOY, SCORE))
# A new version of a deployed endpoint: the workspace is the endpoint's, the endpoint step only sizes the new
# deployment, and the review leads to the rollout instead of a deploy.
UPDATE_FLOW = Flow(
    "update",
    (
        MODEL,
        PACKAGES,
        SCRIPT,
        replace(ENDPOINT, label="Size", title="New deployment and its size"),
        replace(REVIEW, next_label="Roll out"),
        ROLLOUT,
    ),
)
FLOWS = (DEPLOY_FLOW, UPDATE_FLOW)


def any_step(name: str) -> FlowStep:
    """The step called `name` in whichever flow has it (the screen to build is the same in each)."""
    for flow in FLOWS:
        if name in flow:
            return flow.step(name)
    raise KeyError(f"no step {name!r}")
