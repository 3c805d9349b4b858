"""The deploy plan: which steps, in which order, depending on what. Pure: no Azure, no Textual.

    prepare ──┬── build-image ─────┬── create-deployment ──┬── route-traffic
              └── create-endpoint ─┘                       └── smoke-score

The image builds in ACR while the endpoint is created (they do not depend on each other); the
deployment needs both. The smoke score targets the new deployment by name (azureml-model-deployment),
so it needs the deployment, not the traffic split, and runs while Azure updates the traffic. The TUI shows
`plan.steps` before anything runs; runner.run_deploy executes them and reports through events.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdeploy_tui.spec.deploy_spec import DeploySpec

PREPARE = "prepare"
BUILD = "build-image"
ENDPOINT = "create-endpoint"
DEPLOYMENT = "create-deployment"
TRAFFIC = "route-traffic"
SMOKE = "smoke-score"
AUTOSCALE = "autoscale"  # only when the spec has deployment.autoscale (pipeline/autoscale_step.py)


@dataclass(frozen=True)
class PlannedStep:
    """A step as the plan lists it, before anything runs (runner.py binds each to the function that does it, as an
    engine.Step)."""

    id: str
    title: str
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    steps: tuple[PlannedStep, ...]

    def step(self, step_id: str) -> PlannedStep:
        return next(s for s in self.steps if s.id == step_id)

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.steps]

    def ready(self, finished: set[str], started: set[str]) -> list[PlannedStep]:
        """Steps whose dependencies have all finished and that have not started."""
        return [s for s in self.steps if s.id not in started and all(n in finished for n in s.needs)]

    def downstream(self, step_id: str) -> set[str]:
        """Every step that depends, directly or not, on `step_id`."""
        found: set[str] = set()
        frontier = {step_id}
        while frontier:
            frontier = {s.id for s in self.steps if set(s.needs) & frontier} - found
            found |= frontier
        return found


def make_plan(spec: DeploySpec, *, image_name: str | None = None, registry: str | None = None) -> Plan:
    """The steps for this spec, titled for people. `image_name` (repo:tag) and `registry` make titles exact when
    known."""
    image = image_name or f"{spec.image.repository}:{spec.image.tag}"
    d = spec.deployment
    scaling: tuple[PlannedStep, ...] = ()
    if d.autoscale is not None:
        from rdeploy_tui.pipeline.autoscale_step import title

        scaling = (PlannedStep(AUTOSCALE, title(spec), (DEPLOYMENT,)),)
    return Plan(
        (
            PlannedStep(PREPARE, f"Check workspace {spec.workspace.name}, its registry and model {spec.model.name}"),
            PlannedStep(
                BUILD,
                f"Build image {image}" + (f" in {registry}" if registry else " in the workspace registry"),
                (PREPARE,),
            ),
            PlannedStep(ENDPOINT, f"Create endpoint {spec.endpoint.name} ({spec.endpoint.auth_mode})", (PREPARE,)),
            PlannedStep(
                DEPLOYMENT, f"Create deployment {d.name} ({d.instance_count} x {d.instance_type})", (BUILD, ENDPOINT)
            ),
            PlannedStep(TRAFFIC, f"Route {d.traffic}% of traffic to {d.name}", (DEPLOYMENT,)),
            PlannedStep(
                SMOKE, "Score the sample request", (DEPLOYMENT,)
            ),  # the deployment by name: no need to wait for traffic
            *scaling,
        )
    )
